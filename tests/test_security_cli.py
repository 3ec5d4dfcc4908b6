"""Every bad input on the command line gives one line on stderr and an exit code (2 for usage
and configuration, 1 at run time): never a traceback, never boxed usage text, and nothing
written. Each case runs the real `python -m smschat` in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from smschat.models import AuditEvent, Contact

ROOT = Path(__file__).resolve().parent.parent


def smschat(*args: str, env: dict[str, str] | None = None, db_url: str | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SMSCHAT_")}
    if db_url:
        environ["SMSCHAT_DATABASE_URL"] = db_url
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "smschat", *args], cwd=ROOT, env=environ, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


def one_line(result: subprocess.CompletedProcess, code: int, *phrases: str) -> str:
    err = result.stderr
    assert result.returncode == code, (result.returncode, err)
    assert "Traceback" not in err and "╭" not in err and "Usage:" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for phrase in phrases:
        assert phrase in lines[0], lines[0]
    return lines[0]


def counts(session) -> tuple[int, int]:
    session.rollback()
    return (session.scalar(select(func.count()).select_from(Contact)),
            session.scalar(select(func.count()).select_from(AuditEvent)))


def test_a_csv_that_is_not_utf8_is_refused_and_imports_nothing(db_url, session, project, tmp_path):
    before = counts(session)
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("type,name,phone\ncase,Amina,+254712345678\ncase,Zoë,+254712345679\n".encode("latin-1"))
    one_line(smschat("contacts", "import", str(bad), "--project", "test", db_url=db_url), 1, "not UTF-8")
    assert counts(session) == before


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_export_to_a_missing_or_unwritable_folder_is_refused(db_url, session, project, tmp_path, fmt):
    before = counts(session)
    missing = tmp_path / "no" / "such" / f"out.{fmt}"
    one_line(smschat("export", "--format", fmt, "--output", str(missing), db_url=db_url), 2, "--output", "no folder")
    assert not (tmp_path / "no").exists()
    if os.geteuid() == 0:
        unwritable = Path("/proc") / f"smschat-out.{fmt}"  # even root cannot create files here
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        unwritable = locked / f"out.{fmt}"
    one_line(smschat("export", "--format", fmt, "--output", str(unwritable), db_url=db_url), 1, str(unwritable))
    assert not unwritable.exists()
    assert counts(session) == before  # no audit row for an export that did not happen


@pytest.mark.parametrize("url, code, phrase", [
    ("not a url", 2, "SMSCHAT_DATABASE_URL"),
    ("mysql+nodriver://x/y", 2, "SMSCHAT_DATABASE_URL"),
    ("postgresql://postgres@127.0.0.1:1/smschat", 1, "Connection refused"),
    ("postgresql://postgres:s3cret@127.0.0.1:5432/smschat_no_such_database", 1, "does not exist"),
])
def test_a_bad_database_url_gives_one_line(url, code, phrase):
    line = one_line(smschat("projects", "list", env={"SMSCHAT_DATABASE_URL": url}), code, phrase)
    assert "s3cret" not in line


def test_a_sqlite_file_in_a_missing_folder_is_not_created(tmp_path):
    target = tmp_path / "nowhere" / "smschat.db"
    one_line(smschat("projects", "list", db_url=f"sqlite:///{target}"), 1, "unable to open database file")
    assert not target.parent.exists()
    empty = tmp_path / "empty.db"
    one_line(smschat("projects", "list", db_url=f"sqlite:///{empty}"), 1, "smschat init")


@pytest.mark.parametrize("variable, value, phrase", [
    ("SMSCHAT_GATEWAY", "pigeon", "'loopback' or 'twilio'"),
    ("SMSCHAT_WEBHOOK_PORT", "99999", "65535"),
    ("SMSCHAT_DASHBOARD_PORT", "eighty", "integer"),
])
def test_a_setting_that_does_not_parse_names_the_variable(tmp_path, variable, value, phrase):
    line = one_line(smschat("projects", "list", env={variable: value}, db_url=f"sqlite:///{tmp_path}/x.db"), 2,
                    variable, phrase)
    assert line.startswith("configuration error:")
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize("args, phrase", [
    (["export"], "Missing option '--output'"),
    (["contacts", "import"], "Missing argument"),
    (["contacts", "import", "/no/such/file.csv", "--project", "test"], "does not exist"),
    (["users", "add", "--project", "test"], "Missing argument"),
    (["export", "--output", "x.csv", "--bogus"], "No such option: --bogus"),
    (["--bogus"], "No such option"),
    (["nonsense"], "No such command"),
])
def test_usage_errors_are_one_line_with_exit_code_2(tmp_path, args, phrase):
    line = one_line(smschat(*args, db_url=f"sqlite:///{tmp_path}/x.db"), 2, phrase, "--help")
    assert line.startswith("usage error:")
