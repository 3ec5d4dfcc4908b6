"""Twilio gateway: the only module that imports `twilio` (full version: the Twilio issue)."""

from __future__ import annotations

from ..config import Settings
from ..errors import ConfigError
from .base import OutgoingSms, SendResult


class TwilioGateway:
    name = "twilio"

    def __init__(self, client, messaging_service_sid: str | None, status_callback: str | None):
        self.client = client
        self.messaging_service_sid = messaging_service_sid
        self.status_callback = status_callback

    @classmethod
    def from_settings(cls, settings: Settings) -> TwilioGateway:
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        if not settings.twilio_account_sid:
            raise ConfigError("TWILIO_ACCOUNT_SID is not set (needed with SMSCHAT_GATEWAY=twilio).")
        if not settings.twilio_auth_token:
            raise ConfigError("TWILIO_AUTH_TOKEN is not set (needed with SMSCHAT_GATEWAY=twilio).")
        client = Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=TwilioHttpClient(timeout=15))
        if settings.twilio_api_url:
            # Point the official client at a Twilio-compatible endpoint (or a test server).
            client.api.base_url = settings.twilio_api_url.rstrip("/")
        callback = f"{settings.public_url.rstrip('/')}/twilio/status" if settings.public_url else None
        return cls(client, settings.twilio_messaging_service_sid, callback)

    def send(self, sms: OutgoingSms) -> SendResult:
        from twilio.base.exceptions import TwilioRestException

        kwargs = {"to": sms.to, "body": sms.body}
        if self.messaging_service_sid:
            kwargs["messaging_service_sid"] = self.messaging_service_sid
        elif sms.sender:
            kwargs["from_"] = sms.sender
        else:
            return SendResult.failure(None, "No sender: set TWILIO_MESSAGING_SERVICE_SID or a project sender number.", retryable=False)
        if self.status_callback:
            kwargs["status_callback"] = self.status_callback
        try:
            msg = self.client.messages.create(**kwargs)
        except TwilioRestException as exc:
            retryable = exc.status == 429 or exc.status >= 500 or exc.code == 20429
            return SendResult.failure(str(exc.code or exc.status), exc.msg or str(exc), retryable=retryable)
        except Exception as exc:  # transport errors (timeouts, refused connections) are data too
            return SendResult.failure(None, f"{type(exc).__name__}: {exc}", retryable=True)
        segments = int(msg.num_segments) if getattr(msg, "num_segments", None) else None
        return SendResult(ok=True, status=msg.status or "queued", gateway_message_id=msg.sid, segments=segments)
