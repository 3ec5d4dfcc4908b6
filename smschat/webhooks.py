"""The webhooks app (Starlette, under uvicorn): `/healthz`, Twilio's inbound and status
callbacks, and, with the loopback gateway only, the Phone simulator's inbound path.

It faces the public internet, so it runs on its own, apart from the dashboard. Every error
becomes an HTTP status in one place (`_answer`): 400 for a malformed request, 403 for a bad
signature, 404 for a number no project uses, 408 for a body that does not arrive in time,
413 for one over 64 KiB, 503 while the database is away (Twilio retries).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from . import inbound, outbox, simulator
from .config import get_settings
from .db import session_scope
from .errors import ProjectNotFound, SmsChatError
from .projects import get_project_by_slug

log = logging.getLogger("smschat.webhooks")

MAX_FORM_BYTES = 64 * 1024
TOO_LARGE = "Request body too large."
TOO_SLOW = "Request body not received in time."
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


class _Refused(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status

    def response(self) -> Response:
        # The rest of a too large or too slow body is not worth reading: close the connection.
        close = {"connection": "close"} if self.status in (408, 413) else None
        return PlainTextResponse(str(self), status_code=self.status, headers=close)


async def healthz(request: Request) -> JSONResponse:
    def ping() -> None:
        with session_scope(readonly=True) as session:
            session.execute(text("SELECT 1"))

    try:
        await run_in_threadpool(ping)
    except OperationalError:
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok"})


async def _body(request: Request) -> bytes:
    """The body, read as it streams in: 413 past MAX_FORM_BYTES, 408 past the read deadline.

    Counting while reading (not after) keeps a huge chunked body from ever sitting in memory.
    """
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_FORM_BYTES):
        raise _Refused(TOO_LARGE, 413)
    body = bytearray()
    try:
        async with asyncio.timeout(get_settings().webhook_read_timeout_seconds):
            async for chunk in request.stream():
                body += chunk
                if len(body) > MAX_FORM_BYTES:
                    raise _Refused(TOO_LARGE, 413)
    except TimeoutError:
        raise _Refused(TOO_SLOW, 408) from None
    except ClientDisconnect:  # gone, or cut off by the server's own deadline (smschat.webserver)
        raise _Refused(TOO_SLOW, 408) from None
    return bytes(body)


async def _form(request: Request, required: tuple[str, ...]) -> dict[str, str]:
    """The POSTed form, or 400: wrong content type, undecodable, missing fields (413/408: `_body`)."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise _Refused("Expected application/x-www-form-urlencoded.")
    body = await _body(request)

    async def replay() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        body.decode("utf-8")
        form = await Request(request.scope, replay).form()
    except Exception:  # noqa: BLE001 - whatever the parser chokes on is the sender's fault
        raise _Refused("Malformed form body.") from None
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    missing = [f for f in required if f not in fields]
    if missing:
        raise _Refused(f"Missing field(s): {', '.join(missing)}.")
    return fields


async def _answer(work: Callable[[], Response]) -> Response:
    """Run the database work off the event loop; turn every failure into its status."""
    try:
        return await run_in_threadpool(work)
    except _Refused as exc:
        return exc.response()
    except SmsChatError as exc:
        return PlainTextResponse(str(exc), status_code=exc.http_status)
    except OperationalError:
        # The database is away: 5xx so the sender retries; the transaction rolled back whole.
        log.warning("database unavailable while handling %s", work)
        return PlainTextResponse("Database unavailable, try again.", status_code=503)


def _from_this_machine(request: Request) -> bool:
    try:
        return request.client is not None and ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False


async def loopback_inbound(request: Request) -> Response:
    """The loopback gateway's inbound path: `project`, `From`, `Body`, optional `MessageSid`.

    Unsigned, so only callers on this machine may use it (uvicorn takes the address from
    X-Forwarded-For only when a proxy on this machine sent it).
    """
    if not _from_this_machine(request):
        return PlainTextResponse("The loopback inbound path answers only callers on this machine.", status_code=403)
    try:
        form = await _form(request, ("project", "From", "Body"))
    except _Refused as exc:
        return exc.response()

    def work() -> Response:
        with session_scope() as session:
            project = get_project_by_slug(session, form["project"])
            result = inbound.receive_sms(
                session, project, form["From"], form["Body"],
                gateway_message_id=form.get("MessageSid") or None, gateway="loopback",
            )
            return PlainTextResponse(f"message {result.message.id}", status_code=200 if result.duplicate else 201)

    return await _answer(work)


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
    from .gateways.twilio import valid_signature

    form = await _form(request, ())
    token = get_settings().twilio_auth_token
    if not token:
        raise _Refused("Twilio webhooks need TWILIO_AUTH_TOKEN to check signatures.", 403)
    if not valid_signature(token, signed_urls(request), form, request.headers.get("x-twilio-signature")):
        raise _Refused("Missing or invalid X-Twilio-Signature.", 403)
    missing = [f for f in required if f not in form]
    if missing:
        raise _Refused(f"Missing field(s): {', '.join(missing)}.")
    return form


async def twilio_inbound(request: Request) -> Response:
    """An SMS to one of our numbers: stored once per MessageSid, answered with empty TwiML."""
    try:
        form = await _twilio_form(request, ("MessageSid", "From", "To", "Body"))
    except _Refused as exc:
        return exc.response()

    def work() -> Response:
        with session_scope() as session:
            project = inbound.project_for_inbound(session, form["To"], form["From"])
            if project is None:
                raise ProjectNotFound(f"No project sends from {form['To']}.")
            inbound.receive_sms(session, project, form["From"], form["Body"],
                                gateway_message_id=form["MessageSid"], gateway="twilio")
        return Response(EMPTY_TWIML, media_type="text/xml")

    return await _answer(work)


async def twilio_status(request: Request) -> Response:
    """A delivery report: applied forward-only; repeats and late ones change nothing."""
    try:
        form = await _twilio_form(request, ("MessageSid", "MessageStatus"))
    except _Refused as exc:
        return exc.response()

    def work() -> Response:
        from .gateways.twilio import error_text

        code = form.get("ErrorCode") or None
        with session_scope() as session:
            outbox.apply_status_update(session, form["MessageSid"], form["MessageStatus"],
                                       error_code=code, error_message=error_text(code))
        return PlainTextResponse("ok")

    return await _answer(work)


def create_app() -> Starlette:
    """The app for the configured gateway (settings are read now, once)."""
    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/twilio/inbound", twilio_inbound, methods=["POST"]),
        Route("/twilio/status", twilio_status, methods=["POST"]),
    ]
    if simulator.available():
        # Unsigned by nature: with a real gateway it would let anyone forge inbound SMS.
        routes.append(Route("/loopback/inbound", loopback_inbound, methods=["POST"]))
    return Starlette(routes=routes)


def __getattr__(name: str) -> Starlette:
    # `smschat.webhooks:app` for uvicorn's command line, built when asked for, not at import.
    if name == "app":
        return create_app()
    raise AttributeError(name)
