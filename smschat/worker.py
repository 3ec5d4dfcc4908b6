"""The send loop: claim queued messages, send them through the gateway, record the outcome."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid

from sqlalchemy import select

from . import automation, outbox, ratelimit
from .config import get_settings
from .db import session_scope
from .gateways import Gateway, OutgoingSms, SendResult, get_gateway
from .models import Message, PhoneNumber, Project, utcnow

log = logging.getLogger("smschat.worker")


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def run_once(gateway: Gateway, *, wid: str | None = None, batch_size: int | None = None, url: str | None = None) -> int:
    """One round: expire dead claims, claim a batch, send it. Returns how many were sent or failed."""
    settings = get_settings()
    wid = wid or worker_id()
    with session_scope(url) as session:
        outbox.expire_leases(session)
    automation.run_round(url)  # issue 7: due reminders/broadcasts, survey timeouts, Delay Automated SMS
    with session_scope(url) as session:
        ids = outbox.claim_batch(
            session, wid, limit=batch_size or settings.worker_batch_size, lease_seconds=settings.send_lease_seconds
        )
    for message_id in ids:
        _send_one(gateway, wid, message_id, url)
    return len(ids)


def _send_one(gateway: Gateway, wid: str, message_id: int, url: str | None) -> None:
    start = None
    with session_scope(url) as session:
        if not outbox.renew_lease(session, message_id, wid):
            return  # our claim expired meanwhile: it is `unknown` now, for a person to retry
        message, project = session.execute(
            select(Message, Project).join(Project, Project.id == Message.project_id).where(Message.id == message_id)
        ).one()
        sms = OutgoingSms(message_id=message.id, to=message.phone_number, body=message.body,
                          sender=(project.sender_numbers or [None])[0])
        if opted_out(session, project.id, message.phone_number):
            # It opted out after the message was queued: never send, say why.
            result = SendResult.failure("21610", "The recipient has opted out (replied STOP)", retryable=False)
            outbox.record_send_result(session, message_id, result).gateway = gateway.name
            return
        if gateway.rate_limited:
            start = ratelimit.reserve(session, gateway.sender_key(sms), message.segments, project.rate_limit)
    if start is not None:
        wait = (start - utcnow()).total_seconds()
        if wait > 0:
            time.sleep(wait)
    try:
        result = gateway.send(sms)
    except Exception as exc:  # a gateway bug must not lose the message
        log.exception("gateway %s raised for message %s", gateway.name, message_id)
        result = SendResult.failure(None, f"{type(exc).__name__}: {exc}", retryable=True)
    with session_scope(url) as session:
        outbox.record_send_result(session, message_id, result).gateway = gateway.name


def opted_out(session, project_id: int, e164: str) -> bool:
    return bool(session.scalar(
        select(PhoneNumber.opted_out).where(PhoneNumber.project_id == project_id, PhoneNumber.e164 == e164)
    ))


def run_forever(gateway: Gateway | None = None, *, stop: threading.Event | None = None, url: str | None = None) -> None:
    settings = get_settings()
    gateway = gateway or get_gateway(settings)
    stop = stop or threading.Event()
    wid = worker_id()
    log.info("worker %s started (gateway: %s)", wid, gateway.name)
    failures = 0
    while not stop.is_set():
        try:
            done = run_once(gateway, wid=wid, url=url)
            failures = 0
        except Exception:
            # The database is away: back off and try again; claimed rows expire into `unknown`.
            failures += 1
            log.exception("worker round failed (%d in a row)", failures)
            stop.wait(min(30.0, settings.worker_poll_seconds * 2**failures))
            continue
        if not done:
            stop.wait(settings.worker_poll_seconds)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    run_forever(stop=stop)
