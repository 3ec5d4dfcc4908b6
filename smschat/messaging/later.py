"""Send later and quiet hours.

A chat message can be scheduled for a local date and time in the project's time zone. It is an
ordinary queued message whose `not_before` (and `next_attempt_at`) is that instant: the
outbox's claim takes it once due, and while it waits it holds back nothing else sent to the
same number. The worker checks opt-out just before sending, as for every message.

Quiet hours ("21:00-07:00", local, may cross midnight; off by default) move a scheduled or
automated message (reminder, broadcast, survey) that falls due inside them to the end of the
window, the next allowed minute, and say so on the message's status line. Chat messages typed
live, keyword replies and verification go at once: someone is there, or asked for them.

Local times that do not exist (the spring-forward gap) or happen twice (autumn) resolve as the
reminders do (smschat/automation/schedule.py: zoneinfo's fold=0) and the answer says what was
chosen: 02:30 on the night clocks jump 02:00 -> 03:00 becomes 03:30 new time; a repeated 01:30
is the first one, unless the second is asked for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from smschat.accounts import audit
from smschat.accounts.access import Action, require
from smschat.accounts.actor import Actor
from smschat.accounts.projects import get_project
from smschat.chat.timefmt import format_timestamp
from smschat.errors import MessageNotFound, ValidationError
from smschat.messaging import deadlines, outbox
from smschat.messaging.segments import count_segments, validate_body
from smschat.models import ChatSettings, Contact, Direction, Message, Project, Status, WebUser, Workflow, utcnow
from smschat.people.contacts import get_contact

QUIET_WORKFLOWS = (Workflow.REMINDER.value, Workflow.BROADCAST.value, Workflow.SURVEY.value)
MAX_AHEAD = timedelta(days=366)
_QUIET_RE = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*[-–]\s*([01]?\d|2[0-3]):([0-5]\d)\s*$")
GONE = "This message has already gone out; it can no longer be changed."
SCHEDULED = "message_scheduled"
SCHEDULE_CHANGED = "schedule_changed"
SCHEDULE_CANCELLED = "schedule_cancelled"


# --- quiet hours ---------------------------------------------------------------------------


def parse_quiet_hours(text: str | None) -> tuple[time, time] | None:
    """`21:00-07:00` -> (start, end); empty -> None (off). ValueError with the words to show."""
    if text is None or not str(text).strip():
        return None
    m = _QUIET_RE.match(str(text))
    if not m:
        raise ValueError(f"{text!r} is not a window like 21:00-07:00 (24-hour clock), or empty for none.")
    start, end = time(int(m.group(1)), int(m.group(2))), time(int(m.group(3)), int(m.group(4)))
    if start == end:
        raise ValueError("The start and the end of quiet hours must differ.")
    return start, end


def normalize_quiet_hours(text: str | None) -> str | None:
    window = parse_quiet_hours(text)
    return None if window is None else f"{window[0]:%H:%M}-{window[1]:%H:%M}"


def first_instant_at(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """The first UTC instant at which the local clock reads `wall` or later on `day`: in the
    spring gap that is the change itself (a wall time that does not exist is first passed there)."""
    naive = datetime.combine(day, wall)
    guess = naive.replace(tzinfo=tz).astimezone(UTC)  # fold=0: the offset before a change
    if guess.astimezone(tz).replace(tzinfo=None) == naive:
        return guess
    low = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)  # still before the change
    while guess - low > timedelta(seconds=1):
        mid = low + (guess - low) / 2
        if mid.astimezone(tz).replace(tzinfo=None) >= naive:
            guess = mid
        else:
            low = mid
    return guess.replace(second=0, microsecond=0)  # changes happen on the minute; guess is within 1 s after


def quiet_until(window: tuple[time, time] | None, tz_name: str, at: datetime) -> datetime | None:
    """When quiet hours that hold `at` end (UTC), or None when `at` is outside them.
    Start inclusive, end exclusive, both local wall times; a window may cross midnight."""
    if window is None:
        return None
    start, end = window
    tz = ZoneInfo(tz_name)
    local = at.astimezone(tz)
    now = local.time().replace(tzinfo=None)
    if start < end:
        inside, end_day = start <= now < end, local.date()
    elif now >= start:
        inside, end_day = True, local.date() + timedelta(days=1)
    else:
        inside, end_day = now < end, local.date()
    return first_instant_at(end_day, end, tz) if inside else None


def held_text(until: datetime, tz_name: str) -> str:
    return f"Held by quiet hours until {format_timestamp(until, tz_name)}."


def _quiet_window(session: Session, project_id: int) -> tuple[time, time] | None:
    settings = session.get(ChatSettings, project_id)
    try:
        return parse_quiet_hours(settings.quiet_hours if settings else None)
    except ValueError:
        return None  # stored through the validator; never blocks sending if it were not


def _quiet_projects(session: Session, now: datetime) -> dict[int, tuple[tuple[time, time], str, datetime]]:
    """{project id: (window, time zone, when it ends)} of the projects inside quiet hours now."""
    found = {}
    for pid, text, tz in session.execute(
        select(ChatSettings.project_id, ChatSettings.quiet_hours, Project.time_zone)
        .join(Project, Project.id == ChatSettings.project_id)
        .where(ChatSettings.quiet_hours.is_not(None))
    ):
        try:
            window = parse_quiet_hours(text)
        except ValueError:
            continue
        until = quiet_until(window, tz, now)
        if until is not None:
            found[pid] = (window, tz, until)
    return found


def _due_held(project_ids: list[int], now: datetime):
    """Due messages that quiet hours hold: automated ones, and any that were scheduled."""
    return select(Message).where(
        Message.status == Status.QUEUED.value,
        Message.direction == Direction.OUT.value,
        Message.project_id.in_(project_ids),
        or_(Message.workflow.in_(QUIET_WORKFLOWS), Message.scheduled_for.is_not(None)),
        or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now),
    )


def quiet_hours_have_work(session: Session, now: datetime) -> bool:
    quiet = _quiet_projects(session, now)
    return bool(quiet) and session.scalar(
        _due_held(list(quiet), now).with_only_columns(Message.id).limit(1)) is not None


def hold_for_quiet_hours(session: Session, now: datetime | None = None, *, limit: int = 1000) -> dict[str, int]:
    """One worker round, before the claim: every due message quiet hours apply to waits until
    they end, and its status line says until when."""
    now = now or utcnow()
    quiet = _quiet_projects(session, now)
    if not quiet:
        return {"quiet": 0}
    held = 0
    for message in session.scalars(_due_held(list(quiet), now).order_by(Message.id).limit(limit)
                                   .with_for_update(skip_locked=True)):
        _, tz, until = quiet[message.project_id]
        _hold(message, until, tz, now)
        held += 1
    session.flush()
    return {"quiet": held}


def _hold(message: Message, until: datetime, tz: str, now: datetime) -> None:
    deadlines.hold(message, until, now)  # a deliberate hold: the deadline moves on as long
    message.not_before = message.next_attempt_at = until
    scheduled = f"Scheduled for {format_timestamp(message.scheduled_for, tz)}; " if message.scheduled_for else ""
    message.error_message = scheduled + held_text(until, tz)


# --- send later ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalTime:
    """A local date and time read in a time zone, and what a DST change did to it."""

    at: datetime  # UTC
    note: str  # empty, or why it is not exactly the time typed


def resolve_local(day: date, wall: time, tz_name: str, *, second: bool = False) -> LocalTime:
    """A local date and time in `tz_name` as a UTC instant, DST-correct and explained."""
    tz = ZoneInfo(tz_name)
    naive = datetime.combine(day, wall.replace(second=0, microsecond=0, tzinfo=None))
    first, later = naive.replace(tzinfo=tz), naive.replace(tzinfo=tz, fold=1)
    typed = format_timestamp(naive.replace(tzinfo=UTC), "UTC")  # the wall time as typed
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
        at = first.astimezone(UTC)
        gap = int((later.utcoffset() - first.utcoffset()).total_seconds() // 60)
        return LocalTime(at, f"{typed[:7]} on {typed[8:]} does not exist (the clocks go forward {gap} minutes "
                             f"that night): it is sent at {format_timestamp(at, tz_name)[:7]}, the time the clock "
                             "shows then.")
    if first.utcoffset() != later.utcoffset():
        at = (later if second else first).astimezone(UTC)
        which, other = ("second", "first") if second else ("first", "second")
        return LocalTime(at, f"{typed[:7]} happens twice on {typed[8:]} (the clocks go back that night): "
                             f"it is sent at the {which} one, {at.astimezone(tz):%Z}; choose the {other} one if you meant it.")
    return LocalTime(first.astimezone(UTC), "")


@dataclass(frozen=True)
class Scheduled:
    message_id: int
    scheduled_for: datetime  # the chosen time (UTC)
    sends_at: datetime  # the chosen time, or the end of quiet hours
    note: str  # what the page says: when, and any DST or quiet-hours explanation


@dataclass(frozen=True)
class ScheduledLine:
    id: int
    body: str
    scheduled_for: datetime
    local_date: date
    local_time: time
    when: str  # "scheduled for 05:00pm 12/03/26"
    status_line: str  # the message's own line: when, and whether quiet hours hold it
    author: str


def _place(session: Session, project: Project, message: Message, local: LocalTime, now: datetime) -> Scheduled:
    if local.at <= now:
        raise ValidationError(f"{format_timestamp(local.at, project.time_zone)} has already passed; "
                              "choose a later time.")
    if local.at > now + MAX_AHEAD:
        raise ValidationError("A message can be scheduled at most a year ahead.")
    tz = project.time_zone
    message.scheduled_for = message.not_before = message.next_attempt_at = local.at
    deadlines.place(message, session.get(ChatSettings, project.id), local.at)  # counted from the chosen time
    message.error_message = f"Scheduled for {format_timestamp(local.at, tz)}."
    words = [f"Scheduled for {format_timestamp(local.at, tz)}."]
    if local.note:
        words.append(local.note)
    until = quiet_until(_quiet_window(session, project.id), tz, local.at)
    if until is not None:
        _hold(message, until, tz, now)
        words.append(f"That is inside quiet hours: it will be sent at {format_timestamp(until, tz)}.")
    session.flush()
    return Scheduled(message.id, local.at, message.not_before, " ".join(words))


def _checked_scheduled(session: Session, actor: Actor, project_id: int, message_id: int | str) -> Message:
    """A scheduled message of this project still waiting; locked, so the worker cannot take it meanwhile."""
    require(session, actor, project_id, Action.CHAT)
    try:
        mid = int(message_id)
    except (TypeError, ValueError):
        raise MessageNotFound("No such message in this project.") from None
    message = session.get(Message, mid, with_for_update=True, populate_existing=True)
    if message is None or message.project_id != project_id or message.scheduled_for is None:
        raise MessageNotFound("No such message in this project.")
    if message.status != Status.QUEUED.value or message.claimed_by is not None:
        raise ValidationError(GONE)
    return message


def _username(session: Session, actor: Actor) -> str | None:
    user = session.get(WebUser, actor.user_id) if actor.user_id is not None else None
    return user.username if user else None


def _audit(session: Session, actor: Actor, project_id: int, action: str, message: Message, now: datetime, **detail) -> None:
    audit.record(session, action, user_id=actor.user_id, username=_username(session, actor), project_id=project_id,
                 detail={"message_id": message.id, "contact_id": message.contact_id, **detail}, at=now)


def schedule_message(session: Session, actor: Actor, project_id: int, contact_id: int | str, body: str,
                     day: date, wall: time, *, second: bool = False, now: datetime | None = None) -> Scheduled:
    """Schedule a chat message from the acting user for a local date and time (Send later)."""
    require(session, actor, project_id, Action.CHAT)
    contact: Contact = get_contact(session, project_id, contact_id)
    user_id = actor.web_user_id()
    now = now or utcnow()
    project = get_project(session, project_id)
    local = resolve_local(day, wall, project.time_zone, second=second)
    message = outbox.enqueue(session, project, contact, body, workflow=Workflow.CHAT, sent_by_id=user_id,
                             created_at=now)
    done = _place(session, project, message, local, now)
    _audit(session, actor, project_id, SCHEDULED, message, now, scheduled_for=local.at.isoformat())
    return done


def edit_scheduled(session: Session, actor: Actor, project_id: int, message_id: int | str, body: str,
                   day: date, wall: time, *, second: bool = False, now: datetime | None = None) -> Scheduled:
    """Change the text or the time of a message that has not gone out yet."""
    message = _checked_scheduled(session, actor, project_id, message_id)
    now = now or utcnow()
    project = get_project(session, project_id)
    old = {"body": message.body, "scheduled_for": message.scheduled_for.isoformat()}
    body = validate_body(body)
    info = count_segments(body)
    message.body, message.segments, message.encoding = body, info.segments, info.encoding
    done = _place(session, project, message, resolve_local(day, wall, project.time_zone, second=second), now)
    _audit(session, actor, project_id, SCHEDULE_CHANGED, message, now, old=old,
           new={"body": message.body, "scheduled_for": message.scheduled_for.isoformat()})
    return done


def cancel_scheduled(session: Session, actor: Actor, project_id: int, message_id: int | str,
                     *, now: datetime | None = None) -> str:
    """Cancel a message that has not gone out yet: it is removed, never sent, never counted."""
    message = _checked_scheduled(session, actor, project_id, message_id)
    now = now or utcnow()
    tz = get_project(session, project_id).time_zone
    words = f"Cancelled the message scheduled for {format_timestamp(message.scheduled_for, tz)}."
    _audit(session, actor, project_id, SCHEDULE_CANCELLED, message, now, body=message.body,
           scheduled_for=message.scheduled_for.isoformat())
    contact_id, mid = message.contact_id, message.id
    session.delete(message)
    session.flush()
    _forget_activity(session, contact_id, mid)
    return words


def _forget_activity(session: Session, contact_id: int | None, message_id: int) -> None:
    """The contact's last message was the one removed: point at the one before it."""
    if contact_id is None:
        return
    last = select(Message.id, Message.created_at).where(Message.contact_id == contact_id).order_by(Message.id.desc()).limit(1)
    row = session.execute(last).first()
    session.execute(
        update(Contact).where(Contact.id == contact_id, Contact.last_message_id == message_id)
        .values(last_message_id=row[0] if row else None, last_message_at=row[1] if row else None)
        .execution_options(synchronize_session=False)
    )


def scheduled_messages(session: Session, actor: Actor, project_id: int, contact_id: int | str,
                       *, now: datetime | None = None) -> list[ScheduledLine]:
    """This conversation's messages waiting for their time, soonest first (with Cancel and Edit).
    Once due -- or retried after a failure -- a message is no longer listed here."""
    require(session, actor, project_id, Action.CHAT)
    now = now or utcnow()
    contact = get_contact(session, project_id, contact_id)
    tz = get_project(session, project_id).time_zone
    rows = session.execute(
        select(Message, WebUser)
        .outerjoin(WebUser, WebUser.id == Message.sent_by_id)
        .where(Message.project_id == project_id, Message.contact_id == contact.id,
               Message.scheduled_for.is_not(None), Message.status == Status.QUEUED.value,
               Message.not_before > now)
        .order_by(Message.scheduled_for, Message.id)
    )
    lines = []
    for m, user in rows:
        local = m.scheduled_for.astimezone(ZoneInfo(tz))
        lines.append(ScheduledLine(
            id=m.id, body=m.body, scheduled_for=m.scheduled_for, local_date=local.date(),
            local_time=local.time().replace(tzinfo=None, fold=0),
            when=f"scheduled for {format_timestamp(m.scheduled_for, tz)}",
            status_line=m.error_message or "", author=user.display_name if user else "",
        ))
    return lines
