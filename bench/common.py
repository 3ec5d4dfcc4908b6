"""What the benchmarks share: a throw-away database per backend, and a timer."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from smschat import db as dbmod
from smschat.config import get_settings


@contextmanager
def scratch_database(backend: str):
    """A new, empty database URL for `sqlite` or `postgres`; removed afterwards."""
    if backend == "sqlite":
        path = Path("/tmp") / f"smschat-bench-{uuid.uuid4().hex[:8]}.db"
        try:
            yield f"sqlite:///{path}"
        finally:
            dbmod.dispose_engines()
            for p in path.parent.glob(path.name + "*"):
                p.unlink(missing_ok=True)
        return
    admin = create_engine(dbmod.normalize_url(get_settings().test_postgres_url), isolation_level="AUTOCOMMIT")
    name = f"smschat_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        dbmod.dispose_engines()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def median_ms(fn: Callable[[], object], runs: int = 15) -> float:
    fn()  # warm caches and the connection pool
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def shared_env(backend: str) -> str:
    return f"SMSCHAT_BENCH_{backend.upper()}_DATASET"


@contextmanager
def dataset(backend: str, *, contacts: int, messages: int):
    """A generated project of that size: the one bench/run.py made for this backend (so
    `make bench` generates 100,000 contacts and 1,000,000 messages once per backend), else a
    scratch database of its own. Yields generate.Generated."""
    from generate import Generated, generate

    shared = os.environ.get(shared_env(backend))
    if shared:
        info = json.loads(Path(shared).read_text())
        if (info["contacts"], info["messages"]) == (contacts, messages):
            yield Generated(**info["generated"])
            return
    with scratch_database(backend) as url:
        g = generate(url, contacts=contacts, messages=messages)
        print(f"{backend}: generated {contacts:,} contacts, {messages:,} messages in {g.seconds:.0f} s", flush=True)
        yield g


def arguments(*, contacts: int = 100_000, messages: int = 1_000_000, extra=None) -> argparse.Namespace:
    """The options every benchmark takes: the data size and the backends; `extra(parser)`
    adds a script's own."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=contacts)
    parser.add_argument("--messages", type=int, default=messages)
    parser.add_argument("--backends", default="sqlite,postgres")
    if extra is not None:
        extra(parser)
    return parser.parse_args()
