import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from smschat.accounts import auth
from smschat.cli import app
from smschat.models import Contact, Message

from .conftest import free_port

runner = CliRunner()


def test_init_demo_and_users(db_url, session):
    assert runner.invoke(app, ["init"]).exit_code == 0
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    for name in ("amy", "sam", "ana"):  # admin was created by init and keeps its password
        assert f"  {name}" in result.output
    amy_password = next(line.split()[1] for line in result.output.splitlines() if line.strip().startswith("amy "))
    assert auth.authenticate(session, "amy", amy_password).first_name == "Amy"
    session.commit()  # the login's audit row; frees SQLite's write lock for the CLI below
    marie = session.scalar(select(Contact).where(Contact.name == "marie"))
    bodies = [m.body for m in session.scalars(select(Message).where(Message.contact_id == marie.id).order_by(Message.id))]
    assert bodies[0].startswith("Welcome to Demo Project! Is this phone used by marie?")
    assert bodies[-1] == "Heads up! Your weekly meeting is at the community center tomorrow at 6 pm."
    # Loading it twice is refused; --if-empty is quiet about it.
    again = runner.invoke(app, ["demo"])
    assert again.exit_code == 1 and "already loaded" in again.output
    assert runner.invoke(app, ["demo", "--if-empty"]).exit_code == 0


def test_users_add_passwd_disable_list(db_url, session, project):
    r = runner.invoke(app, ["users", "add", "kim", "--project", "test", "--role", "supervisor",
                            "--first-name", "Kim", "--password-stdin"], input="a long password\n")
    assert r.exit_code == 0, r.output
    assert auth.authenticate(session, "kim", "a long password").first_name == "Kim"
    session.commit()
    assert runner.invoke(app, ["users", "passwd", "kim", "--password-stdin"], input="another long one\n").exit_code == 0
    session.rollback()
    assert auth.authenticate(session, "kim", "another long one")
    session.commit()
    assert "kim: supervisor in test" in runner.invoke(app, ["users", "list"]).output
    assert runner.invoke(app, ["users", "disable", "kim"]).exit_code == 0
    assert "kim (disabled)" in runner.invoke(app, ["users", "list"]).output


def test_users_add_with_bad_input_exits_nonzero_and_adds_nothing(db_url, session, project):
    bad_role = subprocess.run(
        [sys.executable, "-m", "smschat", "users", "add", "kim", "--project", "test", "--role", "king", "--password-stdin"],
        input="a long password\n", capture_output=True, text=True, env={**os.environ, "SMSCHAT_DATABASE_URL": db_url},
    )
    assert bad_role.returncode == 1 and "Unknown role 'king'" in bad_role.stderr
    assert "Traceback" not in bad_role.stderr
    r = runner.invoke(app, ["users", "add", "kim", "--project", "nope", "--password-stdin"], input="a long password\n")
    assert r.exit_code != 0
    session.rollback()
    assert [u.username for u, _ in auth.list_users(session)] == []


def test_up_with_twilio_but_no_credentials_stops_with_one_line(tmp_path):
    env = {**os.environ, "SMSCHAT_GATEWAY": "twilio", "SMSCHAT_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    env.pop("TWILIO_ACCOUNT_SID", None)
    r = subprocess.run([sys.executable, "-m", "smschat", "up"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "configuration error: TWILIO_ACCOUNT_SID is not set (needed with SMSCHAT_GATEWAY=twilio)."
    ]


def test_up_with_twilio_and_a_project_without_sender_or_service_names_the_variable(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    env = {**os.environ, "SMSCHAT_DATABASE_URL": url}
    subprocess.run([sys.executable, "-m", "smschat", "init"], capture_output=True, env=env, timeout=60, check=True)
    env.update({"SMSCHAT_GATEWAY": "twilio", "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "t",
                "SMSCHAT_PUBLIC_URL": "https://sms.example.org"})
    env.pop("TWILIO_MESSAGING_SERVICE_SID", None)
    r = subprocess.run([sys.executable, "-m", "smschat", "up"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "configuration error: TWILIO_MESSAGING_SERVICE_SID is not set and project 'main' has no sender number: "
        "set the variable or give the project a number."
    ]


def test_up_runs_dashboard_webhooks_and_worker_and_stops_them_together(tmp_path):
    dash, hook = free_port(), free_port()
    env = {**os.environ, "SMSCHAT_DATABASE_URL": f"sqlite:///{tmp_path}/up.db",
           "SMSCHAT_DASHBOARD_PORT": str(dash), "SMSCHAT_WEBHOOK_PORT": str(hook)}
    proc = subprocess.Popen([sys.executable, "-m", "smschat", "up"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        ok = set()
        while time.monotonic() < deadline and len(ok) < 2:
            for name, url in (("dash", f"http://127.0.0.1:{dash}/_stcore/health"), ("hook", f"http://127.0.0.1:{hook}/healthz")):
                try:
                    if httpx.get(url, timeout=1).status_code == 200:
                        ok.add(name)
                except httpx.HTTPError:
                    pass
            time.sleep(0.3)
        assert ok == {"dash", "hook"}
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        assert len(children) == 3
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        for pid in children:
            with pytest.raises(ProcessLookupError):
                os.kill(int(pid), 0)
        assert f"dashboard http://127.0.0.1:{dash}" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def test_first_init_creates_a_project_and_prints_the_admin_password(db_url, session):
    r = subprocess.run([sys.executable, "-m", "smschat", "init"], capture_output=True, text=True,
                       env={**os.environ, "SMSCHAT_DATABASE_URL": db_url}, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    password = r.stdout.split("admin password (shown only now): ")[1].strip()
    user = auth.authenticate(session, "admin", password)
    assert [(p.slug, role) for p, role in auth.memberships(session, user.id)] == [("main", "admin")]
    session.commit()
    again = runner.invoke(app, ["init"])
    assert again.exit_code == 0 and "password" not in again.output
    # The demo then reuses that admin (its password stays) and gives it a role in the demo.
    demo = runner.invoke(app, ["demo"])
    assert demo.exit_code == 0 and "  admin" not in demo.output
    session.rollback()
    assert sorted(p.slug for p, _ in auth.memberships(session, user.id)) == ["demo", "main"]


def test_projects_add_list_and_senders(db_url, session, project):
    from smschat.accounts import audit, projects

    auth.create_user(session, "root", "long enough pw")
    session.commit()
    r = runner.invoke(app, ["projects", "add", "kenya", "--name", "Kenya pilot", "--time-zone", "Africa/Nairobi",
                            "--region", "ke", "--sender", "0712 000 111", "--admin", "root"])
    assert r.exit_code == 0, r.output
    assert "Added project 'kenya' (Africa/Nairobi, KE, +254712000111)" in r.output
    listing = runner.invoke(app, ["projects", "list"]).output.splitlines()
    assert "kenya\tKenya pilot\tAfrica/Nairobi\tKE\t+254712000111" in listing
    assert "test\tTest Project\tAmerica/New_York\tUS\t+15005550006" in listing
    r = runner.invoke(app, ["projects", "senders", "kenya", "--add", "+254712000222", "--remove", "+254712000111"])
    assert r.exit_code == 0 and r.output.split() == ["+254712000222"]
    # A number of another project is refused, with exit code 1 and one line.
    taken = runner.invoke(app, ["projects", "senders", "kenya", "--add", "+15005550006"])
    assert taken.exit_code == 1 and "already the sender number of another project" in taken.output
    session.rollback()
    kenya = projects.get_project_by_slug(session, "kenya")
    assert auth.role_in(session, auth.get_user(session, "root").id, kenya.id) == "admin"
    changes = [e.detail["change"] for e in audit.list_events(session, kenya.id) if e.action == audit.PROJECT_CHANGED]
    assert changes == ["sender_added", "sender_removed", "created"]


def test_the_command_lines_changes_are_audited_as_the_command_line(db_url, session, project):
    from smschat.accounts import audit, projects

    auth.create_user(session, "root", "long enough pw")
    session.commit()
    assert runner.invoke(app, ["projects", "add", "kenya", "--name", "Kenya", "--admin", "root"]).exit_code == 0
    assert runner.invoke(app, ["users", "disable", "root"]).exit_code == 0
    session.rollback()
    kenya = projects.get_project_by_slug(session, "kenya")
    events = audit.list_events(session, kenya.id)
    assert {(e.action, e.username) for e in events} == {
        (audit.PROJECT_CHANGED, "(command line)"), (audit.USER_CHANGED, "(command line)")}
