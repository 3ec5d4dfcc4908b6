"""The outbox lives on `Message`: queued -> sending -> sent -> delivered, or failed/undelivered.

A status only moves forward; a late or repeated callback never moves it back.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from smschat.chat import inbox
from smschat.config import get_settings
from smschat.errors import MessageNotFound, OptedOut, ValidationError
from smschat.gateways.base import SendResult
from smschat.messaging.segments import count_segments, validate_body
from smschat.models import (
    Contact,
    Direction,
    Message,
    Project,
    Status,
    StatusReport,
    Workflow,
    utcnow,
)
from smschat.people.contacts import is_opted_out, note_message, primary_phone

STATUS_RANK = {
    Status.QUEUED.value: 0,
    Status.SENDING.value: 1,
    Status.UNKNOWN.value: 1,
    Status.SENT.value: 2,
    Status.DELIVERED.value: 3,
    Status.UNDELIVERED.value: 3,
    Status.FAILED.value: 3,
}
# Gateway words that mean one of ours.
STATUS_ALIASES = {
    "accepted": "queued",
    "scheduled": "queued",
    "read": "delivered",
    "canceled": "failed",
    "partially_delivered": "sent",
}
PENDING = (Status.QUEUED.value, Status.SENDING.value)
RETRYABLE_STATES = (Status.FAILED.value, Status.UNDELIVERED.value, Status.UNKNOWN.value)


def normalize_status(status: str) -> str:
    s = (status or "").strip().lower()
    s = STATUS_ALIASES.get(s, s)
    if s not in STATUS_RANK:
        raise ValidationError(f"Unknown message status {status!r}.")
    return s


def enqueue(
    session: Session,
    project: Project,
    contact: Contact | None,
    body: str,
    *,
    workflow: str | Workflow,
    sent_by_id: int | None = None,
    phone_number: str | None = None,
    created_at: datetime | None = None,
) -> Message:
    """Put one outgoing message in the outbox. The worker sends it.

    Without a contact (a reply to an unknown sender), `phone_number` says where it goes.
    """
    if contact is not None and contact.project_id != project.id:
        raise ValidationError("That contact is not in this project.")
    validate_body(body)
    if phone_number is None:
        phone = primary_phone(session, contact) if contact is not None else None
        if phone is None:
            raise ValidationError(f"{contact.name if contact else 'This contact'} has no phone number.")
        phone_number = phone.e164
    if is_opted_out(session, project.id, phone_number):
        raise OptedOut(f"Not sent: {phone_number} has opted out (replied STOP); nothing can be sent to it "
                       "until it replies START.")
    info = count_segments(body)
    message = Message(
        project_id=project.id,
        contact_id=contact.id if contact is not None else None,
        phone_number=phone_number,
        direction=Direction.OUT.value,
        body=body,
        status=Status.QUEUED.value,
        segments=info.segments,
        encoding=info.encoding,
        workflow=Workflow(workflow).value,
        sent_by_id=sent_by_id,
        created_at=created_at or utcnow(),
    )
    session.add(message)
    session.flush()
    note_message(session, message)
    inbox.track(session, message)
    return message


def claim_batch(session: Session, worker_id: str, *, limit: int = 50, lease_seconds: int = 120, now: datetime | None = None) -> list[int]:
    """Claim due queued messages for one worker; the caller commits at once.

    PostgreSQL: `FOR UPDATE SKIP LOCKED`, so concurrent workers never claim the same row.
    SQLite: the session's transaction began IMMEDIATE, so claims are serialized.
    Only the oldest pending message per number is claimable: first in, first out per contact.
    """
    now = now or utcnow()
    earlier = aliased(Message)
    candidates = (
        select(Message.id)
        .where(
            Message.status == Status.QUEUED.value,
            Message.direction == Direction.OUT.value,
            (Message.next_attempt_at.is_(None)) | (Message.next_attempt_at <= now),
            ~exists().where(
                and_(
                    earlier.project_id == Message.project_id,
                    earlier.phone_number == Message.phone_number,
                    earlier.direction == Direction.OUT.value,
                    earlier.id < Message.id,
                    earlier.status.in_(PENDING),
                )
            ),
        )
        .order_by(Message.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = [row[0] for row in session.execute(candidates)]
    if not ids:
        return []
    session.execute(
        update(Message)
        .where(Message.id.in_(ids), Message.status == Status.QUEUED.value)
        .values(
            status=Status.SENDING.value,
            status_at=now,
            claimed_by=worker_id,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            send_started_at=None,
            attempts=Message.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return sorted(ids)


def backoff_seconds(attempts: int) -> float:
    """Exponential: base, 2*base, 4*base ... capped (SMSCHAT_RETRY_BASE_SECONDS / _CAP_SECONDS)."""
    settings = get_settings()
    return min(settings.retry_cap_seconds, settings.retry_base_seconds * 2 ** max(0, attempts - 1))


def renew_lease(session: Session, message_id: int, worker_id: str, *, start: bool = False,
                now: datetime | None = None) -> bool:
    """Still ours? Extend the claim; with `start`, also mark the hand-over to the gateway.

    False if the claim expired meanwhile (the message is back in the queue or `unknown`).
    """
    now = now or utcnow()
    values = {"lease_expires_at": now + timedelta(seconds=get_settings().send_lease_seconds)}
    if start:
        values["send_started_at"] = now
    result = session.execute(
        update(Message)
        .where(Message.id == message_id, Message.claimed_by == worker_id, Message.status == Status.SENDING.value)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


def next_due_at(session: Session) -> datetime | None:
    """When the earliest waiting queued message falls due (served by the outbox index)."""
    return session.scalar(
        select(func.min(Message.next_attempt_at)).where(Message.status == Status.QUEUED.value)
    )


def release(session: Session, message_id: int, worker_id: str, *, not_before: datetime) -> bool:
    """Give a claimed message back to the queue, untouched, to be tried from `not_before` on
    (when its sender is free again): the worker goes on with other senders' messages instead
    of waiting. The claim's attempt is not counted."""
    result = session.execute(
        update(Message)
        .where(Message.id == message_id, Message.claimed_by == worker_id, Message.status == Status.SENDING.value,
               Message.send_started_at.is_(None))
        .values(status=Status.QUEUED.value, claimed_by=None, lease_expires_at=None, next_attempt_at=not_before,
                attempts=Message.attempts - 1)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


def record_send_result(session: Session, message_id: int, result: SendResult, *, now: datetime | None = None) -> Message:
    """Write what the gateway said about one claimed message."""
    now = now or utcnow()
    message = session.get(Message, message_id, with_for_update=True, populate_existing=True)
    if message is None:
        raise MessageNotFound(f"No message {message_id}.")
    message.claimed_by = None
    message.lease_expires_at = None
    if result.ok:
        message.gateway_message_id = result.gateway_message_id or message.gateway_message_id
        message.sent_at = now
        if result.segments:
            message.segments = result.segments
        # Accepted by the gateway counts as sent at least; a racing callback may be ahead.
        new = normalize_status(result.status)
        if STATUS_RANK[new] < STATUS_RANK[Status.SENT.value]:
            new = Status.SENT.value
        if STATUS_RANK[new] > STATUS_RANK.get(message.status, 0):
            message.status = new
            message.status_at = now
        message.error_code = message.error_message = None
    elif result.retryable and message.attempts < get_settings().max_send_attempts:
        message.status = Status.QUEUED.value
        message.next_attempt_at = now + timedelta(seconds=backoff_seconds(message.attempts))
        message.error_code = result.error_code
        message.error_message = result.error_message
    else:
        message.status = Status.FAILED.value
        message.status_at = now
        message.error_code = result.error_code
        message.error_message = result.error_message
    session.flush()
    return message


def apply_status_update(
    session: Session,
    gateway_message_id: str,
    status: str,
    *,
    error_code: str | None = None,
    error_message: str | None = None,
    now: datetime | None = None,
) -> Message | None:
    """Apply a delivery report forward-only. Returns the message, or None if its id is not
    recorded yet: then the report is kept and applied once the worker records the id."""
    new = normalize_status(status)
    message = session.scalar(
        select(Message)
        .where(Message.gateway_message_id == gateway_message_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if message is None:
        _keep_early_report(session, gateway_message_id, new, error_code, error_message, now or utcnow())
        return None
    _apply(message, new, error_code, error_message, now or utcnow())
    session.flush()
    return message


def _apply(message: Message, new: str, error_code: str | None, error_message: str | None, now: datetime) -> None:
    if STATUS_RANK[new] > STATUS_RANK.get(message.status, 0):
        message.status = new
        message.status_at = now
        if new in (Status.FAILED.value, Status.UNDELIVERED.value):
            message.error_code = error_code
            message.error_message = error_message


def _keep_early_report(session: Session, sid: str, status: str, error_code, error_message, now: datetime) -> None:
    report = session.get(StatusReport, sid, with_for_update=True)
    if report is None:
        try:
            with session.begin_nested():
                session.add(StatusReport(gateway_message_id=sid, status=status, error_code=error_code,
                                         error_message=error_message, received_at=now))
            return
        except IntegrityError:  # the same report, delivered twice at once
            report = session.get(StatusReport, sid, with_for_update=True, populate_existing=True)
    if STATUS_RANK[status] > STATUS_RANK[report.status]:
        report.status, report.error_code, report.error_message = status, error_code, error_message
    session.flush()


EARLY_REPORT_DAYS = 7


def apply_early_reports(session: Session, *, now: datetime | None = None) -> int:
    """Apply kept reports whose message id is now recorded; drop week-old strays."""
    now = now or utcnow()
    rows = session.execute(
        select(StatusReport, Message)
        .join(Message, Message.gateway_message_id == StatusReport.gateway_message_id)
        .with_for_update(skip_locked=True)
        .limit(500)
    ).all()
    for report, message in rows:
        _apply(message, report.status, report.error_code, report.error_message, report.received_at)
        session.delete(report)
    session.execute(
        delete(StatusReport).where(StatusReport.received_at < now - timedelta(days=EARLY_REPORT_DAYS))
    )
    session.flush()
    return len(rows)


def expire_leases(session: Session, *, now: datetime | None = None) -> int:
    """Claims whose worker died. Never handed to the gateway: back to the queue. Handed over
    but no answer recorded: the outcome is lost, so `unknown`, never re-sent silently."""
    now = now or utcnow()
    expired = (Message.status == Status.SENDING.value, Message.lease_expires_at < now)
    requeued = session.execute(
        update(Message)
        .where(*expired, Message.send_started_at.is_(None))
        .values(status=Status.QUEUED.value, status_at=now, claimed_by=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount or 0
    lost = session.execute(
        update(Message)
        .where(*expired, Message.send_started_at.is_not(None))
        .values(
            status=Status.UNKNOWN.value,
            status_at=now,
            claimed_by=None,
            lease_expires_at=None,
            error_message="The worker stopped before recording the gateway's answer; check before retrying.",
        )
        .execution_options(synchronize_session=False)
    ).rowcount or 0
    return requeued + lost


def retry(session: Session, project_id: int, message_id: int) -> Message:
    """Put a failed, undelivered or unknown message back in the queue (a person's decision)."""
    message = session.get(Message, message_id)
    if message is None or message.project_id != project_id:
        raise MessageNotFound("No such message in this project.")
    if message.direction != Direction.OUT.value or message.status not in RETRYABLE_STATES:
        raise ValidationError("Only failed, undelivered or unknown outgoing messages can be retried.")
    message.status = Status.QUEUED.value
    message.status_at = utcnow()
    message.next_attempt_at = None
    message.attempts = 0
    message.error_code = message.error_message = None
    message.gateway_message_id = None
    session.flush()
    return message
