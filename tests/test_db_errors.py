"""One reading of database errors (smschat.db.classify), fed real errors from real databases,
and what each surface makes of it: the page's line, the command line's exit, the webhook's status."""

import asyncio
import logging
import shutil
import sqlite3

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from smschat import db as dbmod
from smschat.cli import _one_line
from smschat.config import reload_settings
from smschat.db import Problem, classify, retryable
from smschat.gateways import webhook
from smschat.web import failures

from .conftest import free_port


def _error(engine, *statements: str) -> DBAPIError:
    with pytest.raises(DBAPIError) as err, engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    return err.value


def _surfaces(exc):
    """(page line, page retries, CLI exit, webhook status) for one error."""
    async def answered():
        def work():
            raise exc
        return (await webhook.answer(work)).status_code

    message, code = _one_line(exc)
    assert message is not None and "\n" not in message and message.startswith("error: ")
    return failures.describe(exc), failures.retrying(exc), code, asyncio.run(answered())


def test_an_unreachable_postgresql_is_unreachable_everywhere():
    engine = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere")
    with pytest.raises(DBAPIError) as err:
        engine.connect()
    assert classify(err.value) is Problem.UNREACHABLE and retryable(err.value)
    assert _surfaces(err.value) == (failures.UNREACHABLE, True, 1, 503)


def test_a_locked_sqlite_is_busy_and_retried_not_unreachable(tmp_path, sqlite_template, monkeypatch):
    path = tmp_path / "locked.db"
    shutil.copy(sqlite_template, path)
    monkeypatch.setenv("SMSCHAT_SQLITE_BUSY_TIMEOUT_MS", "100")
    reload_settings()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        exc = _error(dbmod.make_engine(f"sqlite:///{path}"), "INSERT INTO project (slug) VALUES ('x')")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        reload_settings()
    assert classify(exc) is Problem.BUSY
    assert _surfaces(exc) == (failures.BUSY, True, 1, 503)


def test_a_postgresql_row_lock_past_lock_timeout_is_busy(postgres_database):
    engine = create_engine(dbmod.normalize_url(postgres_database))
    with engine.connect() as holder:
        holder.execute(text("CREATE TABLE IF NOT EXISTS lock_probe (id int primary key)"))
        holder.execute(text("INSERT INTO lock_probe VALUES (1) ON CONFLICT DO NOTHING"))
        holder.commit()
        holder.execute(text("SELECT * FROM lock_probe WHERE id = 1 FOR UPDATE"))
        exc = _error(engine, "SET LOCAL lock_timeout = '50ms'", "SELECT * FROM lock_probe WHERE id = 1 FOR UPDATE")
        holder.rollback()
    engine.dispose()
    assert (getattr(exc.orig, "sqlstate", None), classify(exc)) == ("55P03", Problem.BUSY)
    assert _surfaces(exc) == (failures.BUSY, True, 1, 503)


def test_a_constraint_error_is_a_plain_error_never_retried(db_url):
    exc = _error(dbmod.get_engine(db_url), "INSERT INTO project (slug) VALUES ('no-name')")  # NOT NULL
    assert classify(exc) is Problem.OTHER and not retryable(exc)
    page, retries, code, status = _surfaces(exc)
    assert (page, retries, code, status) == (failures.UNEXPECTED, False, 1, 422)
    assert _one_line(exc)[0].startswith("error: the database refused this: ")


def test_a_nul_that_reaches_postgresql_is_a_data_error_not_unreachable(postgres_database):
    engine = create_engine(dbmod.normalize_url(postgres_database))
    with pytest.raises(DBAPIError) as err, engine.connect() as conn:
        conn.execute(text("SELECT :t"), {"t": "tag\x00"})
    engine.dispose()
    assert classify(err.value) is Problem.OTHER
    assert _surfaces(err.value)[:3] == (failures.UNEXPECTED, False, 1)


def test_a_broken_fts5_query_is_not_read_as_an_unreachable_database(db_url):
    if not dbmod.is_sqlite(db_url):
        pytest.skip("FTS5 is SQLite's")
    exc = _error(dbmod.get_engine(db_url), "SELECT rowid FROM message_fts WHERE message_fts MATCH '\"unterminated'")
    assert classify(exc) is Problem.OTHER
    assert _surfaces(exc) == (failures.UNEXPECTED, False, 1, 500)


def test_a_read_only_database_is_read_only(db_url, tmp_path):
    if dbmod.is_sqlite(db_url):
        path = db_url.removeprefix("sqlite:///")
        engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
        exc = _error(engine, "INSERT INTO project (slug) VALUES ('ro')")
    else:
        engine = create_engine(dbmod.normalize_url(db_url))
        exc = _error(engine, "SET TRANSACTION READ ONLY", "INSERT INTO project (slug) VALUES ('ro')")
    engine.dispose()
    assert classify(exc) is Problem.READ_ONLY and not retryable(exc)
    assert _surfaces(exc) == (failures.READ_ONLY, False, 1, 503)


def test_a_database_without_tables_tells_the_command_line_user_to_run_init(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    exc = _error(engine, "SELECT * FROM web_user")
    assert classify(exc) is Problem.OTHER
    assert _one_line(exc)[0].endswith("it has no tables yet (run: smschat init)")


def test_an_unexpected_webhook_error_is_logged_with_the_id_the_answer_names(db_url, caplog):
    exc = _error(dbmod.get_engine(db_url), "SELECT * FROM no_such_table")

    async def answered():
        def work():
            raise exc
        return await webhook.answer(work)

    with caplog.at_level(logging.ERROR, logger="smschat.webhooks"):
        response = asyncio.run(answered())
    assert response.status_code == 500 and b"Traceback" not in response.body
    error_id = response.body.decode().split("error id ")[1].rstrip(").")
    assert any(error_id in r.getMessage() and r.exc_info for r in caplog.records)


def test_errors_that_are_not_the_databases_are_not_classified():
    assert classify(ValueError("x")) is None and not retryable(RuntimeError())
    assert failures.describe(ValueError("x")) == failures.UNEXPECTED
