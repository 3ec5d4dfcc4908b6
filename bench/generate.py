"""Fill a database with a realistic project: N contacts, M messages, several web users.

Shapes: a few very long conversations (10,000 messages each when M allows), many short
ones, most contacts silent; incoming and outgoing mixed; part of the incoming unread.
Bulk inserts (PostgreSQL: COPY), so 100,000 contacts and 1,000,000 messages take
a minute or two rather than an hour.

    python bench/generate.py --url sqlite:////tmp/bench.db --contacts 100000 --messages 1000000
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from sqlalchemy import insert, text  # noqa: E402

from smschat.accounts import auth, projects
from smschat.chat import inbox
from smschat.db import get_engine, is_sqlite, session_scope
from smschat.migrate import upgrade
from smschat.models import Contact, Message, PhoneNumber, ReadMarker
from smschat.people import contacts as contacts_service

LONG_CONVERSATIONS = 3
LONG_LENGTH = 10_000
BODIES = [
    "Did you complete your supervisions today?",
    "I visited two patients, and scheduled clinic visits",
    "Heads up! Your weekly meeting is at the community center tomorrow at 6 pm.",
    "Please confirm the delivery of the vaccines.",
    "Yes, received 20 doses.",
    "Reminder: submit your weekly report by Friday.",
    "Asante, nimepokea.",
    "Merci, bien reçu 👍",
]


@dataclass
class Generated:
    url: str
    project_id: int
    user_ids: list[int]
    contact_ids: list[int]
    long_contact_ids: list[int]
    messages: int
    seconds: float


def _copy_rows(url: str, table: str, columns: list[str], rows) -> None:
    """PostgreSQL COPY from an in-memory TSV; SQLite executemany."""
    engine = get_engine(url)
    if is_sqlite(engine):
        model = {"contact": Contact, "phone_number": PhoneNumber, "message": Message, "read_marker": ReadMarker}[table]
        batch = []
        with engine.begin() as conn:
            for row in rows:
                batch.append(dict(zip(columns, row, strict=True)))
                if len(batch) == 20_000:
                    conn.execute(insert(model), batch)
                    batch.clear()
            if batch:
                conn.execute(insert(model), batch)
        return
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        raw.commit()
    finally:
        raw.close()


def generate(url: str, *, contacts: int, messages: int, users: int = 5, seed: int = 1) -> Generated:
    started = time.monotonic()
    rng = random.Random(seed)
    upgrade(url)
    with session_scope(url) as s:
        project = projects.create_project(s, "bench", "Bench Project", time_zone="Africa/Nairobi")
        user_ids = [
            auth.create_user(s, f"agent{i}", "bench-password", first_name=f"Agent{i}", project=project).id
            for i in range(users)
        ]
        pid = project.id
    engine = get_engine(url)
    with engine.connect() as conn:
        first_id = int(conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM contact")).scalar()) + 1
    now = datetime.now(UTC)
    contact_ids = list(range(first_id, first_id + contacts))

    # COPY takes JSON as text; SQLAlchemy's JSON type would encode a text a second time.
    no_properties = {} if is_sqlite(engine) else "{}"

    def contact_rows():
        for i, cid in enumerate(contact_ids):
            worker = i % 3 == 0
            yield (cid, pid, "mobile_worker" if worker else "case", f"Contact {i:06d} {rng.choice('ABCDEFGH')}",
                   f"user{i}" if worker else None, None, no_properties, now)

    _copy_rows(url, "contact", ["id", "project_id", "kind", "name", "username", "first_name", "case_properties", "created_at"],
               contact_rows())

    def phone_rows():
        for i, cid in enumerate(contact_ids):
            yield (cid, pid, cid, f"+2547{10_000_000 + i:08d}", i % 10 != 9, i % 10 != 9, False, now)

    _copy_rows(url, "phone_number", ["id", "project_id", "contact_id", "e164", "verified", "two_way", "opted_out", "created_at"],
               phone_rows())

    long_ids = contact_ids[:LONG_CONVERSATIONS] if messages >= LONG_CONVERSATIONS * LONG_LENGTH * 2 else []
    remaining = messages - len(long_ids) * LONG_LENGTH
    # Short conversations: a third of the contacts talk, the rest are silent.
    talkers = contact_ids[LONG_CONVERSATIONS:][: max(1, contacts // 3)]

    def message_rows():
        span = timedelta(days=60).total_seconds()
        plan = [(cid, LONG_LENGTH) for cid in long_ids]
        per = max(1, remaining // max(1, len(talkers)))
        left = remaining
        for cid in talkers:
            if left <= 0:
                break
            n = min(left, per)
            plan.append((cid, n))
            left -= n
        # Interleave by time so ids grow with created_at, like real traffic.
        events = []
        for cid, n in plan:
            for _ in range(n):
                events.append((rng.random() * span, cid))
        events.sort()
        for offset, cid in events:
            incoming = rng.random() < 0.45
            created = now - timedelta(seconds=span - offset)
            body = rng.choice(BODIES)
            phone = f"+2547{10_000_000 + (cid - first_id):08d}"
            yield (pid, cid, phone, "in" if incoming else "out", body, created,
                   "received" if incoming else "delivered", 1, "GSM-7",
                   "default" if incoming else rng.choice(["chat", "chat", "reminder", "broadcast"]),
                   None if incoming else rng.choice(user_ids), False, 0)

    _copy_rows(url, "message", ["project_id", "contact_id", "phone_number", "direction", "body", "created_at",
                                "status", "segments", "encoding", "workflow", "sent_by_id", "invalid_response", "attempts"],
               message_rows())
    with session_scope(url) as s:
        contacts_service.refresh_activity(s, pid)
        inbox.refresh_waiting(s, pid)
    if not is_sqlite(engine):
        with engine.begin() as conn:
            conn.execute(text("SELECT setval(pg_get_serial_sequence('contact', 'id'), (SELECT MAX(id) FROM contact))"))
            conn.execute(text("SELECT setval(pg_get_serial_sequence('phone_number', 'id'), (SELECT MAX(id) FROM phone_number))"))
            conn.execute(text("ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    # Each user has read most conversations up to some point: unread messages remain.
    with engine.connect() as conn:
        maxima = dict(conn.execute(text("SELECT contact_id, MAX(id) FROM message WHERE project_id = :p GROUP BY contact_id"), {"p": pid}).all())

    def marker_rows():
        for uid in user_ids:
            for cid, top in maxima.items():
                if rng.random() < 0.7:
                    yield (pid, uid, cid, max(0, top - rng.randint(0, 3)), False, now)

    _copy_rows(url, "read_marker", ["project_id", "user_id", "contact_id", "last_read_message_id", "marked_unread", "updated_at"],
               marker_rows())
    return Generated(url, pid, user_ids, contact_ids, long_ids, messages, time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=5)
    args = parser.parse_args()
    g = generate(args.url, contacts=args.contacts, messages=args.messages, users=args.users)
    print(f"generated {args.contacts:,} contacts and {args.messages:,} messages in {g.seconds:.1f} s")


if __name__ == "__main__":
    main()
