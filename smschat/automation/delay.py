"""The *Delay Automated SMS* rule, and the one door automated messages go out through.

Rule: an automated message (reminder, broadcast, survey) that is due while the project's
local time is inside one of the delay windows, to a contact who sent us a message within the
last *conversation length* minutes, waits: its `next_attempt_at` moves one minute on, and the
worker looks again then, until the conversation has gone quiet. Chat messages (and replies a
contact asked for: keyword replies, verification) are never delayed. A message still held
7 days after it was queued ends `expired` (deadlines.py) with a reason the chat shows.

Applied twice: when the message is queued (`enqueue_automated`), and at every worker round for
every due automated message (`apply`), so a conversation that starts after queueing still holds it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from smschat.automation.schedule import DAYS
from smschat.messaging import deadlines, outbox
from smschat.models import (
    ChatSettings,
    Contact,
    Direction,
    Message,
    Project,
    Status,
    Workflow,
    utcnow,
)

DELAYED_WORKFLOWS = (Workflow.REMINDER.value, Workflow.BROADCAST.value, Workflow.SURVEY.value)
# Inbound messages that are a conversation: not answers to a survey, keywords or verification.
CONVERSATION_WORKFLOWS = (Workflow.DEFAULT.value, Workflow.CHAT.value)
RETRY_EVERY = timedelta(minutes=1)
MAX_DELAY = timedelta(days=7)
# How long a conversation lasts after its last message when the setting does not say (Settings: 5 to 30).
DEFAULT_CONVERSATION_MINUTES = 10
HELD_REASON = "Held by Delay Automated SMS while the contact is in a conversation; tried again each minute."
EXPIRED_REASON = ("Not sent: held by Delay Automated SMS for more than 7 days "
                  "(the contact was in a conversation whenever it was due).")
EXPIRED_CODE = deadlines.DELAY_EXPIRED_CODE


def in_window(rule: dict[str, Any], tz_name: str, now: datetime) -> bool:
    """Is `now` inside one of the rule's windows (local time; start inclusive, end exclusive)?"""
    if not rule or not rule.get("enabled"):
        return False
    local = now.astimezone(ZoneInfo(tz_name))
    day, hhmm = DAYS[local.weekday()], local.strftime("%H:%M")
    for w in rule.get("windows", []):
        if w.get("day") not in ("every", day):
            continue
        if w["start"] <= hhmm and (not w.get("end") or hhmm < w["end"]):
            return True
    return False


def in_conversation(session: Session, project_id: int, contact_id: int | None, minutes: int, now: datetime) -> bool:
    """Did the contact send us a (conversation) message within the last `minutes`?"""
    if contact_id is None:
        return False
    return session.scalar(
        select(Message.id).where(
            Message.project_id == project_id,
            Message.contact_id == contact_id,
            Message.direction == Direction.IN.value,
            Message.workflow.in_(CONVERSATION_WORKFLOWS),
            Message.created_at > now - timedelta(minutes=minutes),
            Message.created_at <= now,
        ).limit(1)
    ) is not None


def should_hold(session: Session, message: Message, rule: dict[str, Any], tz_name: str, now: datetime) -> bool:
    if message.workflow not in DELAYED_WORKFLOWS or not in_window(rule, tz_name, now):
        return False
    return in_conversation(session, message.project_id, message.contact_id,
                           int(rule.get("conversation_minutes", DEFAULT_CONVERSATION_MINUTES)), now)


def _hold_or_expire(message: Message, now: datetime) -> str:
    if now - message.created_at >= MAX_DELAY:
        deadlines.expire(message, now, code=EXPIRED_CODE, text=EXPIRED_REASON)
        return "expired"
    message.next_attempt_at = now + RETRY_EVERY
    message.error_message = HELD_REASON  # shown under the queued message in the chat; cleared once sent
    return "held"


def enqueue_automated(session: Session, project: Project, contact: Contact, body: str, *, workflow: Workflow | str,
                      phone_number: str, now: datetime | None = None, meant_for: datetime | None = None,
                      **columns: Any) -> Message:
    """Queue an automated message (labelled System in the chat), holding it if the rule says so.
    `meant_for`: when it should have gone (a reminder's slot), which its deadline counts from."""
    now = now or utcnow()
    message = outbox.enqueue(session, project, contact, body, workflow=workflow, phone_number=phone_number,
                             created_at=now, meant_for=meant_for)
    for key, value in columns.items():  # broadcast_id, survey_session_id
        setattr(message, key, value)
    settings = session.get(ChatSettings, project.id)
    if settings is not None and should_hold(session, message, settings.delay_automated_sms or {}, project.time_zone, now):
        _hold_or_expire(message, now)
    session.flush()
    return message


def _active_rules(session: Session, now: datetime) -> dict[int, tuple[dict[str, Any], str]]:
    """{project id: (rule, time zone)} of the projects whose delay window is open now."""
    return {
        pid: (rule, tz)
        for pid, rule, tz in session.execute(
            select(ChatSettings.project_id, ChatSettings.delay_automated_sms, Project.time_zone)
            .join(Project, Project.id == ChatSettings.project_id)
        )
        if rule and rule.get("enabled") and in_window(rule, tz, now)
    }


def _due(project_ids: list[int], now: datetime):
    return select(Message).where(
        Message.status == Status.QUEUED.value,
        Message.direction == Direction.OUT.value,
        Message.project_id.in_(project_ids),
        Message.workflow.in_(DELAYED_WORKFLOWS),
        (Message.next_attempt_at.is_(None)) | (Message.next_attempt_at <= now),
    )


def has_work(session: Session, now: datetime) -> bool:
    rules = _active_rules(session, now)
    return bool(rules) and session.scalar(_due(list(rules), now).with_only_columns(Message.id).limit(1)) is not None


def apply(session: Session, now: datetime | None = None, *, limit: int = 500) -> dict[str, int]:
    """One worker round: hold or expire every due automated message the rule applies to."""
    now = now or utcnow()
    rules = _active_rules(session, now)
    counts = {"held": 0, "expired": 0}
    if not rules:
        return counts
    due = list(session.scalars(
        _due(list(rules), now)
        .order_by(Message.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ))
    # Who is in a conversation: one query per project for the whole batch.
    contacts_by_project: dict[int, set[int]] = defaultdict(set)
    for message in due:
        if message.contact_id is not None:
            contacts_by_project[message.project_id].add(message.contact_id)
    talking: set[tuple[int, int]] = set()
    for project_id, contact_ids in contacts_by_project.items():
        minutes = int(rules[project_id][0].get("conversation_minutes", DEFAULT_CONVERSATION_MINUTES))
        talking.update((project_id, cid) for cid in session.scalars(
            select(Message.contact_id).distinct().where(
                Message.project_id == project_id,
                Message.contact_id.in_(contact_ids),
                Message.direction == Direction.IN.value,
                Message.workflow.in_(CONVERSATION_WORKFLOWS),
                Message.created_at > now - timedelta(minutes=minutes),
                Message.created_at <= now,
            )
        ))
    for message in due:
        if (message.project_id, message.contact_id) in talking:
            counts[_hold_or_expire(message, now)] += 1
    session.flush()
    return counts
