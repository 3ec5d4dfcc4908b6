"""Twilio's webhooks: inbound SMS and delivery reports, each checked against
`X-Twilio-Signature` before anything is read from it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from smschat.config import get_settings
from smschat.gateways.twilio.errors import error_text
from smschat.gateways.twilio.sender import INBOUND_PATH, STATUS_PATH, valid_signature
from smschat.gateways.webhook import Refused, answer_in_transaction, read_form
from smschat.messaging import inbound, outbox

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def signed_urls(request: Request) -> list[str]:
    """The URLs Twilio may have signed: the public URL, and what a proxy says was called."""
    tail = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    urls = []
    public = get_settings().public_url
    if public:
        urls.append(public.rstrip("/") + tail)
    proto = request.headers.get("x-forwarded-proto", request.url.scheme).split(",")[0].strip()
    host = request.headers.get("x-forwarded-host", request.headers.get("host", "")).split(",")[0].strip()
    if host:
        urls.append(f"{proto}://{host}{tail}")
    return urls


async def _twilio_form(request: Request, required: tuple[str, ...]) -> dict[str, str]:
    form = await read_form(request, ())
    token = get_settings().twilio_auth_token
    if not token:
        raise Refused("Twilio webhooks need TWILIO_AUTH_TOKEN to check signatures.", 403)
    if not valid_signature(token, signed_urls(request), form, request.headers.get("x-twilio-signature")):
        raise Refused("Missing or invalid X-Twilio-Signature.", 403)
    missing = [f for f in required if f not in form]
    if missing:
        raise Refused(f"Missing field(s): {', '.join(missing)}.")
    return form


async def twilio_inbound(request: Request) -> Response:
    """An SMS to one of our numbers: stored once per MessageSid, answered with empty TwiML."""
    try:
        form = await _twilio_form(request, ("MessageSid", "From", "To", "Body"))
    except Refused as exc:
        return exc.response()

    def work(session) -> Response:
        inbound.receive_at(session, form["To"], form["From"], form["Body"],
                           gateway_message_id=form["MessageSid"], gateway="twilio")
        return Response(EMPTY_TWIML, media_type="text/xml")

    return await answer_in_transaction(work)


async def twilio_status(request: Request) -> Response:
    """A delivery report: applied forward-only; repeats and late ones change nothing."""
    try:
        form = await _twilio_form(request, ("MessageSid", "MessageStatus"))
    except Refused as exc:
        return exc.response()

    def work(session) -> Response:
        code = form.get("ErrorCode") or None
        outbox.apply_status_update(session, form["MessageSid"], form["MessageStatus"],
                                   error_code=code, error_message=error_text(code))
        return PlainTextResponse("ok")

    return await answer_in_transaction(work)


def routes() -> list[Route]:
    return [
        Route(INBOUND_PATH, twilio_inbound, methods=["POST"]),
        Route(STATUS_PATH, twilio_status, methods=["POST"]),
    ]
