"""Accounts: who may change an account, the login throttle, password rules.

Accounts are global (one password, one disabled flag) while admin rights are per project, so a
project admin changes only accounts wholly inside projects they administer; a site admin any.
The throttle bounds guesses per account without locking the real user out; it is driven by a
settable clock (smschat.throttle.clock) instead of sleeping, and hit by parallel guesses.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from smschat.accounts import audit, auth, projects, throttle, users
from smschat.accounts.actor import Actor
from smschat.cli import app
from smschat.config import reload_settings
from smschat.db import session_factory
from smschat.errors import AuthError, LoginThrottled, PermissionDenied, ValidationError
from smschat.models import AuditEvent, WebUser, utcnow

PASSWORD = "correct horse battery"  # amy's (tests/conftest.py)


# --- who may change an account ------------------------------------------------------------


@pytest.fixture
def two_projects(session, project):
    """`test` (the project fixture) and `clinic-b`; root administers test only; amy is in both."""
    other = projects.create_project(session, "clinic-b", "Clinic B")
    root = auth.create_user(session, "root", "long enough pw", project=project, role="admin")
    amy = auth.create_user(session, "amy", PASSWORD, project=project, role="agent")
    auth.set_role(session, amy, other, "agent")
    kim = auth.create_user(session, "kim", "long enough pw", project=project, role="agent")
    boss = auth.create_user(session, "boss", "long enough pw", project=project, role="admin", site_admin=True)
    session.commit()
    return project, other, root, boss, kim


CHANGES = {
    "reset_password": lambda s, actor, pid, name: users.reset_password(s, actor, pid, name, "a brand new secret"),
    "set_active": lambda s, actor, pid, name: users.set_active(s, actor, pid, name, False),
    "change_role": lambda s, actor, pid, name: users.change_role(s, actor, pid, name, "supervisor"),
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_project_admin_cannot_take_over_an_account_that_is_also_in_another_project(session, two_projects, change):
    project, other, root, boss, kim = two_projects
    before = session.scalar(select(WebUser.password_hash).where(WebUser.username == "amy"))
    with pytest.raises(PermissionDenied) as refused:
        CHANGES[change](session, Actor.web(root.id), project.id, "amy")
    # Same words whatever the other project is: its name and slug do not leak.
    assert str(refused.value) == users.OTHER_PROJECT
    assert "Clinic B" not in str(refused.value) and "clinic-b" not in str(refused.value)
    session.rollback()
    amy = session.scalar(select(WebUser).where(WebUser.username == "amy"))
    assert amy.password_hash == before and amy.is_active and auth.role_in(session, amy.id, project.id) == "agent"
    # An account wholly inside the admin's project: allowed.
    CHANGES[change](session, Actor.web(root.id), project.id, "kim")


@pytest.mark.parametrize("change", CHANGES)
def test_a_site_admins_account_is_changed_only_by_a_site_admin(session, two_projects, change):
    project, other, root, boss, kim = two_projects
    with pytest.raises(PermissionDenied, match="it is a site admin's"):
        CHANGES[change](session, Actor.web(root.id), project.id, "boss")
    session.rollback()
    CHANGES[change](session, Actor.web(boss.id), project.id, "amy")  # a site admin may change anyone


def test_a_password_reset_by_a_site_admin_works_and_a_refused_one_keeps_the_old_password(session, two_projects):
    project, other, root, boss, kim = two_projects
    with pytest.raises(PermissionDenied):
        users.reset_password(session, Actor.web(root.id), project.id, "amy", "taken over now")
    session.rollback()
    assert auth.authenticate(session, "amy", PASSWORD).username == "amy"
    users.reset_password(session, Actor.web(boss.id), project.id, "amy", "a brand new secret")
    session.commit()
    assert auth.authenticate(session, "amy", "a brand new secret").username == "amy"


def test_an_admin_of_every_project_of_the_account_may_change_it(session, two_projects):
    project, other, root, boss, kim = two_projects
    auth.set_role(session, root, other, "admin")
    session.commit()
    users.set_active(session, Actor.web(root.id), project.id, "amy", False)
    session.commit()
    assert not session.scalar(select(WebUser.is_active).where(WebUser.username == "amy"))


def test_the_web_users_list_says_which_accounts_the_admin_cannot_change_and_why(session, two_projects):
    project, other, root, boss, kim = two_projects
    rows = {r.username: r.locked for r in users.project_users(session, Actor.web(root.id), project.id)}
    assert rows == {"amy": users.OTHER_PROJECT, "boss": users.SITE_ADMIN, "kim": "", "root": ""}
    assert {r.locked for r in users.project_users(session, Actor.web(boss.id), project.id)} == {""}


def test_the_web_users_page_shows_the_reason_as_plain_text(db_url, session, two_projects):
    from streamlit.testing.v1 import AppTest

    from .test_pages import ROOT, _as

    project, other, root, boss, kim = two_projects
    at = _as(AppTest.from_file(str(ROOT / "pages/users.py"), default_timeout=30), root, project, role="admin").run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    can = dict(zip(table["Username"], table["You can change it"], strict=True))
    assert can == {"amy": "No. " + users.OTHER_PROJECT, "boss": "No. " + users.SITE_ADMIN, "kim": "Yes", "root": "Yes"}
    at.selectbox(key="users_target").select("amy").run()
    assert users.OTHER_PROJECT in [t.value for t in at.text]
    at.button(key="users_set_role").click().run()
    assert [e.value for e in at.error] == [users.OTHER_PROJECT]


def test_the_first_admin_and_the_command_line_make_site_admins(db_url, session):
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert session.scalar(select(WebUser.is_site_admin).where(WebUser.username == "admin"))
    r = runner.invoke(app, ["users", "add", "kim", "--project", "main", "--site-admin", "--password-stdin"],
                      input="a long password\n")
    assert r.exit_code == 0 and "site admin" in r.output, r.output
    r = runner.invoke(app, ["users", "add", "lee", "--project", "main", "--password-stdin"], input="a long password\n")
    assert r.exit_code == 0
    assert runner.invoke(app, ["users", "site-admin", "lee"]).exit_code == 0
    assert runner.invoke(app, ["users", "site-admin", "kim", "--revoke"]).exit_code == 0
    session.rollback()  # a new snapshot: the command line wrote in between
    flags = dict(session.execute(select(WebUser.username, WebUser.is_site_admin)).all())
    assert flags == {"admin": True, "kim": False, "lee": True}
    listing = runner.invoke(app, ["users", "list"]).output
    assert "lee (site admin): agent in main" in listing
    r = runner.invoke(app, ["users", "site-admin", "nobody"])
    assert r.exit_code == 1 and r.output.strip().splitlines() == ["error: No web user 'nobody'."]


def test_the_demos_admin_is_a_site_admin(session):
    from smschat.demo import load_demo

    load_demo(session)
    session.commit()
    assert session.scalar(select(WebUser.is_site_admin).where(WebUser.username == "admin"))
    assert not session.scalar(select(WebUser.is_site_admin).where(WebUser.username == "amy"))


# --- the login throttle -------------------------------------------------------------------


class Clock:
    def __init__(self):
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += timedelta(**delta)


@pytest.fixture
def setting(monkeypatch):
    """Set a setting for one test; the cached settings are read again before and after."""
    names = []

    def set_(name: str, value: str) -> None:
        names.append(name)
        monkeypatch.setenv(name, value)
        reload_settings()

    yield set_
    for name in names:
        monkeypatch.delenv(name, raising=False)
    reload_settings()


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(throttle, "clock", c)
    return c


def login(session, password, address, device=None, username="amy"):
    """Log in as the login route does: the session is committed whether it worked or not."""
    try:
        user = auth.authenticate(session, username, password, address=address, device=device)
        return user
    except AuthError as exc:
        return exc
    finally:
        session.commit()


def _count(session, action) -> int:
    return session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


def test_guesses_from_one_address_wait_longer_and_longer(session, agent, clock):
    for _ in range(3):
        assert str(login(session, "nope", "10.0.0.1")) == "Wrong username or password."
    refused = login(session, PASSWORD, "10.0.0.1")
    assert isinstance(refused, LoginThrottled) and str(refused) == "Too many failed logins. Try again in 5 seconds."
    clock.advance(seconds=4)
    assert str(login(session, "nope", "10.0.0.1")) == "Too many failed logins. Try again in 1 second."
    clock.advance(seconds=1)
    assert str(login(session, "nope", "10.0.0.1")) == "Wrong username or password."
    assert str(login(session, "nope", "10.0.0.1")) == "Too many failed logins. Try again in 10 seconds."
    clock.advance(seconds=10)
    assert str(login(session, "nope", "10.0.0.1")) == "Wrong username or password."
    clock.advance(seconds=20)
    assert login(session, PASSWORD, "10.0.0.1").id == agent.id
    # A success starts that address afresh.
    for _ in range(3):
        assert str(login(session, "nope", "10.0.0.1")) == "Wrong username or password."
    assert _count(session, audit.LOGIN_THROTTLED) == 3


def test_someone_elses_failures_elsewhere_do_not_lock_the_user_out(session, agent, clock):
    """Before: 5 failures for a username, from anywhere, refused even the right password."""
    for n in range(6):
        assert str(login(session, "nope", f"203.0.113.{n}")) == "Wrong username or password."
    # The user, from an address and browser never seen before, with the right password.
    assert login(session, PASSWORD, "192.168.1.5").id == agent.id


def test_a_shared_address_does_not_lock_out_everyone_behind_it(db_url, session, project, agent, clock):
    """Before: 20 failures from one address refused every account behind it."""
    auth.create_user(session, "kim", "long enough pw", project=project)
    session.commit()
    _parallel_logins(db_url, [("nope", "10.9.9.9", None, f"x{n}") for n in range(20)])
    assert _count(session, audit.LOGIN_FAILED) == 20
    assert login(session, PASSWORD, "10.9.9.9").id == agent.id
    assert login(session, "long enough pw", "10.9.9.9", username="kim").username == "kim"


def test_guesses_per_account_are_bounded_across_addresses_but_not_for_the_users_own_browser(session, agent, clock,
                                                                                           setting):
    setting("SMSCHAT_LOGIN_ACCOUNT_MAX_FAILURES", "6")
    usual = "192.168.1.5"
    assert login(session, PASSWORD, usual).id == agent.id
    device = auth.remember_device(session, agent.id)
    session.commit()
    for n in range(6):  # the account ceiling
        assert str(login(session, "nope", f"203.0.113.{n}")) == "Wrong username or password."
    refused = login(session, "nope", "198.51.100.1")
    assert isinstance(refused, LoginThrottled) and str(refused) == "Too many failed logins. Try again in 60 minutes."
    assert isinstance(login(session, PASSWORD, "198.51.100.2"), LoginThrottled)  # a new place, no cookie
    # The user's own browser, from anywhere; and their usual address without the cookie.
    assert login(session, PASSWORD, "198.51.100.3", device=device).id == agent.id
    assert login(session, PASSWORD, usual).id == agent.id
    # A forged cookie, or another user's, counts as no cookie.
    assert isinstance(login(session, PASSWORD, "198.51.100.4", device="forged"), LoginThrottled)
    # The window passes.
    clock.advance(minutes=60)
    assert login(session, PASSWORD, "198.51.100.5").id == agent.id


def test_a_remembered_browser_has_a_budget_of_its_own(session, agent, clock, setting):
    setting("SMSCHAT_LOGIN_DEVICE_MAX_FAILURES", "4")
    device = auth.remember_device(session, agent.id)
    session.commit()
    for _ in range(4):
        assert str(login(session, "nope", "10.0.0.1", device=device)) == "Wrong username or password."
    assert isinstance(login(session, PASSWORD, "10.0.0.1", device=device), LoginThrottled)
    # It did not use the address's budget nor the account's: without the cookie, it still works.
    assert login(session, PASSWORD, "10.0.0.2").id == agent.id


def test_another_users_device_cookie_counts_as_none(session, project, agent, clock):
    kim = auth.create_user(session, "kim", "long enough pw", project=project)
    kims = auth.remember_device(session, kim.id)
    session.commit()
    for _ in range(3):
        login(session, "nope", "10.0.0.1", device=kims)
    assert isinstance(login(session, PASSWORD, "10.0.0.1", device=kims), LoginThrottled)


def test_unknown_usernames_are_answered_and_throttled_like_real_ones(session, agent, clock):
    for name in ("amy", "ghost"):
        answers = [str(login(session, "nope", "10.0.0.1", username=name)) for _ in range(4)]
        assert answers == ["Wrong username or password."] * 3 + ["Too many failed logins. Try again in 5 seconds."]


def _parallel_logins(db_url, attempts: list[tuple]) -> list[object]:
    """Each attempt (password, address, device[, username]) in its own thread and session, all at once."""
    factory = session_factory(db_url)
    start = threading.Barrier(len(attempts))
    results: list[object] = [None] * len(attempts)

    def attempt(i, password, address, device, username="amy"):
        s = factory()
        try:
            start.wait()
            results[i] = login(s, password, address, device, username)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[i] = exc
        finally:
            s.close()

    threads = [threading.Thread(target=attempt, args=(i, *a)) for i, a in enumerate(attempts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    unexpected = [r for r in results if not isinstance(r, (AuthError, WebUser))]
    assert not unexpected, unexpected
    return results


def test_parallel_guesses_from_one_address_get_only_the_free_password_checks(db_url, session, agent, clock):
    results = _parallel_logins(db_url, [("nope", "10.0.0.1", None)] * 40)
    # Before: 17 of 40 were checked on PostgreSQL (the count was read, not reserved).
    assert _count(session, audit.LOGIN_FAILED) == 3  # one row per password check
    assert sum(isinstance(r, LoginThrottled) for r in results) == 37


def test_parallel_guesses_from_many_addresses_stop_at_the_account_ceiling(db_url, session, agent, clock, setting):
    setting("SMSCHAT_LOGIN_ACCOUNT_MAX_FAILURES", "8")
    results = _parallel_logins(db_url, [("nope", f"203.0.113.{n}", None) for n in range(40)])
    assert _count(session, audit.LOGIN_FAILED) == 8
    assert sum(isinstance(r, LoginThrottled) for r in results) == 32


def test_the_user_with_their_browser_logs_in_during_a_parallel_attack(db_url, session, agent, clock, setting):
    setting("SMSCHAT_LOGIN_ACCOUNT_MAX_FAILURES", "5")
    device = auth.remember_device(session, agent.id)
    session.commit()
    attack = [("nope", f"203.0.113.{n}", None) for n in range(30)]
    results = _parallel_logins(db_url, attack[:15] + [(PASSWORD, "198.51.100.7", device)] + attack[15:])
    assert isinstance(results[15], WebUser) and results[15].id == agent.id
    assert _count(session, audit.LOGIN_FAILED) == 5


# --- passwords ----------------------------------------------------------------------------


@pytest.mark.parametrize("password,reason", [
    ("short pw", "A password has at least 10 characters."),
    ("tab\there is long", "A password cannot contain control characters (such as a tab or a line break)."),
    ("line\nbreak is long", "control characters"),
    ("password123", "This password is too easy to guess (This is a very common password)"),
    ("qwertyuiop", "too easy to guess"),
    ("1234567890", "too easy to guess"),
    ("amyamyamy123", "too easy to guess"),  # a repeat
])
def test_weak_passwords_are_refused_with_a_one_line_reason(session, project, agent, password, reason):
    with pytest.raises(ValidationError) as refused:
        auth.set_password(session, "amy", password)
    assert reason in str(refused.value) and "\n" not in str(refused.value)
    with pytest.raises(ValidationError, match="(characters|guess)"):
        auth.create_user(session, "kim", password, project=project)


def test_every_password_the_tests_and_the_demo_use_is_accepted():
    from tests.browser.conftest import PASSWORDS

    for password in [PASSWORD, "long enough pw", "another long pw", "a long password", "another long one",
                     "a brand new secret", *PASSWORDS.values(), auth.generate_password()]:
        auth.check_password(password)


def test_the_command_line_refuses_a_weak_password_in_one_line(db_url, session, project, agent):
    runner = CliRunner()
    r = runner.invoke(app, ["users", "passwd", "amy", "--password-stdin"], input="password123\n")
    assert r.exit_code == 1
    assert r.output.strip().splitlines() == [
        "error: This password is too easy to guess (This is a very common password); try a few unrelated words."]
    r = runner.invoke(app, ["users", "add", "kim", "--project", "test", "--password-stdin"], input="kim\n")
    assert r.exit_code == 1 and r.output.strip() == "error: A password has at least 10 characters."
    assert auth.authenticate(session, "amy", PASSWORD).id == agent.id


def test_the_web_users_page_refuses_a_weak_password(db_url, session, project, agent):
    from streamlit.testing.v1 import AppTest

    from .test_pages import ROOT, _as

    root = auth.create_user(session, "root", "long enough pw", project=project, role="admin")
    session.commit()
    at = _as(AppTest.from_file(str(ROOT / "pages/users.py"), default_timeout=30), root, project, role="admin").run()
    at.selectbox(key="users_target").select("amy").run()
    at.text_input(key="users_password").input("qwertyuiop")
    at.button(key="users_reset_password").click().run()
    assert [e.value for e in at.error] == [
        "This password is too easy to guess (This is a top-100 common password); try a few unrelated words."]
    assert auth.authenticate(session, "amy", PASSWORD).id == agent.id
