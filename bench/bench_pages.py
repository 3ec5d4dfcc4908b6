"""Streamlit render time of the Contacts and Chat pages (AppTest) in a large project.

Baseline: the same page script rendering an empty project, so the ratio shows what the
data costs on top of Streamlit itself.

    python bench/bench_pages.py [--contacts 100000 --messages 1000000] [--backends sqlite,postgres]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from generate import generate  # noqa: E402
from report import report  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from smschat import db as dbmod  # noqa: E402
from smschat.config import get_settings, reload_settings  # noqa: E402


def _render(script: str, viewer: dict, params: dict | None = None, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        at = AppTest.from_file(str(ROOT / script), default_timeout=120)
        at.session_state["viewer"] = viewer
        for k, v in (params or {}).items():
            at.query_params[k] = v
        started = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - started)
        if at.exception:
            raise RuntimeError(at.exception[0].message)
    return statistics.median(times) * 1000


def _database(backend: str, tmp: Path) -> tuple[str, callable]:
    if backend == "sqlite":
        path = tmp / f"pages-{uuid.uuid4().hex[:6]}.db"
        return f"sqlite:///{path}", lambda: [p.unlink(missing_ok=True) for p in tmp.glob(path.name + "*")]
    admin = create_engine(dbmod.normalize_url(get_settings().test_postgres_url), isolation_level="AUTOCOMMIT")
    name = f"smschat_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)

    def drop():
        dbmod.dispose_engines()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    return url, drop


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    tmp = Path("/tmp")
    rows = []
    for backend in args.backends.split(","):
        for label, (n_contacts, n_messages) in (("empty", (0, 0)), ("large", (args.contacts, args.messages))):
            url, drop = _database(backend, tmp)
            os.environ["SMSCHAT_DATABASE_URL"] = url
            reload_settings()
            try:
                g = generate(url, contacts=n_contacts, messages=n_messages)
                viewer = {"user_id": g.user_ids[0], "username": "agent0", "display_name": "Agent0",
                          "project_id": g.project_id, "project_name": "Bench Project",
                          "time_zone": "Africa/Nairobi", "role": "agent"}
                contacts_ms = _render("pages/contacts.py", viewer)
                # The empty project's chat page is the contact picker; the large one opens
                # the longest conversation.
                params = {"contact": str(g.long_contact_ids[0])} if g.long_contact_ids else None
                rendered = {"contacts": contacts_ms, "chat": _render("pages/chat.py", viewer, params)}
                if label == "empty":
                    baseline = rendered
                    continue
                for page, ms in rendered.items():
                    rows.append({"figure": f"{page} page render ({n_contacts:,} contacts, {n_messages:,} messages)",
                                 "backend": backend, "value": round(ms, 1), "unit": "ms",
                                 "baseline": round(baseline[page], 1)})
            finally:
                drop()
    report("pages", rows)


if __name__ == "__main__":
    main()
