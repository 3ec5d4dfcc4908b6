"""Messages that are too late are not sent.

Every queued outgoing message carries a deadline: `due_at`, when it was meant to leave, and
`expires_at`, after when sending it would do more harm than good ("Your clinic visit is at 10 am
today" at 6 pm). The number of hours is a project setting per kind of message (the workflow);
0 means never too late (`expires_at` NULL).

- Counted from the moment the message was meant to go out: when it was queued, a reminder's slot,
  a broadcast's send time, or a send-later message's chosen time.
- A deliberate hold does not count against it: quiet hours move `due_at` and `expires_at` on by
  the time they hold the message. A *Delay Automated SMS* hold does count (it lasts while a
  conversation goes on; a reminder that a long conversation held past its deadline is as stale
  as any other), and its own 7-day limit ends a held message `expired` too.
- The worker never claims a message past its deadline, and a sweep in every worker round ends it
  `expired` with its lateness in plain words ("not sent: 26 hours late"). `expired` is final:
  only a person's *Send anyway* (Stuck messages) queues it again, with no deadline.
- The deadline is checked when the message is claimed; a claimed message is handed to the gateway
  within the worker's horizon (about a second), so one claimed just before its deadline goes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import literal_column, select
from sqlalchemy.orm import Session

from smschat.models import ChatSettings, Direction, Message, Status, Workflow

NEVER = 0
MAX_HOURS = 720  # 30 days
# Per kind: (label, default hours). Chosen for a health or field program:
DEFAULT_HOURS = {
    Workflow.CHAT.value: ("Chat", 24),  # a person's message: still useful the same day, not the day after
    Workflow.REMINDER.value: ("Reminder", 6),  # "your visit is at 10 am today": stale by the afternoon
    Workflow.BROADCAST.value: ("Broadcast", 24),  # news of the day
    Workflow.SURVEY.value: ("Survey", 6),  # a question the contact should answer now, like a reminder
    Workflow.VERIFICATION.value: ("Verification", 2),  # the person registering waits for it; later it confuses
    Workflow.KEYWORD.value: ("Keyword reply", 2),  # the answer to what the contact just texted
    Workflow.DEFAULT.value: ("Other", 24)  # HELP answers, system replies,
}
KINDS = tuple(DEFAULT_HOURS)
DELAY_EXPIRED_CODE = "delay-expired"  # held by Delay Automated SMS for more than 7 days
CANCELLED_CODE = "cancelled"  # a person chose Cancel in Stuck messages: it stays unsent


def column(kind: str) -> str:
    return f"deadline_{kind}"


def hours_for(settings: ChatSettings | None, workflow: str) -> int | None:
    """The kind's deadline in hours, None for never (and for a kind without one, such as notes)."""
    if workflow not in DEFAULT_HOURS:
        return None
    stored = getattr(settings, column(workflow), None) if settings is not None else None
    hours = DEFAULT_HOURS[workflow][1] if stored is None else int(stored)
    return None if hours == NEVER else hours


def place(message: Message, settings: ChatSettings | None, meant_for: datetime) -> None:
    """Give a message its deadline, counted from `meant_for`."""
    hours = hours_for(settings, message.workflow)
    message.due_at = meant_for
    message.expires_at = None if hours is None else meant_for + timedelta(hours=hours)


def hold(message: Message, until: datetime, now: datetime) -> None:
    """A deliberate hold until `until` (quiet hours): the deadline moves on by as long."""
    start = max(now, message.due_at or now)
    if until <= start or (message.expires_at is not None and message.expires_at <= now):  # too late already
        return
    shift = until - start
    message.due_at = (message.due_at or now) + shift
    if message.expires_at is not None:
        message.expires_at += shift


def late_words(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''} late"
    hours = minutes // 60
    if hours < 72:
        return f"{hours} hours late"
    return f"{hours // 24} days late"


def reason(message: Message, now: datetime) -> str:
    return f"not sent: {late_words(now - (message.due_at or message.created_at))}"


def expire(message: Message, now: datetime, *, code: str | None = None, text: str | None = None) -> None:
    """End a queued message `expired` (final; not sent)."""
    message.status = Status.EXPIRED.value
    message.status_at = now
    message.claimed_by = None
    message.lease_expires_at = None
    message.next_attempt_at = None
    message.error_code = code
    message.error_message = text or reason(message, now)


def expire_overdue(session: Session, *, now: datetime, limit: int = 1000) -> int:
    """One worker round: end every queued message past its deadline `expired`. Returns how many."""
    overdue = list(session.scalars(
        select(Message)
        # Written out, as in the claim: the partial index of queued rows with a deadline serves it.
        .where(Message.status == literal_column(f"'{Status.QUEUED.value}'"),
               Message.direction == literal_column(f"'{Direction.OUT.value}'"),
               Message.expires_at.is_not(None), Message.expires_at <= now)
        .order_by(Message.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ))
    for message in overdue:
        expire(message, now)
    session.flush()
    return len(overdue)
