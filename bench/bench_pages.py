"""Streamlit render time of the Contacts and Chat pages (AppTest) in a large project.

Baseline: the same page script rendering an empty project, so the ratio shows what the
data costs on top of Streamlit itself.

    python bench/bench_pages.py [--contacts 100000 --messages 1000000] [--backends sqlite,postgres]
"""

from __future__ import annotations

import os
import statistics
import time

from common import ROOT, arguments, dataset
from report import report
from streamlit.testing.v1 import AppTest

from smschat.config import reload_settings


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


def main() -> None:
    args = arguments(contacts=100_000, messages=1_000_000)
    rows = []
    for backend in args.backends.split(","):
        for label, (n_contacts, n_messages) in (("empty", (0, 0)), ("large", (args.contacts, args.messages))):
            with dataset(backend, contacts=n_contacts, messages=n_messages) as g:
                os.environ["SMSCHAT_DATABASE_URL"] = g.url  # the page scripts read it through config
                reload_settings()
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
    report("pages", rows)


if __name__ == "__main__":
    main()
