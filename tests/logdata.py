"""A small message log with known edges (DST days in America/New_York, wildcards, formulas),
and a plain-Python reference of the filter to compare the database's answers with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from smschat.accounts import auth
from smschat.models import Message
from smschat.people import contacts

TZ = ZoneInfo("America/New_York")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@dataclass
class Row:
    at: datetime
    contact: str | None  # "marie", "grace" or None (unknown sender)
    direction: str
    workflow: str
    status: str
    sent_by: str | None
    body: str
    phone: str = ""
    id: int = 0


ROWS = [
    # Local midnight edges of 2026-03-08, the day New York springs forward (EST -5 -> EDT -4).
    Row(utc(2026, 3, 8, 4, 59, 59), "marie", "out", "broadcast", "failed", None, "Heads up! Meeting at 6 pm"),
    Row(utc(2026, 3, 8, 5, 0, 0), "marie", "in", "chat", "received", None, "I visited two patients"),
    Row(utc(2026, 3, 8, 5, 10, 0), "marie", "out", "chat", "delivered", "amy", "Did you complete your supervisions today?"),
    Row(utc(2026, 3, 8, 12, 0, 0), "grace", "out", "reminder", "delivered", None, "Reminder: clinic visit 100% tomorrow"),
    Row(utc(2026, 3, 9, 3, 59, 59), "grace", "in", "survey", "received", None, '=HYPERLINK("http://x","click")'),
    Row(utc(2026, 3, 9, 4, 0, 0), None, "in", "default", "received", None, "STOPxall now"),
    # 2026-11-01, New York falls back: 01:30 local happens twice.
    Row(utc(2026, 11, 1, 5, 30), "marie", "out", "chat", "queued", "sam", "École ÉTÉ"),
    Row(utc(2026, 11, 1, 6, 30), "marie", "out", "verification", "undelivered", None, "-5 degrees @home"),
    Row(utc(2026, 11, 2, 4, 59), "grace", "out", "keyword", "sent", None, "+1 more"),
    Row(utc(2026, 11, 2, 5, 0), "grace", "in", "chat", "received", None, "<img src=x onerror=alert(1)>"),
]
PHONES = {"marie": "+17033996500", "grace": "+254712345678", None: "+15550001111"}


@dataclass
class LogData:
    project: object
    users: dict[str, object]
    contacts: dict[str, object]
    rows: list[Row]


def load(session, project, agent) -> LogData:
    """The rows above in `project` (America/New_York), plus ana (analyst) and sam (supervisor)."""
    users = {
        "amy": agent,
        "ana": auth.create_user(session, "ana", "correct horse battery", first_name="Ana", project=project, role="analyst"),
        "sam": auth.create_user(session, "sam", "correct horse battery", first_name="Sam", project=project, role="supervisor"),
    }
    marie = contacts.create_contact(session, project, "mobile_worker", "marie", username="marie")
    contacts.register_phone(session, project, marie, PHONES["marie"], verified=True)
    grace = contacts.create_contact(session, project, "case", "Grace Achieng")
    contacts.register_phone(session, project, grace, PHONES["grace"])
    people = {"marie": marie, "grace": grace}
    rows = []
    for r in ROWS:
        m = Message(
            project_id=project.id, contact_id=people[r.contact].id if r.contact else None,
            phone_number=PHONES[r.contact], direction=r.direction, body=r.body, created_at=r.at,
            status=r.status, workflow=r.workflow, sent_by_id=users[r.sent_by].id if r.sent_by else None,
        )
        session.add(m)
        session.flush()
        rows.append(Row(**{**r.__dict__, "phone": PHONES[r.contact], "id": m.id}))
    session.commit()
    return LogData(project, users, people, rows)


def expected(data: LogData, *, since=None, until=None, direction=None, workflows=(), statuses=(),
             contact=None, user=None, text="") -> list[Row]:
    """The filter, in Python: local dates in New York, substring search ignoring case."""
    out = []
    for r in data.rows:
        local_day = r.at.astimezone(TZ).date()
        if since and local_day < date.fromisoformat(since):
            continue
        if until and local_day >= date.fromisoformat(until):
            continue
        if direction and r.direction != direction:
            continue
        if workflows and r.workflow not in workflows:
            continue
        if statuses and r.status not in statuses:
            continue
        if contact and r.contact != contact:
            continue
        if user and r.sent_by != user:
            continue
        if text and text.lower() not in r.body.lower():
            continue
        out.append(r)
    return out


def table_row(r: Row) -> tuple:
    """A row as the log shows it (COLUMNS order)."""
    return (
        r.at.astimezone(TZ).strftime("%Y-%m-%d %H:%M:%S"),
        {"marie": "marie", "grace": "Grace Achieng", None: ""}[r.contact],
        {"marie": "Mobile Worker", "grace": "Case", None: ""}[r.contact],
        r.phone,
        {"in": "Incoming", "out": "Outgoing"}[r.direction],
        r.body,
        r.workflow.capitalize(),
        r.status,
        r.sent_by or "",
    )
