"""Shared fixtures: a fresh database per test run on SQLite and on PostgreSQL.

Every test that asks for `db_url` (or `session`) runs once per backend. PostgreSQL gets one
database per run, created here and dropped afterwards; tables are emptied between tests.
Outside CI, a backend or browser that is not there skips with a one-line reason; with CI=true
it fails the run instead.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

# Argon2 at its lowest cost for the whole run, child processes included: the tests hash and
# check thousands of passwords (tests/test_config.py holds production to the real cost).
os.environ.setdefault("SMSCHAT_PASSWORD_HASHER", "fast")

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from smschat import db as dbmod
from smschat.config import get_settings, reload_settings
from smschat.migrate import upgrade
from smschat.models import Base

from .waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent
_settings = get_settings()
IN_CI = _settings.ci


def _unavailable(reason: str):
    if IN_CI:
        pytest.fail(f"{reason} (required in CI)")
    pytest.skip(reason)


# --- databases ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "template.db"
    upgrade(f"sqlite:///{path}")
    dbmod.dispose_engines()
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    admin_url = dbmod.normalize_url(_settings.test_postgres_url)
    name = f"smschat_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any failure means "no server here"
        admin.dispose()
        _unavailable(f"PostgreSQL not reachable at {make_url(admin_url).render_as_string()}: {type(exc).__name__}")
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        dbmod.dispose_engines()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()



def _empty(url: str) -> None:
    """Every table emptied and every id sequence back to 1. DELETE, children first, instead of
    one TRUNCATE: on tables this small TRUNCATE's file work costs ~0.2 s a test, DELETE ~10 ms."""
    engine = dbmod.get_engine(url)
    with engine.begin() as conn:
        names = {
            r[0]
            for r in conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")
            )
        }
        ordered = [t.name for t in reversed(Base.metadata.sorted_tables) if t.name in names]
        unknown = names - set(ordered)  # a table the models do not declare: the slow, sure way
        if unknown:
            conn.execute(text(f"TRUNCATE {', '.join(sorted(unknown))} RESTART IDENTITY CASCADE"))
        for name in ordered:
            conn.execute(text(f'DELETE FROM "{name}"'))
        conn.execute(text("SELECT setval(c.oid, 1, false) FROM pg_class c "
                          "WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace"))


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path, monkeypatch) -> Iterator[str]:
    """A migrated, empty database of each backend; also the process's SMSCHAT_DATABASE_URL."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "smschat.db"
        shutil.copy(template, path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_database")
        _empty(url)
    monkeypatch.setenv("SMSCHAT_DATABASE_URL", url)
    reload_settings()
    yield url
    if request.param == "sqlite":
        engine = dbmod._engines.pop(dbmod.normalize_url(url), None)
        if engine is not None:
            engine.dispose()
    reload_settings()


@pytest.fixture
def session(db_url):
    # Deferred BEGIN on SQLite: the test's own reads must not hold the write lock that the
    # worker or webhook under test needs (WAL readers never block writers).
    s = dbmod.session_factory(db_url, readonly=True)()
    try:
        yield s
    finally:
        s.rollback()
        s.close()


@pytest.fixture
def project(session):
    from smschat.accounts import projects

    p = projects.create_project(session, "test", "Test Project", time_zone="America/New_York", sender_numbers=["+15005550006"])
    session.commit()
    return p


@pytest.fixture
def agent(session, project):
    from smschat.accounts import auth

    user = auth.create_user(session, "amy", "correct horse battery", first_name="Amy", project=project, role="agent")
    session.commit()
    return user


@pytest.fixture
def sam(session, project):
    from smschat.accounts import auth

    user = auth.create_user(session, "sam", "long enough pw", first_name="Sam", project=project, role="supervisor")
    session.commit()
    return user


@pytest.fixture
def marie(session, project):
    from smschat.people import contacts

    c = contacts.create_contact(session, project, "mobile_worker", "marie", username="marie")
    contacts.register_phone(session, project, c, "+17033996500", verified=True)
    session.commit()
    return c


# --- time -------------------------------------------------------------------------------


@pytest.fixture
def clock():
    """A clock for the worker that moves only when slept on (smschat/clock.py)."""
    from smschat.clock import ManualClock

    return ManualClock()


# --- the browser --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_path() -> str:
    candidate = _settings.chromium or shutil.which("chromium") or shutil.which("chromium-browser")
    if not candidate or not (os.path.exists(candidate) or shutil.which(candidate)):
        _unavailable("Chromium not found (set SMSCHAT_CHROMIUM or install Debian's chromium)")
    return shutil.which(candidate) or candidate


# --- real servers -------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def webhook_server(db_url):
    """The webhooks app under a real uvicorn on 127.0.0.1; yields its base URL."""
    import threading

    import httpx
    import uvicorn

    from smschat.web.webserver import server_config

    port = free_port()
    # The server `smschat webhooks` runs: uvicorn with the request deadlines.
    server = uvicorn.Server(server_config("127.0.0.1", port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: httpx.get(f"{base}/healthz", timeout=1) is not None, 10, "the webhooks server to answer",
               ignoring=(httpx.HTTPError,))
    yield base
    server.should_exit = True
    thread.join(timeout=10)


# --- Twilio -------------------------------------------------------------------------------

TWILIO_SID = "AC" + "0123456789abcdef" * 2
TWILIO_TOKEN = "test-auth-token-12345"
PUBLIC_URL = "https://sms.example.org"


@pytest.fixture
def fake_twilio():
    """A fake Twilio Messages API under a real uvicorn (tests/fake_twilio.py)."""
    from smschat.gateways.twilio.fake import FakeTwilio

    fake = FakeTwilio()
    fake.start(free_port())
    yield fake
    fake.stop()


@pytest.fixture
def twilio_env(db_url, fake_twilio, monkeypatch):
    """The process configured for Twilio, talking to the fake API; quick retries."""
    env = {
        "SMSCHAT_GATEWAY": "twilio",
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "SMSCHAT_PUBLIC_URL": PUBLIC_URL,
        "SMSCHAT_TWILIO_API_URL": fake_twilio.url,
        "SMSCHAT_RETRY_BASE_SECONDS": "0.01",
        "SMSCHAT_RETRY_CAP_SECONDS": "0.05",
        "SMSCHAT_TWILIO_TIMEOUT_SECONDS": "1",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("TWILIO_MESSAGING_SERVICE_SID", raising=False)
    reload_settings()
    yield env
    for key in env:
        monkeypatch.delenv(key, raising=False)
    reload_settings()
