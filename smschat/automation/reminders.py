"""Reminders: a message (or a survey) to a contact or a group, once or on a local-time schedule.

Each reminder stores its next due slot. The worker fires a reminder whose slot has come and
moves it to the first slot after *now*: a reminder missed while the worker was down fires
once when it comes back, never once per missed slot.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from smschat import events
from smschat.accounts.access import Action, require
from smschat.accounts.actor import Actor
from smschat.accounts.projects import get_project, owned
from smschat.automation import delay, groups, schedule, surveys
from smschat.errors import ValidationError
from smschat.messaging.segments import validate_body
from smschat.models import Broadcast, Reminder, Survey, Workflow, utcnow
from smschat.text import clean, clean_optional


@dataclass(frozen=True)
class ReminderRow:
    id: int
    name: str
    body: str
    survey: str | None
    recipients: str
    schedule: str
    active: bool
    next_due_at: datetime | None
    last_fired_at: datetime | None


def _survey(session: Session, project_id: int, survey_id: int | None) -> Survey | None:
    if survey_id is None:
        return None
    return owned(session, Survey, project_id, survey_id, "survey")


def create_reminder(session: Session, actor: Actor, project_id: int, name: str, body: str,
                    target: dict[str, Any], when: dict[str, Any], *, survey_id: int | None = None,
                    now: datetime | None = None) -> Reminder:
    require(session, actor, project_id, Action.MANAGE_AUTOMATION)
    now = now or utcnow()
    project = get_project(session, project_id)
    name, body = clean(name or ""), clean_optional(body)
    if not name.strip():
        raise ValidationError("A reminder needs a name.")
    survey = _survey(session, project_id, survey_id)
    if survey is None:
        validate_body(body)
    sched = schedule.parse_schedule(when)
    first = schedule.next_slot(sched, project.time_zone, now)
    if first is None:
        raise ValidationError("That time has already passed (in the project's time zone).")
    reminder = Reminder(
        project_id=project_id, name=name.strip(), body=body or "", survey_id=survey_id,
        target=groups.validate_target(session, project_id, target), schedule=sched.to_json(),
        active=True, next_due_at=first, created_by_id=actor.user_id, created_at=now,
    )
    session.add(reminder)
    session.flush()
    return reminder


def _get(session: Session, project_id: int, reminder_id: int) -> Reminder:
    return owned(session, Reminder, project_id, reminder_id, "reminder")


def set_active(session: Session, actor: Actor, project_id: int, reminder_id: int, active: bool,
               *, now: datetime | None = None) -> Reminder:
    """Pause, or resume from now on (slots passed while paused are not sent)."""
    require(session, actor, project_id, Action.MANAGE_AUTOMATION)
    reminder = _get(session, project_id, reminder_id)
    reminder.active = active
    if active:
        tz = get_project(session, project_id).time_zone
        reminder.next_due_at = schedule.next_slot(schedule.parse_schedule(reminder.schedule), tz, now or utcnow())
    session.flush()
    return reminder


def reschedule(session: Session, project_id: int, now: datetime | None = None) -> int:
    """The project's time zone changed: every active reminder's next slot, in the new zone."""
    now = now or utcnow()
    tz = get_project(session, project_id).time_zone
    count = 0
    for reminder in session.scalars(select(Reminder).where(Reminder.project_id == project_id,
                                                           Reminder.active.is_(True))):
        reminder.next_due_at = schedule.next_slot(schedule.parse_schedule(reminder.schedule), tz, now)
        count += 1
    session.flush()
    return count


def delete_reminder(session: Session, actor: Actor, project_id: int, reminder_id: int) -> None:
    require(session, actor, project_id, Action.MANAGE_AUTOMATION)
    session.delete(_get(session, project_id, reminder_id))
    session.flush()


def list_reminders(session: Session, actor: Actor, project_id: int) -> list[ReminderRow]:
    require(session, actor, project_id, Action.MANAGE_AUTOMATION)
    rows = session.execute(
        select(Reminder, Survey.name).outerjoin(Survey, Survey.id == Reminder.survey_id)
        .where(Reminder.project_id == project_id).order_by(Reminder.id)
    )
    return [
        ReminderRow(r.id, r.name, r.body, survey, groups.describe_target(session, r.target),
                    schedule.describe(schedule.parse_schedule(r.schedule)), r.active, r.next_due_at, r.last_fired_at)
        for r, survey in rows
    ]


def send_to_group(session: Session, project, target: dict[str, Any], body: str, survey_id: int | None, *,
                  workflow: Workflow, origin: str, now: datetime, after_id: int | None = None,
                  limit: int | None = None, meant_for: datetime | None = None,
                  **columns: Any) -> tuple[int, int, int | None]:
    """Queue `body` (or start the survey) for every recipient (or one chunk of them); a
    message's deadline counts from `meant_for` (the slot or send time). Returns (queued,
    skipped opted out, last contact id looked at)."""

    people, skipped, last = groups.recipients(session, project.id, target, after_id=after_id, limit=limit)
    survey = session.get(Survey, survey_id) if survey_id else None
    for contact, e164 in people:
        if survey is not None:
            surveys.start_survey(session, project, contact, survey, origin=origin, phone_number=e164, now=now,
                                 **columns)
        else:
            delay.enqueue_automated(session, project, contact, body, workflow=workflow, phone_number=e164, now=now,
                                    meant_for=meant_for, **columns)
    return len(people), skipped, last


# Recipients per worker round and reminder: a large group goes out over several rounds, so no
# transaction holds the database (SQLite's one writer) for long.
CHUNK = 1000


def fire_due(session: Session, now: datetime | None = None, *, limit: int = 20) -> int:
    """Fire every reminder whose slot has come (once, however many slots were missed)."""
    now = now or utcnow()
    due = list(session.scalars(
        select(Reminder)
        .where(Reminder.active.is_(True), Reminder.next_due_at <= now)
        .order_by(Reminder.next_due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ))
    for reminder in due:
        project = get_project(session, reminder.project_id)
        queued, skipped, last = send_to_group(
            session, project, reminder.target, reminder.body, reminder.survey_id, workflow=Workflow.REMINDER,
            origin="reminder", now=now, after_id=reminder.cursor_contact_id, limit=CHUNK, meant_for=reminder.next_due_at)
        if last is not None and queued + skipped >= CHUNK:
            reminder.cursor_contact_id = last  # more of the group next round; still due
            continue
        reminder.cursor_contact_id = None
        reminder.last_slot_at = reminder.next_due_at
        reminder.last_fired_at = now
        reminder.next_due_at = schedule.next_slot(schedule.parse_schedule(reminder.schedule), project.time_zone, now)
        if reminder.next_due_at is None:
            reminder.active = False  # a one-off, or a schedule past its end date
    session.flush()
    return len(due)


@dataclass(frozen=True)
class CalendarRow:
    day: date
    name: str
    times: str
    recipients: int
    messages: int


def calendar(session: Session, actor: Actor, project_id: int, *, days: int = 30,
             now: datetime | None = None) -> list[CalendarRow]:
    """What is scheduled to go out on each local day from today on: per reminder (and scheduled
    broadcast), its times and how many messages (slots x current recipients)."""
    require(session, actor, project_id, Action.MANAGE_AUTOMATION)
    now = now or utcnow()
    project = get_project(session, project_id)
    tz = ZoneInfo(project.time_zone)
    start_day = now.astimezone(tz).date()
    end = datetime.combine(start_day + timedelta(days=days), datetime.min.time(), tzinfo=tz)
    rows: list[CalendarRow] = []
    for reminder in session.scalars(
        select(Reminder).where(Reminder.project_id == project_id, Reminder.active.is_(True)).order_by(Reminder.id)
    ):
        sched = schedule.parse_schedule(reminder.schedule)
        slots = schedule.slots_between(sched, project.time_zone, now, end)
        if reminder.next_due_at is not None and reminder.next_due_at <= now:
            slots.insert(0, now)  # overdue: goes out at the next worker round
        if not slots:
            continue
        count = groups.count_recipients(session, project_id, reminder.target)
        by_day: dict[date, list[str]] = defaultdict(list)
        for slot in slots:
            local = slot.astimezone(tz)
            by_day[local.date()].append(local.strftime("%H:%M"))
        for day, times in sorted(by_day.items()):
            rows.append(CalendarRow(day, reminder.name, ", ".join(times), count, count * len(times)))
    for b in session.scalars(
        select(Broadcast).where(Broadcast.project_id == project_id, Broadcast.status == "scheduled",
                                Broadcast.send_at < end).order_by(Broadcast.send_at)
    ):
        local = max(b.send_at, now).astimezone(tz)
        count = groups.count_recipients(session, project_id, b.target)
        rows.append(CalendarRow(local.date(), f"Broadcast: {b.name}", local.strftime("%H:%M"), count, count))
    rows.sort(key=lambda r: (r.day, r.times, r.name))
    return rows


events.subscribe(events.TIME_ZONE_CHANGED, reschedule)  # called as reschedule(session, project_id=..., now=...)
