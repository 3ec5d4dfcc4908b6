"""Loaded by every Python process of `make test-date` (this folder is on its PYTHONPATH): the
test processes, the dashboards, workers and webhooks they start. With SMSCHAT_TEST_SHIFT_DAYS
set, each one's wall clock runs that many days ahead of the real one (time-machine), so a test
that depends on today's date fails there. Monotonic clocks and the databases' own clocks are
left alone: nothing times a wait by the wall clock, and smschat reads no database clock."""

import os

if os.environ.get("SMSCHAT_TEST_SHIFT_DAYS"):
    from datetime import UTC, datetime, timedelta

    import time_machine

    _shift = timedelta(days=float(os.environ["SMSCHAT_TEST_SHIFT_DAYS"]))
    time_machine.travel(datetime.now(UTC) + _shift, tick=True).start()
