"""What every gateway offers: send one SMS, report the outcome as data (never raise)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class OutgoingSms:
    message_id: int
    to: str
    body: str
    sender: str | None = None  # a project sender number, if any


@dataclass(frozen=True)
class SendResult:
    ok: bool
    status: str = "sent"  # the status the gateway reports on acceptance
    gateway_message_id: str | None = None
    segments: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    retryable: bool = False
    # The request may have reached the gateway but its answer was lost (read timeout, reset
    # after sending, an unreadable answer): never re-sent by itself, looked up instead.
    lost: bool = False
    # When the request left (set by the worker): the message's `sent_at`.
    departed_at: datetime | None = None

    @classmethod
    def failure(cls, code: str | None, message: str, *, retryable: bool) -> SendResult:
        return cls(ok=False, status="failed", error_code=code, error_message=message, retryable=retryable)

    @classmethod
    def unknown(cls, message: str) -> SendResult:
        return cls(ok=False, status="unknown", error_message=message, lost=True)


@dataclass(frozen=True)
class Lookup:
    """What the gateway's own records say about a send whose answer was lost: `found` (its id
    and status), or nothing there (`found` None), or the lookup itself failed (`error`)."""

    found: SendResult | None = None
    error: str | None = None


class Gateway(Protocol):
    name: str
    #: Whether the per-sender rate limit applies (a real network does; loopback does not).
    rate_limited: bool

    def sender_key(self, sms: OutgoingSms) -> str: ...

    def send(self, sms: OutgoingSms) -> SendResult: ...

    # Optional: `find(sms, sender, since, exclude) -> Lookup`, the gateway's record of a send
    # from `sender` (what sender_key gave) handed over at `since`, skipping ids in `exclude`.
    # Gateways without it leave `unknown` sends to a person.


def find_lost(gateway: Gateway, sms: OutgoingSms, sender: str, since: datetime, exclude: set[str]) -> Lookup | None:
    """The gateway's lookup, or None when the gateway cannot look sends up."""
    find = getattr(gateway, "find", None)
    return None if find is None else find(sms, sender, since, exclude)
