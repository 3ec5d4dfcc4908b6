"""Sending through Twilio; with routes.py, the only modules that import `twilio`.

Sends with the official client (`messages.create` with a StatusCallback), validates the
webhooks' `X-Twilio-Signature` with `RequestValidator`. Errors come back as data.
"""

from __future__ import annotations

import re

from smschat.config import Settings
from smschat.gateways.base import OutgoingSms, SendResult
from smschat.gateways.twilio.check import check_settings
from smschat.gateways.twilio.errors import TEMPORARY_CODES, error_text, with_advice


class TwilioGateway:
    name = "twilio"
    rate_limited = True

    def __init__(self, client, messaging_service_sid: str | None, status_callback: str | None):
        self.client = client
        self.messaging_service_sid = messaging_service_sid
        self.status_callback = status_callback

    @classmethod
    def from_settings(cls, settings: Settings) -> TwilioGateway:
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        check_settings(settings)
        client = Client(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            http_client=TwilioHttpClient(timeout=settings.twilio_timeout_seconds),
        )
        if settings.twilio_api_url:
            # A Twilio-compatible endpoint, or a test server: every API request goes there.
            client.api.base_url = settings.twilio_api_url.rstrip("/")
        callback = f"{settings.public_url.rstrip('/')}/twilio/status"
        return cls(client, settings.twilio_messaging_service_sid, callback)

    def sender_key(self, sms: OutgoingSms) -> str:
        return self.messaging_service_sid or sms.sender or "twilio"

    def send(self, sms: OutgoingSms) -> SendResult:
        from twilio.base.exceptions import TwilioRestException

        kwargs = {"to": sms.to, "body": sms.body}
        if self.messaging_service_sid:
            kwargs["messaging_service_sid"] = self.messaging_service_sid
        elif sms.sender:
            kwargs["from_"] = sms.sender
        else:
            return SendResult.failure(
                None, "No sender: set TWILIO_MESSAGING_SERVICE_SID or give the project a sender number.",
                retryable=False,
            )
        if self.status_callback:
            kwargs["status_callback"] = self.status_callback
        try:
            msg = self.client.messages.create(**kwargs)
        except TwilioRestException as exc:
            code = str(exc.code) if exc.code else None
            retryable = exc.status == 429 or exc.status >= 500 or code in TEMPORARY_CODES
            # The client prefixes Twilio's own words with "Unable to create record: ".
            text = re.sub(r"^Unable to \w+ record: ", "", exc.msg or "") or error_text(code) or f"HTTP {exc.status}"
            return SendResult.failure(code or str(exc.status), with_advice(code, text), retryable=retryable)
        except Exception as exc:  # noqa: BLE001 - timeouts, refused connections: data, retried
            return SendResult.failure(None, f"{type(exc).__name__}: {exc}", retryable=True)
        segments = int(msg.num_segments) if getattr(msg, "num_segments", None) else None
        return SendResult(ok=True, status=msg.status or "queued", gateway_message_id=msg.sid, segments=segments)


def valid_signature(auth_token: str, urls: list[str], params: dict[str, str], signature: str | None) -> bool:
    """Twilio's signature over the URL it called and the POST parameters."""
    from twilio.request_validator import RequestValidator

    if not signature:
        return False
    validator = RequestValidator(auth_token)
    return any(validator.validate(url, params, signature) for url in urls)
