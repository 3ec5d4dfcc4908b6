"""What every gateway's webhook routes share: a body bounded while it is read, the form,
and every failure turned into an HTTP status in one place (`answer`): 400 for a malformed
request, 403 for a bad signature, 404 for a number no project uses, 408 / 413 for a body too
slow or too large, 503 while the database is away, locked or read-only (the gateway retries;
smschat.db.classify decides), 422 (the values refused) or 500 with an error id in the log for
any other database error.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import secrets
import threading
import weakref
from collections.abc import Callable

import anyio
import anyio.to_thread
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response

from smschat.config import get_settings
from smschat.db import Problem, classify, session_scope, write_concurrency
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
    """How many webhooks write at once on PostgreSQL: as many as the connection pool holds."""
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = anyio.CapacityLimiter(write_concurrency())
    return limiter


MAX_BATCH = 50


class _Writer:
    """SQLite has one writer: one thread per process writes every webhook's transaction, and
    commits the ones waiting together in one transaction (one commit for a burst, no thread
    waking up late from SQLite's busy handler). Each is answered only after its commit; if
    any of a batch fails, the batch rolls back and each runs again alone, so only it fails."""

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._run, name="webhook-writer", daemon=True).start()

    async def run(self, work: Callable, batchable: bool) -> Response:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.queue.put((work, batchable, loop, future))
        return await future

    def _run(self) -> None:
        while True:
            batch = [self.queue.get()]
            while len(batch) < MAX_BATCH and batch[-1][1]:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            if not batch[-1][1]:  # one that opens its own transaction runs after the batch, alone
                batch, alone = batch[:-1], batch[-1:]
            else:
                alone = []
            for item, outcome in [*zip(batch, self._batch(batch), strict=True),
                                  *((item, self._alone(item)) for item in alone)]:
                _work, _batchable, loop, future = item
                try:
                    loop.call_soon_threadsafe(_settle, future, outcome)
                except RuntimeError:  # its server stopped meanwhile: nobody to answer
                    pass

    def _batch(self, batch: list) -> list:
        if len(batch) > 1:
            try:
                with session_scope() as session:
                    return [(True, work(session)) for work, *_ in batch]
            except Exception:  # noqa: BLE001 - rolled back whole: each again, alone
                pass
        return [self._alone(item) for item in batch]

    @staticmethod
    def _alone(item) -> tuple[bool, object]:
        work, batchable = item[0], item[1]
        try:
            if not batchable:
                return True, work()
            with session_scope() as session:
                return True, work(session)
        except BaseException as exc:  # noqa: BLE001 - handed to the request, answered there
            return False, exc


def _settle(future: asyncio.Future, outcome: tuple[bool, object]) -> None:
    if not future.done():
        ok, value = outcome
        future.set_result(value) if ok else future.set_exception(value)


_writer: _Writer | None = None
_writer_lock = threading.Lock()


def _sqlite_writer() -> _Writer | None:
    global _writer
    if write_concurrency() != 1:
        return None
    with _writer_lock:
        if _writer is None:
            _writer = _Writer()
        return _writer


async def answer(work: Callable[[], Response]) -> Response:
    """Run the database work off the event loop; turn every failure into its status."""
    return await _answered(work, batchable=False)


async def answer_in_transaction(work: Callable[[Session], Response]) -> Response:
    """`answer` for work done in a transaction given to it (committed after it returns): on
    SQLite it may share one commit with other webhooks waiting at the same moment."""
    return await _answered(work, batchable=True)


async def _answered(work: Callable, batchable: bool) -> Response:
    try:
        writer = _sqlite_writer()
        if writer is not None:
            return await writer.run(work, batchable)
        if batchable:
            return await anyio.to_thread.run_sync(_in_transaction, work, limiter=_limiter())
        return await anyio.to_thread.run_sync(work, limiter=_limiter())
    except Refused as exc:
        return exc.response()
    except SmsChatError as exc:
        return PlainTextResponse(str(exc), status_code=exc.http_status)
    except Exception as exc:
        problem = classify(exc)
        if problem is None:
            raise  # a bug: Starlette logs the traceback and answers 500
        if problem is not Problem.OTHER:
            # Away, locked or read-only: 503 so the sender retries; the transaction rolled back whole.
            log.warning("database %s while handling %s", problem, work)
            return PlainTextResponse("Database unavailable, try again.", status_code=503)
        # Refused for what was sent (a DataError or IntegrityError: every text is cleaned first,
        # smschat.text, so this is a bug to fix) gets 422, as sending it again cannot help;
        # anything else 500. Both logged with an error id, the traceback in the log only.
        error_id = secrets.token_hex(4)
        log.error("error id %s: database error while handling %s", error_id, work, exc_info=exc)
        status = 422 if isinstance(exc, DataError | IntegrityError) else 500
        return PlainTextResponse(f"Server error (error id {error_id}).", status_code=status)


def _in_transaction(work: Callable[[Session], Response]) -> Response:
    with session_scope() as session:
        return work(session)
