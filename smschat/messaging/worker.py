"""The send loop: claim queued messages, send them through the gateway, record the outcome."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import uuid

from sqlalchemy import select

from smschat.automation import runner as automation
from smschat.clock import SYSTEM, Clock
from smschat.config import get_settings
from smschat.db import session_scope
from smschat.gateways import Gateway, OutgoingSms, SendResult, get_gateway
from smschat.messaging import outbox, ratelimit
from smschat.models import Message, Project, Status
from smschat.people.number_facts import blocked_reason

log = logging.getLogger("smschat.worker")


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def run_once(gateway: Gateway, *, wid: str | None = None, batch_size: int | None = None, url: str | None = None,
             clock: Clock = SYSTEM) -> int:
    """One round: expire dead claims, apply early delivery reports, fire due automated
    messages, claim a batch, send it. Every "now" and every wait comes from `clock`.
    Returns how many were sent or failed."""
    settings = get_settings()
    wid = wid or worker_id()
    with session_scope(url) as session:
        outbox.expire_leases(session, now=clock.now())
        outbox.apply_early_reports(session, now=clock.now())
    automation.run_round(url, clock=clock)  # due reminders and broadcasts, survey timeouts, delays
    with session_scope(url) as session:
        ids = outbox.claim_batch(
            session, wid, limit=batch_size or settings.worker_batch_size, lease_seconds=settings.send_lease_seconds,
            now=clock.now(),
        )
    done: tuple[int, SendResult] | None = None
    for message_id in ids:
        done = _send_one(gateway, wid, message_id, url, done, clock)
    if done is not None:
        with session_scope(url) as session:
            _record(session, gateway, done, clock)
    return len(ids)


def _record(session, gateway: Gateway, done: tuple[int, SendResult], clock: Clock) -> None:
    outbox.record_send_result(session, done[0], done[1], now=clock.now()).gateway = gateway.name


def _send_one(gateway: Gateway, wid: str, message_id: int, url: str | None,
              previous: tuple[int, SendResult] | None, clock: Clock) -> tuple[int, SendResult] | None:
    """Send one claimed message; returns its result, to be recorded in the next transaction.

    The previous message's result is recorded in the same transaction that marks this one's
    hand-over: one commit per message (each commit is a disk flush on PostgreSQL).
    """
    start = None
    with session_scope(url) as session:
        if previous is not None:
            _record(session, gateway, previous, clock)
        row = session.execute(
            select(Message, Project).join(Project, Project.id == Message.project_id)
            .where(Message.id == message_id, Message.claimed_by == wid, Message.status == Status.SENDING.value)
        ).one_or_none()
        if row is None:
            return None  # our claim expired meanwhile; another round owns it now
        message, project = row
        sms = OutgoingSms(message_id=message.id, to=message.phone_number, body=message.body,
                          sender=(project.sender_numbers or [None])[0])
        if (blocked := blocked_reason(session, project.id, message.phone_number)) is not None:
            # It opted out (or a carrier error marked it) after the message was queued: never send, say why.
            return message_id, SendResult.failure(blocked.code, blocked.text, retryable=False)
        if gateway.rate_limited and project.rate_limit > 0:
            sender = gateway.sender_key(sms)
            free = ratelimit.next_free(session, sender, now=clock.now())
            if (free - clock.now()).total_seconds() > MAX_RATE_WAIT_SECONDS:
                # Its sender is busy for a while: back to the queue until then, so this worker
                # sends other senders' messages meanwhile instead of sleeping.
                outbox.release(session, message_id, wid, not_before=free)
                return None
            start = ratelimit.reserve(session, sender, message.segments, project.rate_limit, now=clock.now())
        else:
            # Mark the hand-over: from here on a crash leaves `unknown`, never a silent re-send.
            outbox.renew_lease(session, message_id, wid, start=True, now=clock.now())
    if start is not None:
        wait = (start - clock.now()).total_seconds()
        if wait > 0:
            clock.sleep(wait)
        with session_scope(url) as session:
            if not outbox.renew_lease(session, message_id, wid, start=True, now=clock.now()):
                return None  # the wait outlived the claim: it is back in the queue, untouched
    try:
        result = gateway.send(sms)
    except Exception as exc:  # a gateway bug must not lose the message
        log.exception("gateway %s raised for message %s", gateway.name, message_id)
        result = SendResult.failure(None, f"{type(exc).__name__}: {exc}", retryable=True)
    return message_id, result


# A send whose sender slot is further off than this goes back to the queue until then.
MAX_RATE_WAIT_SECONDS = 0.5


def run_forever(gateway: Gateway | None = None, *, stop: threading.Event | None = None, url: str | None = None,
                clock: Clock = SYSTEM) -> None:
    settings = get_settings()
    gateway = gateway or get_gateway(settings)
    stop = stop or threading.Event()
    wid = worker_id()
    log.info("worker %s started (gateway: %s)", wid, gateway.name)
    failures = 0
    while not stop.is_set():
        try:
            done = run_once(gateway, wid=wid, url=url, clock=clock)
            failures = 0
        except Exception:
            # The database is away: back off and try again; claimed rows expire into `unknown`.
            failures += 1
            log.exception("worker round failed (%d in a row)", failures)
            clock.sleep(min(30.0, settings.worker_poll_seconds * 2**failures), stop)
            continue
        if not done:
            clock.sleep(idle_seconds(settings.worker_poll_seconds, url, clock), stop)


def idle_seconds(poll: float, url: str | None = None, clock: Clock = SYSTEM) -> float:
    """Sleep a poll interval, or less when a queued message falls due sooner (a sender slot
    freeing up, a backoff ending): a rate-limited sender is never left idle for a poll."""
    try:
        with session_scope(url, readonly=True) as session:
            due = outbox.next_due_at(session)
    except Exception:  # noqa: BLE001 - the next round reports database trouble
        return poll
    if due is None:
        return poll
    return min(poll, max(0.01, (due - clock.now()).total_seconds()))


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    run_forever(stop=stop)
