"""Nothing leaves the machine: every message is accepted and reported delivered.

The contact's side is played on the Phone simulator page, which answers through the
same inbound service path a real gateway's webhook uses.
"""

from __future__ import annotations

import uuid

from smschat.gateways.base import OutgoingSms, SendResult


class LoopbackGateway:
    name = "loopback"
    rate_limited = False

    def sender_key(self, sms: OutgoingSms) -> str:
        return sms.sender or "loopback"

    def send(self, sms: OutgoingSms) -> SendResult:
        return SendResult(ok=True, status="delivered", gateway_message_id=f"LB{uuid.uuid4().hex}")
