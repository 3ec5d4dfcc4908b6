"""What every gateway offers: send one SMS, report the outcome as data (never raise)."""

from __future__ import annotations

from dataclasses import dataclass
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

    @classmethod
    def failure(cls, code: str | None, message: str, *, retryable: bool) -> SendResult:
        return cls(ok=False, status="failed", error_code=code, error_message=message, retryable=retryable)


class Gateway(Protocol):
    name: str
    #: Whether the per-sender rate limit applies (a real network does; loopback does not).
    rate_limited: bool

    def sender_key(self, sms: OutgoingSms) -> str: ...

    def send(self, sms: OutgoingSms) -> SendResult: ...
