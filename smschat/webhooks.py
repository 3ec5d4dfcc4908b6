"""The webhooks app (Starlette, under uvicorn): `/healthz` and the inbound paths.

It faces the public internet, so it runs on its own, apart from the dashboard.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from . import inbound
from .db import session_scope
from .errors import SmsChatError
from .projects import get_project_by_slug

MAX_FORM_BYTES = 64 * 1024


async def healthz(request: Request) -> JSONResponse:
    try:
        with session_scope(readonly=True) as session:
            session.execute(text("SELECT 1"))
    except OperationalError:
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok"})


async def _form(request: Request) -> dict[str, str]:
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise _BadRequest("Expected application/x-www-form-urlencoded.", 415)
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_FORM_BYTES):
        raise _BadRequest("Request body too large.", 413)
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise _BadRequest("Request body too large.", 413)
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


class _BadRequest(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


async def loopback_inbound(request: Request) -> PlainTextResponse:
    """The loopback gateway's inbound path: `project`, `From`, `Body`, optional `MessageSid`."""
    try:
        form = await _form(request)
        missing = [f for f in ("project", "From", "Body") if f not in form]
        if missing:
            raise _BadRequest(f"Missing field(s): {', '.join(missing)}.")
        with session_scope() as session:
            project = get_project_by_slug(session, form["project"])
            result = inbound.receive_sms(
                session, project, form["From"], form["Body"],
                gateway_message_id=form.get("MessageSid") or None, gateway="loopback",
            )
            status = 200 if result.duplicate else 201
            return PlainTextResponse(f"message {result.message.id}", status_code=status)
    except _BadRequest as exc:
        return PlainTextResponse(str(exc), status_code=exc.status)
    except SmsChatError as exc:
        return PlainTextResponse(str(exc), status_code=exc.http_status)
    except OperationalError:
        # The database is away: 5xx so the sender retries; nothing was half-written.
        return PlainTextResponse("Database unavailable, try again.", status_code=503)


def create_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/loopback/inbound", loopback_inbound, methods=["POST"]),
        ]
    )


app = create_app()
