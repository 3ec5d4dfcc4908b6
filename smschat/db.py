"""Engine and sessions. SQLite runs in WAL mode with a busy timeout and foreign keys on."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DataError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from smschat.config import get_settings

_engines: dict[str, Engine] = {}
_lock = threading.Lock()
POOL_SIZE, MAX_OVERFLOW = 5, 10  # PostgreSQL connections per process (README: Scale-out)


def normalize_url(url: str) -> str:
    """Accept plain `postgresql://` / `postgres://` URLs and use psycopg 3 for them."""
    u = make_url(url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url)
    if u.drivername in ("postgresql", "postgresql+psycopg2"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def is_sqlite(url_or_engine: str | Engine) -> bool:
    url = url_or_engine.url if isinstance(url_or_engine, Engine) else make_url(url_or_engine)
    return url.get_backend_name() == "sqlite"


def _setup_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised by every sqlite test
        # Let SQLAlchemy's "begin" event decide how a transaction starts (see below).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # A writing transaction takes the write lock up front (BEGIN IMMEDIATE): a deferred
        # one that reads first and writes later fails with SQLITE_BUSY under concurrency
        # instead of waiting. Read-only sessions stay deferred so readers never queue.
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    if is_sqlite(url):
        # No folder is created here: a mistyped path must fail, not leave a new empty database
        # behind (`migrate.upgrade`, i.e. `smschat init`, creates the folder).
        busy_ms = get_settings().sqlite_busy_timeout_ms
        engine = create_engine(url, connect_args={"timeout": busy_ms / 1000})
        _setup_sqlite(engine, busy_ms)
    else:
        # JIT compilation pays off for long analytical queries; ours are short, and at 100,000
        # contacts the planner's estimates made it spend ~150 ms compiling a 100 ms count.
        engine = create_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW,
                               connect_args={"options": "-c jit=off"})
    return engine


def write_concurrency(url: str | None = None) -> int:
    """Writing transactions worth running at once in one process: one on SQLite (one writer),
    the pool's size on PostgreSQL."""
    return 1 if is_sqlite(get_engine(url)) else POOL_SIZE


def get_engine(url: str | None = None) -> Engine:
    url = normalize_url(url or get_settings().database_url)
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url)
        return engine


def dispose_engines() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


# One sessionmaker per engine and mode: each new one is a new Session subclass, whose event
# set-up cost more than a webhook's whole transaction.
_factories: weakref.WeakKeyDictionary[Engine, dict[bool, sessionmaker[Session]]] = weakref.WeakKeyDictionary()


def session_factory(url: str | None = None, *, readonly: bool = False) -> sessionmaker[Session]:
    engine = get_engine(url)
    with _lock:
        factories = _factories.setdefault(engine, {})
        factory = factories.get(readonly)
        if factory is None:
            bind = engine.execution_options(sqlite_begin="DEFERRED") if readonly and is_sqlite(engine) else engine
            factory = factories[readonly] = sessionmaker(bind=bind, expire_on_commit=False)
        return factory


@contextmanager
def session_scope(url: str | None = None, *, readonly: bool = False) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    session = session_factory(url, readonly=readonly)()
    try:
        yield session
        if readonly:
            session.rollback()
        else:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def database_reachable(url: str | None = None) -> bool:
    """Whether the database answers a trivial query (health checks, and a page waiting for it)."""
    try:
        with session_scope(url, readonly=True) as session:
            session.execute(text("SELECT 1"))
    except DBAPIError:
        return False
    return True


class Problem(StrEnum):
    """What a database error means to whoever must answer for it (page, CLI, webhook)."""

    UNREACHABLE = "unreachable"  # no connection: refused, timed out, gone, file cannot be opened
    BUSY = "busy"  # a lock or a conflict: the same work succeeds a moment later
    READ_ONLY = "read-only"  # connected, but nothing can be written until an admin acts
    OTHER = "other"  # the statement or its values were refused: trying again changes nothing


# PostgreSQL SQLSTATEs (appendix A of its manual) by what they mean here.
_PG_UNREACHABLE_CLASSES = ("08", "53")  # connection exception, insufficient resources
_PG_UNREACHABLE = {"57P01", "57P02", "57P03"}  # admin / crash shutdown, cannot connect now
_PG_BUSY = {"55P03", "40P01", "40001", "57014"}  # lock not available, deadlock, serialization, timeout
_PG_READ_ONLY = {"25006"}  # read_only_sql_transaction (a standby, or default_transaction_read_only)
# SQLite's result codes (sqlite3.Error.sqlite_errorname), extended codes by their prefix.
_SQLITE = (("SQLITE_BUSY", Problem.BUSY), ("SQLITE_LOCKED", Problem.BUSY),
           ("SQLITE_READONLY", Problem.READ_ONLY),
           ("SQLITE_CANTOPEN", Problem.UNREACHABLE), ("SQLITE_IOERR", Problem.UNREACHABLE))


def classify(exc: BaseException) -> Problem | None:
    """The one reading of a database error (None: not a database error). Only UNREACHABLE and
    BUSY are worth retrying (`retryable`); a DataError or IntegrityError is always OTHER."""
    if isinstance(exc, PoolTimeout):  # every pooled connection in use for too long
        return Problem.BUSY
    if not isinstance(exc, DBAPIError):
        return None
    if isinstance(exc, DataError | IntegrityError):
        return Problem.OTHER
    if exc.connection_invalidated:
        return Problem.UNREACHABLE
    orig = exc.orig
    name = getattr(orig, "sqlite_errorname", None)
    if name is not None:
        return next((p for prefix, p in _SQLITE if name.startswith(prefix)), Problem.OTHER)
    state = getattr(orig, "sqlstate", None)
    if state is not None:
        if state in _PG_BUSY:
            return Problem.BUSY
        if state in _PG_READ_ONLY:
            return Problem.READ_ONLY
        if state in _PG_UNREACHABLE or state[:2] in _PG_UNREACHABLE_CLASSES:
            return Problem.UNREACHABLE
        return Problem.OTHER
    # No code: psycopg's own failure to connect (or to keep a connection) has none.
    module = type(orig).__module__ or ""
    if module.startswith("psycopg") and type(orig).__name__ in ("OperationalError", "InterfaceError"):
        return Problem.UNREACHABLE
    detail = str(orig).lower()
    if "locked" in detail or "busy" in detail:
        return Problem.BUSY
    if "readonly" in detail or "read-only" in detail:
        return Problem.READ_ONLY
    return Problem.OTHER


def retryable(exc: BaseException) -> bool:
    """Whether the same work, tried again later, can succeed: a lost connection or a lock."""
    return classify(exc) in (Problem.UNREACHABLE, Problem.BUSY)


def reason(exc: BaseException) -> str:
    """The database's own first line about an error (never a statement or its parameters)."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return lines[0] if lines else type(orig).__name__
