"""Sending through Twilio; with routes.py, the only modules that import `twilio`.

Sends with the official client (`messages.create` with a StatusCallback), validates the
webhooks' `X-Twilio-Signature` with `RequestValidator`. Errors come back as data.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from smschat.config import Settings
from smschat.gateways.base import Lookup, OutgoingSms, SendResult
from smschat.gateways.twilio.check import check_settings
from smschat.gateways.twilio.errors import TEMPORARY_CODES, error_text, with_advice

# The webhook paths Twilio calls (routes.py serves them; the status callback is sent with each message).
INBOUND_PATH = "/twilio/inbound"
STATUS_PATH = "/twilio/status"


class TwilioGateway:
    name = "twilio"
    rate_limited = True
    # What the chat shows beside an `unknown` send that Twilio's records do not hold.
    no_record_text = "Twilio has no record of this message; Retry is safe."

    def __init__(self, client, messaging_service_sid: str | None, status_callback: str | None):
        self.client = client
        self.messaging_service_sid = messaging_service_sid
        self.status_callback = status_callback

    @classmethod
    def from_settings(cls, settings: Settings) -> TwilioGateway:
        from requests.adapters import HTTPAdapter
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        check_settings(settings)
        # The client logs every request's URL and headers at INFO (nine lines a send): at 200
        # sends a second that is noise in the worker's log and a real share of its CPU.
        logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
        http = TwilioHttpClient(timeout=settings.twilio_timeout_seconds)
        # One kept-alive connection per send in flight; no retries below us: a request that may
        # have reached Twilio is never repeated by the HTTP layer.
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=settings.worker_concurrency, max_retries=0)
        for scheme in ("http://", "https://"):
            http.session.mount(scheme, adapter)
        client = Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http)
        if settings.twilio_api_url:
            # A Twilio-compatible endpoint, or a test server: every API request goes there.
            client.api.base_url = settings.twilio_api_url.rstrip("/")
        callback = settings.public_url.rstrip("/") + STATUS_PATH
        return cls(client, settings.twilio_messaging_service_sid, callback)

    def sender_key(self, sms: OutgoingSms) -> str:
        return self.messaging_service_sid or sms.sender or "twilio"

    def send(self, sms: OutgoingSms) -> SendResult:
        from twilio.base.exceptions import TwilioRestException

        kwargs = {"to": sms.to, "body": sms.body}
        sender = self.sender_key(sms)
        if sender.startswith("MG"):  # a messaging service: one sender, Twilio picks the number
            kwargs["messaging_service_sid"] = sender
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
            # Twilio answered with an error: it created nothing.
            code = str(exc.code) if exc.code else None
            retryable = exc.status == 429 or exc.status >= 500 or code in TEMPORARY_CODES
            # The client prefixes Twilio's own words with "Unable to create record: ".
            text = re.sub(r"^Unable to \w+ record: ", "", exc.msg or "") or error_text(code) or f"HTTP {exc.status}"
            return SendResult.failure(code or str(exc.status), with_advice(code, text), retryable=retryable)
        except Exception as exc:  # noqa: BLE001 - transport errors are data
            text = f"{type(exc).__name__}: {exc}"
            if never_reached_twilio(exc):
                return SendResult.failure(None, text, retryable=True)
            return SendResult.unknown(f"{LOST_TEXT} ({text})")
        if not getattr(msg, "sid", None):
            return SendResult.unknown(f"{LOST_TEXT} (an answer without a message id)")
        segments = int(msg.num_segments) if getattr(msg, "num_segments", None) else None
        return SendResult(ok=True, status=msg.status or "queued", gateway_message_id=msg.sid, segments=segments)

    def find(self, sms: OutgoingSms, sender: str, since: datetime, exclude: set[str]) -> Lookup:
        """Twilio's Message list: To, From (or the messaging service), sent since the hand-over's
        day; the newest record with this body that no other message of ours holds."""
        filters = {"to": sms.to, "date_sent_after": since.replace(hour=0, minute=0, second=0, microsecond=0)}
        service = sender.startswith("MG")
        if not service:
            filters["from_"] = sender
        try:
            for record in self.client.messages.stream(**filters, page_size=LIST_PAGE_SIZE, limit=LIST_LIMIT):
                if record.body != sms.body or record.sid in exclude:
                    continue
                if service and record.messaging_service_sid != sender:
                    continue
                created = record.date_created
                if created is not None and created < since - CLOCK_SKEW:
                    continue  # an older message with the same words, not this send
                segments = int(record.num_segments) if record.num_segments else None
                return Lookup(found=SendResult(ok=True, status=record.status or "queued",
                                               gateway_message_id=record.sid, segments=segments))
        except Exception as exc:  # noqa: BLE001 - the lookup is tried again later
            return Lookup(error=f"{type(exc).__name__}: {exc}")
        return Lookup()


LOST_TEXT = "The request may have reached Twilio but its answer was lost; looking it up"
# Twilio's clock and ours may disagree a little on when a message was created.
CLOCK_SKEW = timedelta(minutes=2)
LIST_PAGE_SIZE = 100
LIST_LIMIT = 2000


def never_reached_twilio(exc: BaseException) -> bool:
    """Whether a transport error certainly happened before Twilio got the request: the
    connection was never made (refused, DNS failure, connect timeout, TLS handshake)."""
    from requests.exceptions import ConnectTimeout, SSLError
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    if isinstance(exc, (ConnectTimeout, SSLError)):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError)


def valid_signature(auth_token: str, urls: list[str], params: dict[str, str], signature: str | None) -> bool:
    """Twilio's signature over the URL it called and the POST parameters."""
    from twilio.request_validator import RequestValidator

    if not signature:
        return False
    validator = RequestValidator(auth_token)
    return any(validator.validate(url, params, signature) for url in urls)
