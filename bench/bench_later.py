"""Stuck messages and send later at 100,000 contacts and 1,000,000 messages: the Stuck messages
page (its count, shown on Contacts, and its list) beside loading every outgoing message and
sorting them out in Python; and the outbox's claim while 10,000 scheduled messages wait for
their time, beside the same claim with none waiting. On SQLite and PostgreSQL.

    python bench/bench_later.py [--contacts 100000 --messages 1000000] [--backends sqlite,postgres]
"""

from __future__ import annotations

from datetime import timedelta

from common import arguments, dataset, median_ms
from report import report
from sqlalchemy import delete, func, select, text, update

from smschat.accounts.actor import OPERATOR
from smschat.db import session_scope
from smschat.messaging import outbox, stuck
from smschat.models import Direction, Message, Status, Workflow, utcnow

WAITING = 10_000
DUE = 50


def _mark_stuck(url: str, pid: int) -> int:
    """About 1 outgoing message in 200 did not get through (failed, undelivered or unknown)."""
    with session_scope(url) as s:
        for n, status in enumerate((Status.FAILED, Status.UNDELIVERED, Status.UNKNOWN)):
            s.execute(update(Message).where(Message.project_id == pid, Message.direction == Direction.OUT.value,
                                            Message.id % 600 == n * 200 + 1)
                      .values(status=status.value, error_code="30003" if n < 2 else None)
                      .execution_options(synchronize_session=False))
        return s.scalar(select(func.count()).select_from(Message).where(
            Message.project_id == pid, Message.status.in_(outbox.RETRYABLE_STATES)))


def _queue(url: str, pid: int, *, waiting: int, due: int) -> int:
    """Up to `waiting` scheduled messages a day ahead, then `due` ordinary ones, to distinct
    contacts (fewer scheduled on a small dataset); returns how many are scheduled."""
    now = utcnow()
    with session_scope(url) as s:
        s.execute(delete(Message).where(Message.project_id == pid, Message.status == Status.QUEUED.value))
        people = s.execute(select(Message.contact_id, Message.phone_number).where(Message.project_id == pid)
                           .distinct().limit(waiting + due)).all()
        waiting = min(waiting, len(people) - due)
        rows = []
        for i, (cid, phone) in enumerate(people):
            later = i < waiting
            at = now + timedelta(days=1) if later else None
            rows.append(dict(project_id=pid, contact_id=cid, phone_number=phone, direction=Direction.OUT.value,
                             body="see you", status=Status.QUEUED.value, workflow=Workflow.CHAT.value,
                             created_at=now, scheduled_for=at, not_before=at, next_attempt_at=at, segments=1,
                             encoding="GSM-7", attempts=0, invalid_response=False))
        s.execute(Message.__table__.insert(), rows)
    with session_scope(url) as s:  # fresh statistics, as autovacuum would keep them
        s.execute(text("ANALYZE message" if s.bind.dialect.name == "postgresql" else "ANALYZE"))
    return waiting


def main() -> None:
    args = arguments(contacts=100_000, messages=1_000_000)
    rows = []
    for backend in args.backends.split(","):
        with dataset(backend, contacts=args.contacts, messages=args.messages) as g:
            url, pid = g.url, g.project_id
            n_stuck = _mark_stuck(url, pid)
            with session_scope(url, readonly=True) as s:
                def scan_all():
                    # The naive page: every outgoing message, sorted out here.
                    now = utcnow()
                    found = [m for m in s.scalars(select(Message).where(
                        Message.project_id == pid, Message.direction == Direction.OUT.value))
                        if m.status in outbox.RETRYABLE_STATES]
                    return [stuck.explain(m, now) for m in found]

                baseline = round(median_ms(scan_all, runs=3), 1)
                for label, fn in (("stuck count (Contacts)", lambda: stuck.stuck_count(s, OPERATOR, pid)),
                                  ("stuck list (first 500)", lambda: stuck.stuck_messages(s, OPERATOR, pid))):
                    rows.append({"figure": f"{label}, {n_stuck:,} stuck", "backend": backend,
                                 "value": round(median_ms(fn, runs=7), 1), "unit": "ms", "baseline": baseline})

            def claim():
                with session_scope(url) as s:
                    ids = outbox.claim_batch(s, "bench", limit=50)
                    s.rollback()  # measure the claim, leave the queue as it was
                    return ids

            _queue(url, pid, waiting=0, due=DUE)
            plain = round(median_ms(claim, runs=7), 1)
            waiting = _queue(url, pid, waiting=WAITING, due=DUE)
            assert len(claim()) == DUE, "the scheduled messages must not be claimed"
            rows.append({"figure": f"claim 50 due while {waiting:,} scheduled wait", "backend": backend,
                         "value": round(median_ms(claim, runs=7), 1), "unit": "ms", "baseline": plain})
    print("baselines: loading every outgoing message (stuck rows); the same claim with nothing scheduled")
    report("later", rows)


if __name__ == "__main__":
    main()
