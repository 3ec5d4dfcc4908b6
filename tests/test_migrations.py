"""The schema comes only from the migrations: they go all the way down and up again."""

import uuid

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from smschat import db as dbmod
from smschat.migrate import downgrade, upgrade

from .conftest import _settings, _unavailable


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/m.db"
        return
    admin_url = dbmod.normalize_url(_settings.test_postgres_url)
    name = f"smschat_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        admin.dispose()
        _unavailable(f"PostgreSQL not reachable: {type(exc).__name__}")
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        dbmod.dispose_engines()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _tables(url):
    engine = create_engine(dbmod.normalize_url(url))
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


# SQLite's batch mode re-creates tables and cannot reflect expression indexes; the migrations
# re-create those themselves.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection")
def test_migrations_go_down_to_nothing_and_up_again(empty_url):
    upgrade(empty_url)
    tables = _tables(empty_url)
    assert {"message", "contact", "status_report", "reminder", "survey_session"} <= tables
    downgrade(empty_url, "base")
    assert _tables(empty_url) == set()
    upgrade(empty_url)
    assert _tables(empty_url) == tables
