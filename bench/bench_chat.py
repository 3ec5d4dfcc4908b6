"""Open a 10,000-message chat in a project of 1,000,000 messages: first page and an empty
poll, beside a full-history reload (how the seed's system refreshes), on SQLite and PostgreSQL.

    python bench/bench_chat.py [--contacts 100000 --messages 1000000] [--backends sqlite,postgres]
"""

from __future__ import annotations

from common import arguments, dataset, median_ms
from report import report

from smschat.chat import window as chat
from smschat.db import session_scope


def main() -> None:
    args = arguments(contacts=100_000, messages=1_000_000)
    rows = []
    for backend in args.backends.split(","):
        with dataset(backend, contacts=args.contacts, messages=args.messages) as g:
            url = g.url
            pid, cid = g.project_id, g.long_contact_ids[0]
            with session_scope(url, readonly=True) as s:
                latest = chat.latest_id(s, pid, cid)

                def first_page():
                    return chat.get_history(s, pid, cid, range_name="All Time", limit=50)

                def empty_poll():
                    assert chat.get_history(s, pid, cid, range_name="All Time", after_id=latest) == []

                def full_reload():
                    return chat.get_history(s, pid, cid, range_name="All Time", limit=chat.MAX_PAGE * 100)

                # get_history caps a page at MAX_PAGE; the seed's reload reads the whole conversation.
                chat_max, chat.MAX_PAGE = chat.MAX_PAGE, 20_000
                try:
                    full = median_ms(full_reload, runs=5)
                    n = len(full_reload())
                finally:
                    chat.MAX_PAGE = chat_max
                size = f"{n:,}-message chat, {args.messages:,} in project"
                rows.append({"figure": f"first page (50) of a {size}", "backend": backend,
                             "value": round(median_ms(first_page), 2), "unit": "ms", "baseline": round(full, 1)})
                rows.append({"figure": f"empty poll (id > cursor) of a {size}", "backend": backend,
                             "value": round(median_ms(empty_poll), 2), "unit": "ms", "baseline": round(full, 1)})
    print("baseline: reloading the whole conversation on every refresh")
    report("chat", rows)


if __name__ == "__main__":
    main()
