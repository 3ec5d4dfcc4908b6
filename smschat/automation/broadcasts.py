"""Broadcast Messages: one message (or a survey) to a group, now or at a time.

Sending a broadcast queues one outbox message per recipient, tagged with `broadcast_id`; its
progress (queued / sent / failed) is counted from those rows. Opted-out numbers get nothing
and are counted as skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from smschat.accounts.access import Action, require
from smschat.accounts.actor import Actor
from smschat.accounts.projects import get_project, owned
from smschat.automation import groups
from smschat.automation.reminders import send_to_group
from smschat.errors import ValidationError
from smschat.messaging.segments import validate_body
from smschat.models import Broadcast, Message, Status, Survey, Workflow, utcnow
from smschat.text import clean, clean_optional

SCHEDULED, SENDING, SENT, CANCELLED = "scheduled", "sending", "sent", "cancelled"
# Recipients queued per transaction: the page's own for the first chunk, then one per worker
# round, so a broadcast to 100,000 contacts never holds the database (SQLite's one writer) long.
CHUNK = 1000
_QUEUED = (Status.QUEUED.value, Status.SENDING.value)
_SENT = (Status.SENT.value, Status.DELIVERED.value)
_FAILED = (Status.FAILED.value, Status.UNDELIVERED.value, Status.UNKNOWN.value)


@dataclass(frozen=True)
class BroadcastRow:
    id: int
    name: str
    body: str
    survey: str | None
    recipients_label: str
    send_at: datetime
    status: str
    recipients: int
    queued: int
    sent: int
    failed: int
    skipped_opted_out: int


def create_broadcast(session: Session, actor: Actor, project_id: int, name: str, body: str,
                     target: dict[str, Any], *, send_at: datetime | None = None, survey_id: int | None = None,
                     now: datetime | None = None) -> Broadcast:
    """Send now (send_at None or past: queued in this transaction) or schedule for later."""
    require(session, actor, project_id, Action.MANAGE_AUTOMATION)
    now = now or utcnow()
    name, body = clean(name or ""), clean_optional(body)
    if not name.strip():
        raise ValidationError("A broadcast needs a name.")
    if survey_id is not None:
        owned(session, Survey, project_id, survey_id, "survey")  # another project's survey reads as missing
    else:
        validate_body(body)
    broadcast = Broadcast(
        project_id=project_id, name=name.strip(), body=body or "", survey_id=survey_id,
        target=groups.validate_target(session, project_id, target), send_at=send_at or now,
        status=SCHEDULED, recipients=0, skipped_opted_out=0, created_by_id=actor.user_id, created_at=now,
    )
    session.add(broadcast)
    session.flush()
    if broadcast.send_at <= now:
        send_chunk(session, broadcast, now)
    return broadcast


def send_chunk(session: Session, broadcast: Broadcast, now: datetime, *, chunk: int | None = None) -> None:
    """Queue the next chunk of recipients; `sent` once the group is done."""

    chunk = chunk or CHUNK
    project = get_project(session, broadcast.project_id)
    queued, skipped, last = send_to_group(
        session, project, broadcast.target, broadcast.body, broadcast.survey_id, workflow=Workflow.BROADCAST,
        origin="broadcast", now=now, after_id=broadcast.cursor_contact_id, limit=chunk, broadcast_id=broadcast.id,
        meant_for=broadcast.send_at)
    if broadcast.status == SCHEDULED:
        broadcast.status, broadcast.started_at = SENDING, now
    broadcast.recipients += queued
    broadcast.skipped_opted_out += skipped
    if last is not None:
        broadcast.cursor_contact_id = last
    if last is None or queued + skipped < chunk:
        broadcast.status = SENT
    session.flush()


def send_due(session: Session, now: datetime | None = None, *, limit: int = 10) -> int:
    """The worker's part: scheduled broadcasts whose time has come, and the next chunk of those
    under way. Returns how many broadcasts it worked on."""
    now = now or utcnow()
    due = list(session.scalars(
        select(Broadcast)
        .where(((Broadcast.status == SCHEDULED) & (Broadcast.send_at <= now)) | (Broadcast.status == SENDING))
        .order_by(Broadcast.send_at).limit(limit).with_for_update(skip_locked=True)
    ))
    for broadcast in due:
        send_chunk(session, broadcast, now)
    return len(due)


def cancel(session: Session, actor: Actor, project_id: int, broadcast_id: int) -> None:
    require(session, actor, project_id, Action.MANAGE_AUTOMATION)
    broadcast = owned(session, Broadcast, project_id, broadcast_id, "broadcast")
    if broadcast.status != SCHEDULED:
        raise ValidationError("Only a scheduled broadcast can be cancelled; this one has gone out.")
    broadcast.status = CANCELLED
    session.flush()


def list_broadcasts(session: Session, actor: Actor, project_id: int, *, limit: int = 100) -> list[BroadcastRow]:
    """Newest first, each with its progress counted from its messages."""
    require(session, actor, project_id, Action.MANAGE_AUTOMATION)
    items = list(session.execute(
        select(Broadcast, Survey.name).outerjoin(Survey, Survey.id == Broadcast.survey_id)
        .where(Broadcast.project_id == project_id).order_by(Broadcast.id.desc()).limit(limit)
    ))
    ids = [b.id for b, _ in items]
    counts: dict[int, dict[str, int]] = {i: {} for i in ids}
    if ids:
        for bid, status, n in session.execute(
            select(Message.broadcast_id, Message.status, func.count())
            .where(Message.broadcast_id.in_(ids)).group_by(Message.broadcast_id, Message.status)
        ):
            counts[bid][status] = n
    rows = []
    for b, survey in items:
        c = counts[b.id]
        rows.append(BroadcastRow(
            b.id, b.name, b.body, survey, groups.describe_target(session, b.target), b.send_at, b.status,
            b.recipients, sum(c.get(s, 0) for s in _QUEUED), sum(c.get(s, 0) for s in _SENT),
            sum(c.get(s, 0) for s in _FAILED), b.skipped_opted_out,
        ))
    return rows
