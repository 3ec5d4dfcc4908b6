"""`make test-date` runs the suite with every Python process's wall clock moved ahead: this
test fails if the move did not happen, in the test process or in one it starts, so that run
can never pass by silently running on today's date."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

DAYS = os.environ.get("SMSCHAT_TEST_SHIFT_DAYS")


@pytest.mark.skipif(not DAYS, reason="only in `make test-date`")
def test_the_date_run_moves_the_clock_of_the_tests_and_of_the_processes_they_start(tmp_path):
    stamp = tmp_path / "now"
    stamp.write_text("")
    kernel = os.stat(stamp).st_mtime  # the real time, as the file system records it
    shift = float(DAYS) * 86_400
    assert abs(datetime.now(UTC).timestamp() - kernel - shift) < 60
    assert abs(time.time() - kernel - shift) < 60
    child = subprocess.run([sys.executable, "-c", "import datetime; print(datetime.datetime.now(datetime.UTC)"
                            ".timestamp())"], capture_output=True, text=True, check=True, timeout=60)
    assert abs(float(child.stdout) - kernel - shift) < 60
