"""The outbox lives on `Message`: queued -> sending -> sent -> delivered, or failed/undelivered.

A status only moves forward; a late or repeated callback never moves it back.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Float, and_, delete, exists, func, literal, literal_column, select, tuple_, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from smschat.chat import inbox
from smschat.config import get_settings
from smschat.errors import MessageNotFound, NumberBlocked, OptedOut, ValidationError
from smschat.gateways.base import Lookup, SendResult
from smschat.messaging import deadlines
from smschat.messaging.segments import count_segments, validate_body
from smschat.models import (
    ChatSettings,
    Contact,
    Direction,
    Message,
    PhoneNumber,
    Project,
    Status,
    StatusReport,
    Workflow,
    utcnow,
)
from smschat.people.contacts import note_message, primary_phone
from smschat.people.number_facts import OPTED_OUT, blocked_reason, note_error
from smschat.text import clean, clean_optional

STATUS_RANK = {
    Status.QUEUED.value: 0,
    Status.SENDING.value: 1,
    Status.UNKNOWN.value: 1,
    Status.SENT.value: 2,
    Status.DELIVERED.value: 3,
    Status.UNDELIVERED.value: 3,
    Status.FAILED.value: 3,
    # Final: nothing a gateway says moves it (only a person's Send anyway queues it again).
    Status.EXPIRED.value: 4,
}
# Gateway words that mean one of ours.
STATUS_ALIASES = {
    "accepted": "queued",
    "scheduled": "queued",
    "read": "delivered",
    "canceled": "failed",
    "partially_delivered": "sent",
    "expired": "undelivered",  # a carrier's validity period ran out: not our `expired`
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
    meant_for: datetime | None = None,
) -> Message:
    """Put one outgoing message in the outbox. The worker sends it.

    Without a contact (a reply to an unknown sender), `phone_number` says where it goes.
    Its deadline (smschat.messaging.deadlines) counts from `meant_for` (a reminder's slot, a
    broadcast's time), else from `created_at`.
    """
    if contact is not None and contact.project_id != project.id:
        raise ValidationError("That contact is not in this project.")
    body = validate_body(body)
    phone = None
    if phone_number is None:
        phone = primary_phone(session, contact) if contact is not None else None
        if phone is None:
            raise ValidationError(f"{contact.name if contact else 'This contact'} has no phone number.")
        phone_number = phone.e164
    blocked = blocked_reason(session, project.id, phone_number)
    if blocked is not None and blocked.fact == OPTED_OUT:
        raise OptedOut(f"Not sent: {phone_number} has opted out (replied STOP); nothing can be sent to it "
                       "until it replies START.")
    if blocked is not None:
        raise NumberBlocked(f"{blocked.text} Nothing is sent to {phone_number} until staff allow it again in the chat.")
    info = count_segments(body)
    # The sender is chosen now (sticky per number) so a worker claims each sender's messages
    # as it has room for them; the claim chooses again in case the project's numbers changed.
    if phone is not None:
        sender = _sticky_sender(list(project.sender_numbers or []), phone_number, phone)
    else:
        sender = choose_senders(session, project, [phone_number])[phone_number]
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
        sender=sender,
        created_at=created_at or utcnow(),
    )
    deadlines.place(message, session.get(ChatSettings, project.id), meant_for or message.created_at)
    session.add(message)
    session.flush()
    note_message(session, message)
    inbox.track(session, message)
    return message


@dataclass(frozen=True)
class Quota:
    """How many due messages from some sender numbers one claim may take.

    `numbers` None: every message whose sender is in no other quota (or not chosen yet).
    `pace`: seconds of the sender's time per message, `ahead`: seconds of it the worker already
    holds; a claim takes first the messages that could leave soonest, so one sender's backlog
    never crowds another sender out of the batch."""

    numbers: frozenset[str] | None
    limit: int
    pace: float = 0.0
    ahead: float = 0.0


def claim_batch(session: Session, worker_id: str, *, limit: int = 50, lease_seconds: int = 120,
                now: datetime | None = None, quotas: list[Quota] | None = None, strays: bool = True) -> list[int]:
    """Claim due queued messages for one worker; the caller commits at once.

    Without `quotas`, the oldest due messages (one quota for all); with them, at most each
    quota's limit of its senders' messages (limit 0: a sender this worker cannot send from any
    sooner, its messages stay queued for whoever can); `strays`: also messages whose sender
    number is in no quota (the project's numbers changed after they were queued), which reads
    every queued row.

    PostgreSQL: `FOR UPDATE SKIP LOCKED`, so concurrent workers never claim the same row.
    SQLite: the session's transaction began IMMEDIATE, so claims are serialized.
    Only the oldest pending message per number is claimable: first in, first out per contact.
    """
    now = now or utcnow()
    earlier = aliased(Message)
    due = (
        # Written out, not bound: the planners use the partial index of queued rows only for
        # a condition they can see (SQLite never, PostgreSQL not in a reused generic plan).
        Message.status == literal_column(f"'{Status.QUEUED.value}'"),
        Message.direction == literal_column(f"'{Direction.OUT.value}'"),
        (Message.next_attempt_at.is_(None)) | (Message.next_attempt_at <= now),
        (Message.not_before.is_(None)) | (Message.not_before <= now),
        # Past its deadline: never handed over; the sweep ends it `expired` (deadlines.py).
        (Message.expires_at.is_(None)) | (Message.expires_at > now),
        ~exists().where(
            and_(
                earlier.project_id == Message.project_id,
                earlier.phone_number == Message.phone_number,
                earlier.direction == Direction.OUT.value,
                earlier.id < Message.id,
                earlier.status.in_(PENDING),
                # One waiting for its time (send later, quiet hours) holds nobody back.
                (earlier.not_before.is_(None)) | (earlier.not_before <= now),
                # Nor a queued one past its deadline, that is never sent (one claimed in time
                # and in flight still holds the next back).
                (earlier.status != Status.QUEUED.value) | earlier.expires_at.is_(None) | (earlier.expires_at > now),
            )
        ),
    )
    merged = _by_quota(due, quotas if quotas is not None else [Quota(None, limit)], limit, strays)
    picked = list(session.scalars(merged)) if merged is not None else []
    if not picked:
        return []
    # Locked by primary key, skipping what another worker took meanwhile.
    ids = list(session.scalars(
        select(Message.id).where(Message.id.in_(picked), Message.status == Status.QUEUED.value)
        .with_for_update(skip_locked=True)))
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


def _by_quota(due, quotas: list[Quota], limit: int, strays: bool):
    """The ids to claim: each quota's oldest due messages (an index range each), merged in the
    order they could leave. The last quota's messages with a sender in no quota are looked
    for only with `strays` (that one query reads every queued row)."""
    known = sorted({n for q in quotas if q.numbers for n in q.numbers})
    parts = []
    for quota in quotas:
        if quota.limit <= 0:
            continue
        if quota.numbers is not None:
            mine = [Message.sender.in_(sorted(quota.numbers))]
        else:
            mine = [Message.sender.is_(None)]
            if strays and known:
                mine = [Message.sender.is_(None) | Message.sender.notin_(known)]
            elif strays:
                mine = []
        oldest = select(Message.id).where(*due, *mine).order_by(Message.id).limit(quota.limit).subquery()
        leaves = literal(quota.ahead, Float) + literal(quota.pace, Float) * func.row_number().over(
            order_by=oldest.c.id)
        parts.append(select(oldest.c.id.label("id"), leaves.label("leaves")))
    if not parts:
        return None
    merged = union_all(*parts).subquery()
    return select(merged.c.id).order_by(merged.c.leaves, merged.c.id).limit(limit)


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


def release(session: Session, message_ids: list[int], worker_id: str, *, not_before: datetime) -> int:
    """Give claimed messages back to the queue, untouched, to be tried from `not_before` on
    (when their sender is free again): the worker goes on with other senders' messages instead
    of waiting. The claim's attempt is not counted. Returns how many went back."""
    if not message_ids:
        return 0
    result = session.execute(
        update(Message)
        .where(Message.id.in_(message_ids), Message.claimed_by == worker_id, Message.status == Status.SENDING.value,
               Message.send_started_at.is_(None))
        .values(status=Status.QUEUED.value, claimed_by=None, lease_expires_at=None, next_attempt_at=not_before,
                attempts=Message.attempts - 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def record_send_results(session: Session, results: list[tuple[int, SendResult]], *, now: datetime | None = None,
                        gateway: str | None = None) -> None:
    """Write what the gateway said about many claimed messages: read (and locked) in one query,
    each then recorded by record_send_result."""
    if not results:
        return
    now = now or utcnow()
    loaded = {m.id: m for m in session.scalars(
        select(Message).where(Message.id.in_([i for i, _ in results])).with_for_update()
        .execution_options(populate_existing=True)
    )}
    for message_id, result in results:
        message = record_send_result(session, message_id, result, now=now, message=loaded.get(message_id),
                                     flush=False)
        if gateway is not None:
            message.gateway = gateway
    session.flush()  # one flush: the updates go out together


def record_send_result(session: Session, message_id: int, result: SendResult, *, now: datetime | None = None,
                       message: Message | None = None, flush: bool = True) -> Message:
    """Write what the gateway said about one claimed message (`message`: already loaded and
    locked by the caller, who then flushes)."""
    now = now or utcnow()
    if message is None:
        message = session.get(Message, message_id, with_for_update=True, populate_existing=True)
    if message is None:
        raise MessageNotFound(f"No message {message_id}.")
    message.claimed_by = None
    message.lease_expires_at = None
    if result.ok:
        message.gateway_message_id = result.gateway_message_id or message.gateway_message_id
        # When the request left: the rate limit is kept (and can be checked) on these times.
        message.sent_at = result.departed_at or now
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
    elif result.lost:
        # It may have reached the gateway: never re-sent by itself; the worker looks it up.
        message.status = Status.UNKNOWN.value
        message.status_at = now
        message.error_code = result.error_code
        message.error_message = result.error_message
        message.next_attempt_at = now
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
        note_error(session, message, result.error_code, at=now)
    if flush:
        session.flush()
    return message


ERROR_CODE_CHARS = Message.__table__.c.error_code.type.length
GATEWAY_ID_CHARS = Message.__table__.c.gateway_message_id.type.length


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
    recorded yet: then the report is kept and applied once the worker records the id. Every
    field is untrusted text from a webhook (smschat.text.clean)."""
    gateway_message_id, error_code, error_message = (clean_optional(v) for v in
                                                     (gateway_message_id, error_code, error_message))
    new = normalize_status(clean(status or ""))
    if error_code is not None:
        error_code = error_code[:ERROR_CODE_CHARS]
    if not gateway_message_id or len(gateway_message_id) > GATEWAY_ID_CHARS:
        raise ValidationError(f"A gateway message id has 1 to {GATEWAY_ID_CHARS} characters.")
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
    note_error(session, message, error_code, at=now)
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
        note_error(session, message, report.error_code, at=report.received_at)
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


def retry(session: Session, project_id: int, message_id: int, *, now: datetime | None = None) -> Message:
    """Put a failed, undelivered or unknown message back in the queue (a person's decision)."""
    message = session.get(Message, message_id)
    if message is None or message.project_id != project_id:
        raise MessageNotFound("No such message in this project.")
    if message.direction != Direction.OUT.value or message.status not in RETRYABLE_STATES:
        raise ValidationError("Only failed, undelivered or unknown outgoing messages can be retried.")
    message.status = Status.QUEUED.value
    message.status_at = now or utcnow()
    # Its wait starts again now: Stuck messages counts a queued message's age from here.
    message.not_before = message.status_at
    message.next_attempt_at = None
    # A person's decision to send it now: no deadline (it would count from the first try).
    message.due_at, message.expires_at = message.status_at, None
    message.attempts = 0
    message.error_code = message.error_message = None
    message.gateway_message_id = None
    message.reconciled_at = None
    session.flush()
    return message


# --- many sends in flight: senders, hand-over, lost answers -----------------------------


def choose_senders(session: Session, project: Project, numbers: list[str]) -> dict[str, str | None]:
    """The project sender number each of `numbers` goes out from. A contact stays on one
    (stored on its phone number, so their replies come back to the same thread); a new one is
    spread over the project's numbers by a hash of the number."""
    senders = list(project.sender_numbers or [])
    if not senders:
        return dict.fromkeys(numbers)
    phones = session.scalars(
        # Pairs, not `e164 IN`: see number_facts.blocked_numbers.
        select(PhoneNumber).where(tuple_(PhoneNumber.project_id, PhoneNumber.e164).in_([(project.id, n) for n in numbers]))
    ).all()
    stored = {p.e164: p for p in phones}
    chosen = {number: _sticky_sender(senders, number, stored.get(number)) for number in numbers}
    session.flush()
    return chosen


def _sticky_sender(senders: list[str], number: str, phone: PhoneNumber | None) -> str | None:
    """The number's stored sender while it is still one of the project's; else one by a hash
    of the number, remembered on the phone number (saved with the caller's next flush)."""
    if not senders:
        return None
    if phone is not None and phone.sender in senders:
        return phone.sender
    chosen = senders[zlib.crc32(number.encode()) % len(senders)]
    if phone is not None:
        phone.sender = chosen
    return chosen


def hand_over(session: Session, handed: dict[int, str], worker_id: str, *, now: datetime | None = None) -> set[int]:
    """Mark claimed messages as handed to the gateway, each with the sender it leaves from:
    from here on a crash leaves `unknown`, never a silent re-send. Returns those still ours."""
    now = now or utcnow()
    if not handed:
        return set()
    ours = set(session.scalars(
        select(Message.id).where(Message.id.in_(list(handed)), Message.claimed_by == worker_id,
                                 Message.status == Status.SENDING.value)
    ))
    lease = now + timedelta(seconds=get_settings().send_lease_seconds)
    for sender in set(handed[i] for i in ours):
        session.execute(
            update(Message)
            .where(Message.id.in_([i for i in ours if handed[i] == sender]))
            .values(send_started_at=now, sender=sender, lease_expires_at=lease)
            .execution_options(synchronize_session=False)
        )
    return ours


def lost_sends(session: Session, *, now: datetime | None = None, limit: int = 50) -> list[Message]:
    """`unknown` sends due for a look-up in the gateway's records."""
    now = now or utcnow()
    return list(session.scalars(
        select(Message)
        .where(Message.status == Status.UNKNOWN.value, Message.direction == Direction.OUT.value,
               Message.reconciled_at.is_(None), Message.sender.is_not(None), Message.send_started_at.is_not(None),
               (Message.next_attempt_at.is_(None)) | (Message.next_attempt_at <= now))
        .order_by(Message.id)
        .limit(limit)
    ))


def known_gateway_ids(session: Session, message: Message) -> set[str]:
    """The gateway ids our other messages to that number already hold since its hand-over
    day: a record among them is not this send."""
    day = message.send_started_at.replace(hour=0, minute=0, second=0, microsecond=0)
    return set(session.scalars(
        select(Message.gateway_message_id)
        .where(Message.project_id == message.project_id, Message.phone_number == message.phone_number,
               Message.direction == Direction.OUT.value, Message.gateway_message_id.is_not(None),
               Message.created_at >= day - timedelta(days=1))
    ))


def settle_lost(session: Session, message_id: int, lookup: Lookup, *, no_record_text: str,
                now: datetime | None = None) -> Message | None:
    """Apply the gateway's look-up of an `unknown` send: found, it was sent exactly once (its id
    and status recorded); not found for the grace period, it was never created and the chat
    says Retry is safe; the look-up failed or is too early: asked again later."""
    now = now or utcnow()
    settings = get_settings()
    message = session.get(Message, message_id, with_for_update=True, populate_existing=True)
    if message is None or message.status != Status.UNKNOWN.value or message.reconciled_at is not None:
        return None  # retried or settled meanwhile
    found = lookup.found
    if found is not None and found.gateway_message_id:
        taken = session.scalar(select(Message.id).where(Message.gateway_message_id == found.gateway_message_id))
        if taken is None:
            message.gateway_message_id = found.gateway_message_id
            message.sent_at = message.send_started_at
            if found.segments:
                message.segments = found.segments
            new = normalize_status(found.status)
            message.status = new if STATUS_RANK[new] >= STATUS_RANK[Status.SENT.value] else Status.SENT.value
            message.status_at = now
            message.error_code = message.error_message = None
            message.reconciled_at = now
            session.flush()
            return message
    if lookup.error is None and now - message.send_started_at >= timedelta(seconds=settings.reconcile_grace_seconds):
        message.error_code = None
        message.error_message = no_record_text
        message.reconciled_at = now
    else:
        message.next_attempt_at = now + timedelta(seconds=settings.reconcile_every_seconds)
    session.flush()
    return message
