"""Waiting replies at 100,000 contacts and 1,000,000 messages: one refresh of the page (the
first page, its count, the unread state), per filter and one page on by cursor, beside the
same list computed from the messages themselves (a full scan: what it costs without the
per-conversation summary). Target: each refresh under 100 ms, on SQLite and PostgreSQL.

    python bench/bench_inbox.py [--contacts 100000 --messages 1000000] [--backends sqlite,postgres]
"""

from __future__ import annotations

from common import arguments, dataset, median_ms
from report import report
from sqlalchemy import and_, case, func, select, update

from smschat.accounts.actor import Actor
from smschat.chat import inbox
from smschat.db import session_scope
from smschat.models import Contact, Direction, Message

PAGE = 25


def full_scan(pid: int):
    """Waiting conversations straight from the messages: per contact the first incoming message
    after the last reply, oldest first."""
    reply = case((and_(Message.direction == Direction.OUT.value, Message.workflow.not_in(inbox.NOT_A_REPLY)),
                  Message.id), else_=0)
    per_contact = (
        select(Message.contact_id, func.max(reply).label("last_reply"),
               func.max(case((Message.direction == Direction.IN.value, Message.id), else_=0)).label("last_in"))
        .where(Message.project_id == pid, Message.contact_id.is_not(None))
        .group_by(Message.contact_id).subquery()
    )
    first = (
        select(func.min(Message.id)).where(Message.project_id == pid, Message.contact_id == per_contact.c.contact_id,
                                           Message.direction == Direction.IN.value,
                                           Message.id > per_contact.c.last_reply)
        .scalar_subquery()
    )
    return (select(per_contact.c.contact_id, first.label("since"))
            .where(per_contact.c.last_in > per_contact.c.last_reply).order_by("since").limit(PAGE))


def main() -> None:
    args = arguments(contacts=100_000, messages=1_000_000)
    rows = []
    for backend in args.backends.split(","):
        with dataset(backend, contacts=args.contacts, messages=args.messages) as g:
            pid, uid = g.project_id, g.user_ids[0]
            me = Actor.web(uid)
            # Assign every 50th waiting conversation to the first user (undone afterwards).
            with session_scope(g.url) as s:
                ids = s.scalars(select(Contact.id).where(Contact.project_id == pid, Contact.waiting_since_id.is_not(None))
                                .order_by(Contact.id)).all()
                s.execute(update(Contact).where(Contact.id.in_(ids[::50])).values(assignee_id=uid))
            try:
                with session_scope(g.url, readonly=True) as s:
                    waiting = s.scalar(select(func.count()).select_from(Contact).where(
                        Contact.project_id == pid, Contact.waiting_since_id.is_not(None)))
                    baseline = round(median_ms(lambda: s.execute(full_scan(pid)).all(), runs=3), 1)
                    scan = [r.contact_id for r in s.execute(full_scan(pid))]
                    listed = inbox.list_waiting(s, me, pid, limit=PAGE)
                    assert [r.contact_id for r in listed.rows] == scan, "the summary and the scan disagree"
                    cursor = inbox.list_waiting(s, me, pid, limit=PAGE * 9).next_after
                    figures = {
                        "all": lambda: inbox.list_waiting(s, me, pid, limit=PAGE),
                        "mine": lambda: inbox.list_waiting(s, me, pid, show="mine", limit=PAGE),
                        "unassigned": lambda: inbox.list_waiting(s, me, pid, show="unassigned", limit=PAGE),
                        "all, 10th page by cursor": lambda: inbox.list_waiting(s, me, pid, limit=PAGE, after_id=cursor),
                    }
                    for label, fn in figures.items():
                        rows.append({"figure": f"refresh: {label} ({waiting:,} waiting)", "backend": backend,
                                     "value": round(median_ms(fn, runs=9), 1), "unit": "ms", "baseline": baseline})
            finally:
                with session_scope(g.url) as s:
                    s.execute(update(Contact).where(Contact.project_id == pid).values(assignee_id=None))
    print("baseline: the same first page computed from the messages (a full scan, no summary)")
    report("inbox", rows)


if __name__ == "__main__":
    main()
