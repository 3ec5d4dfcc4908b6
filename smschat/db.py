"""Engine and sessions. SQLite runs in WAL mode with a busy timeout and foreign keys on."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
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
