"""What every gateway's webhook routes share: a body bounded while it is read, the form,
and every failure turned into an HTTP status in one place (`answer`): 400 for a malformed
request, 403 for a bad signature, 404 for a number no project uses, 408 / 413 for a body too
slow or too large, 503 while the database is away (the gateway retries).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable

import anyio
import anyio.to_thread
from sqlalchemy.exc import OperationalError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response

from smschat.config import get_settings
from smschat.db import write_concurrency
from smschat.errors import SmsChatError

log = logging.getLogger("smschat.webhooks")

MAX_FORM_BYTES = 64 * 1024
TOO_LARGE = "Request body too large."
TOO_SLOW = "Request body not received in time."


class Refused(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status

    def response(self) -> Response:
        # The rest of a too large or too slow body is not worth reading: close the connection.
        close = {"connection": "close"} if self.status in (408, 413) else None
        return PlainTextResponse(str(self), status_code=self.status, headers=close)


async def read_body(request: Request, limit: int = MAX_FORM_BYTES) -> bytes:
    """The body, read as it streams in: 413 past `limit` bytes, 408 past the read deadline.

    Counting while reading (not after) keeps a huge chunked body from ever sitting in memory.
    The dashboard's login form is read this way too (smschat.web.login).
    """
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limit):
        raise Refused(TOO_LARGE, 413)
    body = bytearray()
    try:
        async with asyncio.timeout(get_settings().webhook_read_timeout_seconds):
            async for chunk in request.stream():
                body += chunk
                if len(body) > limit:
                    raise Refused(TOO_LARGE, 413)
    except TimeoutError:
        raise Refused(TOO_SLOW, 408) from None
    except ClientDisconnect:  # gone, or cut off by the server's own deadline (smschat.web.webserver)
        raise Refused(TOO_SLOW, 408) from None
    return bytes(body)


async def read_form(request: Request, required: tuple[str, ...]) -> dict[str, str]:
    """The POSTed form, or 400: wrong content type, undecodable, missing fields (413/408: `read_body`)."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise Refused("Expected application/x-www-form-urlencoded.")
    body = await read_body(request)

    async def replay() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        body.decode("utf-8")
        form = await Request(request.scope, replay).form()
    except Exception:  # noqa: BLE001 - whatever the parser chokes on is the sender's fault
        raise Refused("Malformed form body.") from None
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    missing = [f for f in required if f not in fields]
    if missing:
        raise Refused(f"Missing field(s): {', '.join(missing)}.")
    return fields


_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = weakref.WeakKeyDictionary()


def _limiter() -> anyio.CapacityLimiter:
    """How many webhooks write at once: as many as the database takes (one on SQLite, whose
    busy handler would otherwise wake waiting threads 1 to 100 ms late; the pool on PostgreSQL)."""
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = anyio.CapacityLimiter(write_concurrency())
    return limiter


async def answer(work: Callable[[], Response]) -> Response:
    """Run the database work off the event loop; turn every failure into its status."""
    try:
        return await anyio.to_thread.run_sync(work, limiter=_limiter())
    except Refused as exc:
        return exc.response()
    except SmsChatError as exc:
        return PlainTextResponse(str(exc), status_code=exc.http_status)
    except OperationalError:
        # The database is away: 5xx so the sender retries; the transaction rolled back whole.
        log.warning("database unavailable while handling %s", work)
        return PlainTextResponse("Database unavailable, try again.", status_code=503)


