"""Stuck messages: every outgoing message that did not get through, or has waited too long.

Listed: `failed`, `undelivered` and `unknown` messages, and `queued` / `sending` ones older than
SMSCHAT_STUCK_AFTER_MINUTES (15) -- not counting a message that waits on purpose for its time
(send later, quiet hours). Each row says why in plain words and what to do, and whether Retry is
safe: a failure whose cause may pass (a gateway error, a handset that was off) and a queued
message that waits too long are retried in bulk; a number that is invalid, a landline or opted
out is not retried at all; an `unknown` one may already have reached the phone, so it is
retried only one at a time, after a person confirms "Retry may send it twice".

`expired` messages (past their deadline, smschat.messaging.deadlines) are listed too, with
*Send anyway* (queued again now, with no deadline) and *Cancel* (it stays unsent and leaves the
list); both are audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, literal_column, or_, select, text
from sqlalchemy.orm import Session

from smschat.accounts import audit
from smschat.accounts.access import Action, require
from smschat.accounts.actor import Actor
from smschat.automation.delay import EXPIRED_CODE, HELD_REASON
from smschat.chat.timefmt import format_timestamp
from smschat.config import get_settings
from smschat.messaging import deadlines, outbox
from smschat.models import UNDELIVERED, Contact, Direction, Message, Project, Status, WebUser, utcnow

RETRIED = "messages_retried"
SENT_ANYWAY = "expired_sent_anyway"
CANCELLED = "expired_cancelled"
TWICE = "Retry may send it twice"
LIMIT = 500

# Causes by error code: (reason in plain words, what to do, safe to retry).
_FACTS = {
    "21610": ("The contact replied STOP.", "Nothing can be sent until they reply START.", False),
    "21211": ("The phone number is not valid.", "Correct the contact's number, then send the message again.", False),
    "21614": ("The number is not a mobile number.", "Add a mobile number for the contact.", False),
    "30006": ("The number is a landline or its carrier cannot receive SMS.", "Add a mobile number for the contact.",
              False),
    "30005": ("The number does not exist at the carrier.", "Check the number with the contact.", False),
    "30004": ("The carrier or the contact blocked the message.", "Reach the contact another way.", False),
    "30007": ("The carrier filtered the message (it may look like spam).", "Reword it and send it again.", False),
    "21408": ("Sending to this country is not enabled for the account.", "Enable the region at the gateway, then "
              "retry.", False),
    "30003": ("The phone was off or out of reach.", "Retry later.", True),
    "30008": ("The carrier reported an unknown error.", "Retry.", True),
    "30001": ("The gateway's queue was full.", "Retry.", True),
}
EXPIRED_TODO = "Send anyway sends it now (with no deadline); Cancel leaves it unsent."


@dataclass(frozen=True)
class StuckRow:
    id: int
    contact_id: int | None
    contact_name: str
    phone_number: str
    body: str
    status: str
    error: str  # the gateway's own words, if any
    since: datetime
    age: str  # "2 h 13 min"
    timestamp: str
    reason: str
    what_to_do: str
    retry: str  # "bulk" (safe), "confirm" (unknown: one at a time), "" (not retryable)

    @property
    def expired(self) -> bool:
        """Past its deadline: Send anyway or Cancel, never Retry."""
        return self.status == Status.EXPIRED.value


def age_words(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {mins} min" if hours else f"{mins} min"


def _stuck_queries(project_id: int, now: datetime, *columns, dialect: str = "postgresql"):
    """Two selects: what did not get through (a partial index, the same words as its predicate),
    and what waits too long (the outbox index, by status). Millions of delivered and received
    messages are never read."""
    cutoff = now - timedelta(minutes=get_settings().stuck_after_minutes)
    mine = (Message.project_id == project_id, Message.direction == Direction.OUT.value)
    overdue = or_(
        and_(Message.status == Status.QUEUED.value, func.coalesce(Message.not_before, Message.created_at) < cutoff),
        and_(Message.status == Status.SENDING.value, func.coalesce(Message.status_at, Message.created_at) < cutoff),
    )
    pending = Message.status.in_(outbox.PENDING)
    if dialect == "sqlite":  # its statistics see 3 statuses, not how few rows are pending: say so
        pending = func.likelihood(pending, literal_column("0.001"))
    # A cancelled expired message is settled: no longer stuck.
    settled = and_(Message.status == Status.EXPIRED.value,
                   func.coalesce(Message.error_code, "") == deadlines.CANCELLED_CODE)
    # `project_id + 0`: read the few pending rows by status, not the whole project by project id.
    return (select(*columns).where(text(UNDELIVERED), *mine, ~settled),
            select(*columns).where(pending, overdue, Message.project_id + 0 == project_id,
                                   Message.direction == Direction.OUT.value))


def explain(message: Message, now: datetime) -> tuple[str, str, str]:
    """(reason, what to do, retry: bulk | confirm | "") for one stuck message."""
    waited = age_words(now - (message.not_before or message.created_at))
    if message.status == Status.UNKNOWN.value:
        return ("A worker handed it to the gateway and stopped before recording the answer: it may have been sent.",
                "Ask the contact or look in the gateway's log; Retry only if it did not arrive.", "confirm")
    if message.status == Status.SENDING.value:
        return (f"A worker took it {waited} ago and has not answered.",
                "Nothing yet: when the worker's claim runs out it goes back to the queue, or becomes unknown "
                "if it reached the gateway.", "")
    if message.status == Status.QUEUED.value:
        if message.error_message == HELD_REASON:
            return (f"Held by Delay Automated SMS for {waited}: the contact is in a conversation.",
                    "Nothing: it goes once the conversation is quiet.", "")
        if message.error_code or (message.error_message and message.attempts):
            return (f"The gateway did not take it; tried {message.attempts} times in {waited}.",
                    "Check the gateway (credentials, outage); Retry tries again at once.", "bulk")
        return (f"Waiting in the outbox for {waited}.", "Check that the worker is running (smschat up or "
                "smschat worker); Retry puts it first in line.", "bulk")
    code = message.error_code or ""
    if message.status == Status.EXPIRED.value:
        if code == EXPIRED_CODE:
            return ("It waited more than 7 days for a conversation to end (Delay Automated SMS).", EXPIRED_TODO, "")
        late = (message.error_message or "").removeprefix("not sent: ") or "too late"
        return (f"Past its deadline: {late}, so it was not sent.", EXPIRED_TODO, "")
    if code in _FACTS:
        reason, todo, safe = _FACTS[code]
        return reason, todo, "bulk" if safe else ""
    if message.status == Status.UNDELIVERED.value:
        return ("The carrier could not deliver it.", "Retry later; if it fails again, check the number.", "bulk")
    return ("The gateway refused it or could not be reached" + (" after every retry." if message.attempts > 1 else "."),
            "Retry once the gateway works again.", "bulk")


def _row(message: Message, contact: Contact | None, tz: str, now: datetime) -> StuckRow:
    reason, todo, retry = explain(message, now)
    error = " ".join(p for p in (message.error_code and f"[{message.error_code}]", message.error_message) if p)
    since = message.not_before or message.created_at
    return StuckRow(
        id=message.id, contact_id=message.contact_id, contact_name=contact.name if contact else "(unknown sender)",
        phone_number=message.phone_number, body=message.body, status=message.status, error=error, since=since,
        age=age_words(now - since), timestamp=format_timestamp(message.created_at, tz), reason=reason,
        what_to_do=todo, retry=retry,
    )


def stuck_messages(session: Session, actor: Actor, project_id: int, *, now: datetime | None = None,
                   limit: int = LIMIT) -> list[StuckRow]:
    """The project's stuck outgoing messages, oldest first (at most `limit`)."""
    require(session, actor, project_id, Action.RETRY_STUCK)
    now = now or utcnow()
    tz = session.get(Project, project_id).time_zone
    limit = max(1, min(limit, 5000))
    found = []
    for query in _stuck_queries(project_id, now, Message, Contact, dialect=session.bind.dialect.name):
        found += session.execute(query.outerjoin(Contact, Contact.id == Message.contact_id)
                                 .order_by(Message.id).limit(limit)).all()
    found.sort(key=lambda row: row[0].id)
    return [_row(m, c, tz, now) for m, c in found[:limit]]


def stuck_count(session: Session, actor: Actor, project_id: int, *, now: datetime | None = None) -> int:
    """How many messages the Stuck messages page lists (the Contacts page links to it)."""
    require(session, actor, project_id, Action.RETRY_STUCK)
    return sum(int(session.scalar(query) or 0)
               for query in _stuck_queries(project_id, now or utcnow(), func.count(Message.id),
                                           dialect=session.bind.dialect.name))


@dataclass(frozen=True)
class RetryOutcome:
    retried: list[int]
    skipped: list[int]  # not stuck any more, not safe in bulk, or not this project's

    @property
    def words(self) -> str:
        text = f"Retried {len(self.retried)} message{'s' if len(self.retried) != 1 else ''}."
        if self.skipped:
            text += f" {len(self.skipped)} left as they are (not safe to retry in bulk, or no longer stuck)."
        return text


def _requeue(session: Session, message: Message, now: datetime) -> None:
    if message.status == Status.QUEUED.value:  # waiting too long: due now, tries counted afresh
        message.next_attempt_at = None
        message.attempts = 0
        message.status_at = now
    else:
        outbox.retry(session, message.project_id, message.id, now=now)
    session.flush()


def _record(session: Session, actor: Actor, project_id: int, ids: list[int], now: datetime, **detail) -> None:
    user = session.get(WebUser, actor.user_id) if actor.user_id is not None else None
    audit.record(session, RETRIED, user_id=actor.user_id, username=user.username if user else None,
                 project_id=project_id, detail={"message_ids": ids, **detail}, at=now)


def retry_stuck(session: Session, actor: Actor, project_id: int, message_ids: list[int | str], *,
                confirmed: list[int | str] = (), now: datetime | None = None) -> RetryOutcome:
    """Retry: of the given messages, those stuck and safe to retry, and the `unknown` ones among
    `confirmed` (a person said, one message at a time, that it did not reach the phone). Every
    other id -- unsafe, no longer stuck, another project's -- is left as it is."""
    require(session, actor, project_id, Action.RETRY_STUCK)
    now = now or utcnow()
    ids = _ids(message_ids)
    sure = set(_ids(confirmed))
    found = {
        m.id: m for query in _stuck_queries(project_id, now, Message, dialect=session.bind.dialect.name) if ids
        for m in session.scalars(query.where(Message.id.in_(ids)).with_for_update())
    }
    retried = []
    for mid in ids:
        message = found.get(mid)
        if message is None:
            continue
        retry = explain(message, now)[2]
        if retry == "bulk" or (retry == "confirm" and mid in sure):
            _requeue(session, message, now)
            retried.append(mid)
    if retried:
        _record(session, actor, project_id, retried, now, confirmed_unknown=sorted(sure & set(retried)))
    return RetryOutcome(retried, [i for i in ids if i not in retried])


def _ids(values) -> list[int]:
    return sorted({int(v) for v in values if str(v).strip().isdigit()})


@dataclass(frozen=True)
class ExpiredOutcome:
    done: list[int]
    skipped: list[int]  # not expired (any more), or not this project's
    verb: str

    @property
    def words(self) -> str:
        text = f"{self.verb} {len(self.done)} message{'s' if len(self.done) != 1 else ''}."
        if self.skipped:
            text += f" {len(self.skipped)} left as they are (no longer expired)."
        return text


def _expired(session: Session, project_id: int, ids: list[int], now: datetime) -> dict[int, Message]:
    listed = _stuck_queries(project_id, now, Message, dialect=session.bind.dialect.name)[0]
    return {m.id: m for m in session.scalars(
        listed.where(Message.id.in_(ids), Message.status == Status.EXPIRED.value).with_for_update()
        .execution_options(populate_existing=True))} if ids else {}


def send_anyway(session: Session, actor: Actor, project_id: int, message_ids: list[int | str], *,
                now: datetime | None = None) -> ExpiredOutcome:
    """Send anyway: the given expired messages go back in the queue now, with no deadline (a
    person decided they are still worth sending). Audited; any other id is left as it is."""
    require(session, actor, project_id, Action.RETRY_STUCK)
    now = now or utcnow()
    ids = _ids(message_ids)
    found = _expired(session, project_id, ids, now)
    for message in found.values():
        message.status = Status.QUEUED.value
        message.status_at = message.not_before = message.due_at = now
        message.expires_at = message.next_attempt_at = None
        message.attempts = 0
        message.error_code = message.error_message = None
        message.claimed_by = message.lease_expires_at = message.send_started_at = None
    done = sorted(found)
    if done:
        session.flush()
        _audit_expired(session, actor, project_id, SENT_ANYWAY, done, now)
    return ExpiredOutcome(done, [i for i in ids if i not in found], "Queued again")


def cancel_expired(session: Session, actor: Actor, project_id: int, message_ids: list[int | str], *,
                   now: datetime | None = None) -> ExpiredOutcome:
    """Cancel: the given expired messages stay unsent for good and leave Stuck messages (the
    chat and the log still show them, expired). Audited; any other id is left as it is."""
    require(session, actor, project_id, Action.RETRY_STUCK)
    now = now or utcnow()
    ids = _ids(message_ids)
    found = _expired(session, project_id, ids, now)
    for message in found.values():
        message.error_code = deadlines.CANCELLED_CODE
        message.status_at = now
    done = sorted(found)
    if done:
        session.flush()
        _audit_expired(session, actor, project_id, CANCELLED, done, now)
    return ExpiredOutcome(done, [i for i in ids if i not in found], "Cancelled")


def _audit_expired(session: Session, actor: Actor, project_id: int, action: str, ids: list[int],
                   now: datetime) -> None:
    user = session.get(WebUser, actor.user_id) if actor.user_id is not None else None
    audit.record(session, action, user_id=actor.user_id, username=user.username if user else None,
                 project_id=project_id, detail={"message_ids": ids}, at=now)
