"""The contacts list at 100,000 contacts and 1,000,000 messages: first page, a search and a
page with unread counts, beside loading the whole list (how the seed's page loads), on
SQLite and PostgreSQL. Target: each under 100 ms.

    python bench/bench_contacts.py [--contacts 100000 --messages 1000000] [--backends sqlite,postgres]
"""

from __future__ import annotations

from common import arguments, dataset, median_ms
from report import report

from smschat.chat import reads
from smschat.db import session_scope
from smschat.people import contacts


def main() -> None:
    args = arguments(contacts=100_000, messages=1_000_000)
    rows = []
    for backend in args.backends.split(","):
        with dataset(backend, contacts=args.contacts, messages=args.messages) as g:
            url = g.url
            pid, uid = g.project_id, g.user_ids[0]
            with session_scope(url, readonly=True) as s:
                def full_list():
                    # The seed's way: every eligible contact into the page, then paginate there.
                    return contacts._list_query(pid, None, None, None).order_by(contacts.func.lower(contacts.Contact.name))

                def load_all():
                    return s.execute(full_list()).all()

                def first_page():
                    contacts.count_contacts(s, pid)
                    return contacts._list_contacts(s, pid, limit=25)

                def search():
                    contacts.count_contacts(s, pid, search="contact 0421")
                    return contacts._list_contacts(s, pid, search="contact 0421", limit=25)

                def search_digits():
                    contacts.count_contacts(s, pid, search="710 004 21")
                    return contacts._list_contacts(s, pid, search="710 004 21", limit=25)

                def page_with_unread():
                    page = contacts._list_contacts(s, pid, limit=25, sort="recent")
                    return reads.unread_counts(s, pid, uid, [r.id for r in page])

                def summary():
                    return contacts.summary(s, pid, uid, "per_user", "Africa/Nairobi")

                baseline = round(median_ms(load_all, runs=3), 1)
                n = len(load_all())
                for label, fn in (("first page + count", first_page), ("name search + count", search),
                                  ("phone digits search + count", search_digits),
                                  ("recent page with unread counts", page_with_unread),
                                  ("summary (unread conversations, today)", summary)):
                    rows.append({"figure": f"{label} ({n:,} listed)", "backend": backend,
                                 "value": round(median_ms(fn, runs=7), 1), "unit": "ms", "baseline": baseline})
    print("baseline: loading every listed contact (the seed's page)")
    report("contacts", rows)


if __name__ == "__main__":
    main()
