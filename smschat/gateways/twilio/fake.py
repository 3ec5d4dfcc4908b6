"""A local fake of Twilio's Messages API, for the real `twilio` client to talk to.

A Starlette app under a real uvicorn on 127.0.0.1. It records every request (form fields,
auth, time) and answers from a script: a queue of canned answers, then success. `down()`
makes it answer 503 until `up()`; `delay` makes every answer slow (timeouts). With
`callback_token`, it then calls the message's StatusCallback like Twilio does (`sent`, then
`delivered`), signed with that token.
"""

from __future__ import annotations

import asyncio
import base64
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from smschat.messaging.segments import count_segments


def twilio_error(status: int, code: int | None, message: str) -> tuple[int, dict]:
    return status, {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                    "status": status}


@dataclass
class Seen:
    form: dict[str, str]
    account: str
    at: float
    answered: int


@dataclass
class FakeTwilio:
    delay: float = 0.0
    callback_token: str | None = None
    script: deque = field(default_factory=deque)
    requests: list[Seen] = field(default_factory=list)
    _down: bool = False
    _count: int = 0

    def __post_init__(self):
        self._lock = threading.Lock()
        self._tasks: set = set()
        self.callbacks: list[tuple[str, str, int]] = []
        self.app = Starlette(routes=[
            Route("/2010-04-01/Accounts/{account}/Messages.json", self._create, methods=["POST"]),
        ])

    # --- control -------------------------------------------------------------------------
    def answer_next(self, *answers: tuple[int, dict]) -> None:
        self.script.extend(answers)

    def down(self) -> None:
        self._down = True

    def up(self) -> None:
        self._down = False

    def bodies(self) -> list[str]:
        return [r.form.get("Body", "") for r in self.requests if r.answered == 201]

    # --- the API -------------------------------------------------------------------------
    async def _create(self, request: Request) -> JSONResponse:
        form = {k: v for k, v in (await request.form()).items()}
        auth = request.headers.get("authorization", "")
        account = base64.b64decode(auth.split(" ", 1)[1]).decode().split(":")[0] if auth.startswith("Basic ") else ""
        if self.delay:
            await asyncio.sleep(self.delay)
        with self._lock:
            if self._down:
                status, payload = twilio_error(503, None, "Service Unavailable")
            elif self.script:
                status, payload = self.script.popleft()
            else:
                self._count += 1
                body = form.get("Body", "")
                status, payload = 201, {
                    "sid": f"SM{self._count:032x}",
                    "status": "queued",
                    "to": form.get("To"),
                    "body": body,
                    "num_segments": str(count_segments(body).segments),
                    "account_sid": request.path_params["account"],
                }
            self.requests.append(Seen(form, account, time.monotonic(), status))
        if status == 201 and self.callback_token and form.get("StatusCallback"):
            task = asyncio.get_running_loop().create_task(self._report(form["StatusCallback"], payload["sid"]))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return JSONResponse(payload, status_code=status)

    async def _report(self, url: str, sid: str) -> None:
        import httpx
        from twilio.request_validator import RequestValidator

        validator = RequestValidator(self.callback_token)
        async with httpx.AsyncClient(timeout=10) as client:
            for status in ("sent", "delivered"):
                await asyncio.sleep(0.05)
                form = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "0" * 32}
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
    def start(self, port: int) -> str:
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="warning"))
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


if __name__ == "__main__":  # `python -m smschat.gateways.twilio.fake PORT`: the fake on its own (benchmarks)
    import sys

    fake = FakeTwilio()
    uvicorn.run(fake.app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
