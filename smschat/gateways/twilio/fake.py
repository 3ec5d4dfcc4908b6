"""A local fake of Twilio's Messages API, for the real `twilio` client to talk to.

A Starlette app under a real uvicorn on 127.0.0.1. It records every request (form fields,
auth, arrival time) and answers from a script: a queue of canned answers, then success. It can
be as rude as the real network, each knob off by default:

- `latency` ± `jitter` seconds before every answer (`delay` is a fixed extra), and
  `sender_latency[From]` for one slow sender;
- `fail_next("read_timeout" | "reset", ...)`: the next creates make the message, then never
  answer in time (the client's read timeout) or drop the connection without an answer;
- `concurrency_limit`: more requests at once than that are refused with 429 / 20429;
- `number_errors[To] = (code, text)`: Twilio refuses that number (21610, 21211, 21614 ...);
  `callback_errors[To] = code`: accepted, then reported `undelivered` with that ErrorCode;
- `down()` answers 503 until `up()`.

Created messages are kept (`messages`) and listed by GET .../Messages.json with Twilio's To,
From, DateSent filters and its paging (newest first, PageSize, next_page_uri). With
`callback_token`, it calls the message's StatusCallback like Twilio does (`sent`, then
`delivered`), signed with that token.
"""

from __future__ import annotations

import asyncio
import base64
import random
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlencode

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from smschat.messaging.segments import count_segments

MESSAGES_PATH = "/2010-04-01/Accounts/{account}/Messages.json"


def twilio_error(status: int, code: int | None, message: str) -> tuple[int, dict]:
    return status, {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                    "status": status}


@dataclass
class Seen:
    form: dict[str, str]
    account: str
    at: float  # when it was answered (time.monotonic)
    answered: int
    arrived: float = 0.0  # when it arrived, before any latency (time.monotonic)


@dataclass
class FakeTwilio:
    delay: float = 0.0
    callback_token: str | None = None
    latency: float = 0.0
    jitter: float = 0.0
    hang_seconds: float = 5.0  # how long a "read_timeout" answer is held back
    concurrency_limit: int | None = None
    script: deque = field(default_factory=deque)
    requests: list[Seen] = field(default_factory=list)
    messages: list[dict] = field(default_factory=list)
    faults: deque = field(default_factory=deque)
    sender_latency: dict[str, float] = field(default_factory=dict)
    number_errors: dict[str, tuple[int, str]] = field(default_factory=dict)
    callback_errors: dict[str, str] = field(default_factory=dict)
    _down: bool = False
    _count: int = 0

    def __post_init__(self):
        self._lock = threading.Lock()
        self._tasks: set = set()
        self._active = 0
        self.callbacks: list[tuple[str, str, int]] = []
        self.app = Starlette(routes=[
            Route(MESSAGES_PATH, self._create, methods=["POST"]),
            Route(MESSAGES_PATH, self._list, methods=["GET"]),
        ])

    # --- control -------------------------------------------------------------------------
    def answer_next(self, *answers: tuple[int, dict]) -> None:
        self.script.extend(answers)

    def fail_next(self, *faults: str) -> None:
        """The next creates: "read_timeout" or "reset", each after making the message."""
        assert set(faults) <= {"read_timeout", "reset"}, faults
        self.faults.extend(faults)

    def down(self) -> None:
        self._down = True

    def up(self) -> None:
        self._down = False

    def bodies(self) -> list[str]:
        """Bodies of the messages created, in order (answered or not)."""
        with self._lock:
            return [m["body"] for m in self.messages]

    # --- the API -------------------------------------------------------------------------
    async def _create(self, request: Request) -> Response:
        arrived = request.scope.get("fake.arrived") or time.monotonic()
        with self._lock:
            self._active += 1
            crowded = self.concurrency_limit is not None and self._active > self.concurrency_limit
        try:
            return await self._create_one(request, arrived, crowded)
        finally:
            with self._lock:
                self._active -= 1

    async def _create_one(self, request: Request, arrived: float, crowded: bool) -> Response:
        form = {k: v for k, v in (await request.form()).items()}
        auth = request.headers.get("authorization", "")
        account = base64.b64decode(auth.split(" ", 1)[1]).decode().split(":")[0] if auth.startswith("Basic ") else ""
        wait = self.delay + self.sender_latency.get(form.get("From", ""), 0.0)
        if self.latency:
            wait += max(0.0, self.latency + random.uniform(-self.jitter, self.jitter))
        if wait:
            await asyncio.sleep(wait)
        fault = None
        with self._lock:
            if crowded:
                status, payload = twilio_error(429, 20429, "Too Many Requests")
            elif self._down:
                status, payload = twilio_error(503, None, "Service Unavailable")
            elif self.script:
                status, payload = self.script.popleft()
            elif form.get("To") in self.number_errors:
                code, text = self.number_errors[form["To"]]
                status, payload = twilio_error(400, code, text)
            else:
                status, payload = 201, self._make(form, request.path_params["account"])
                fault = self.faults.popleft() if self.faults else None
            self.requests.append(Seen(form, account, time.monotonic(), status, arrived))
        if status == 201 and self.callback_token and form.get("StatusCallback"):
            task = asyncio.get_running_loop().create_task(
                self._report(form["StatusCallback"], payload["sid"], self.callback_errors.get(form.get("To"))))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if fault == "read_timeout":
            await asyncio.sleep(self.hang_seconds)
        elif fault == "reset":
            request.scope["fake.reset"] = True  # asgi() drops the connection instead of answering
        return JSONResponse(payload, status_code=status)

    def _make(self, form: dict[str, str], account: str) -> dict:
        self._count += 1
        body = form.get("Body", "")
        stamp = format_datetime(datetime.now(UTC), usegmt=True)
        message = {
            "sid": f"SM{self._count:032x}",
            "status": "queued",
            "to": form.get("To"),
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": body,
            "num_segments": str(count_segments(body).segments),
            "account_sid": account,
            "direction": "outbound-api",
            "date_created": stamp,
            "date_updated": stamp,
            "date_sent": stamp,
            "_at": datetime.now(UTC),
        }
        self.messages.append(message)
        return {k: v for k, v in message.items() if not k.startswith("_")}

    async def _list(self, request: Request) -> JSONResponse:
        """Twilio's Message list: To / From / DateSent (=, <, >: by day) filters, newest first,
        PageSize and Page, and next_page_uri to follow."""
        q = request.query_params
        size = min(1000, int(q.get("PageSize", 50)))
        page = int(q.get("Page", 0))

        def day(value: str):
            return datetime.fromisoformat(value.replace("Z", "+00:00")[:10]).date()

        with self._lock:
            rows = list(reversed(self.messages))
        if q.get("To"):
            rows = [m for m in rows if m["to"] == q["To"]]
        if q.get("From"):
            rows = [m for m in rows if m["from"] == q["From"]]
        for key, keep in (("DateSent", lambda d, v: d == v), ("DateSent>", lambda d, v: d >= v),
                          ("DateSent<", lambda d, v: d <= v)):
            if q.get(key):
                wanted = day(q[key])
                rows = [m for m in rows if keep(m["_at"].date(), wanted)]
        chunk = rows[page * size:(page + 1) * size]
        base = request.url.path
        params = {k: v for k, v in q.items() if k not in ("Page", "PageToken")}

        def uri(n: int) -> str:
            return f"{base}?{urlencode({**params, 'PageSize': size, 'Page': n, 'PageToken': f'PA{n}'})}"

        more = (page + 1) * size < len(rows)
        return JSONResponse({
            "messages": [{k: v for k, v in m.items() if not k.startswith("_")} for m in chunk],
            "page": page, "page_size": size, "start": page * size, "end": page * size + len(chunk),
            "uri": uri(page), "first_page_uri": uri(0), "next_page_uri": uri(page + 1) if more else None,
            "previous_page_uri": uri(page - 1) if page else None,
        })

    async def _report(self, url: str, sid: str, error_code: str | None = None) -> None:
        import httpx
        from twilio.request_validator import RequestValidator

        validator = RequestValidator(self.callback_token)
        async with httpx.AsyncClient(timeout=10) as client:
            for status in ("sent", "undelivered" if error_code else "delivered"):
                await asyncio.sleep(0.05)
                form = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "0" * 32}
                if error_code and status == "undelivered":
                    form["ErrorCode"] = str(error_code)
                for _ in range(20):  # like Twilio: retry while the webhook is busy
                    try:
                        r = await client.post(url, data=form,
                                              headers={"X-Twilio-Signature": validator.compute_signature(url, form)})
                        self.callbacks.append((sid, status, r.status_code))
                        if r.status_code < 500:
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.2)

    # --- running -------------------------------------------------------------------------
    def asgi(self):
        """The app, with "reset" done the rude way: the connection closed with an RST, no answer."""

        async def app(scope, receive, send):
            scope["fake.arrived"] = time.monotonic()  # before routing and form parsing

            async def answer(event):
                if scope.get("fake.reset"):
                    if event["type"] == "http.response.start":
                        transport = send.__self__.transport  # uvicorn's connection
                        sock = transport.get_extra_info("socket")
                        if sock is not None:
                            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        transport.abort()
                    return
                await send(event)

            await self.app(scope, receive, answer)

        return app

    def start(self, port: int) -> str:
        self.server = uvicorn.Server(uvicorn.Config(self.asgi(), host="127.0.0.1", port=port, log_level="warning",
                                                    timeout_graceful_shutdown=1, backlog=1024,
                                                    # Twilio's edge keeps idle connections open for
                                                    # about a minute; uvicorn's 5 s default closed
                                                    # them under a busy client mid-reuse (a reset
                                                    # that is not Twilio's behaviour).
                                                    timeout_keep_alive=75))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


if __name__ == "__main__":  # `python -m smschat.gateways.twilio.fake PORT [--latency 0.2 ...]` (benchmarks)
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--jitter", type=float, default=0.0)
    parser.add_argument("--slow-sender", action="append", default=[], help="NUMBER=SECONDS")
    args = parser.parse_args()
    fake = FakeTwilio(latency=args.latency, jitter=args.jitter)
    for item in args.slow_sender:
        number, seconds = item.split("=")
        fake.sender_latency[number] = float(seconds)
    uvicorn.run(fake.asgi(), host="127.0.0.1", port=args.port, log_level="warning", backlog=2048)
