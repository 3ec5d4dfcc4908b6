"""The HTTP server of the webhooks app: uvicorn, with a deadline for every request to arrive.

uvicorn waits as long as a client likes for a request line and headers (a connection that
sends half a line, or nothing, stays open for good), and a route that never reads its body
lets a client trickle one forever. Hundreds of such connections are cheap to hold open for an
attacker and not for us, so each request gets a deadline at the server level:

- the request line and headers must all arrive within SMSCHAT_WEBHOOK_READ_TIMEOUT_SECONDS,
  counted from the connection (or from the end of the previous response on a kept-alive one);
- the body must then arrive within the same time. The webhooks app's own deadline answers
  that case first, on the routes that read a body (`smschat.gateways.webhook.read_body`); this is the
  backstop, a second later, for routes that never read theirs.

A request cut off this way gets `408 Request Timeout` (unless its response has started) and
the connection is closed. An idle kept-alive connection is closed silently, as uvicorn's own
keep-alive timeout does.
"""

from __future__ import annotations

from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from smschat.config import get_settings

# The backstop's margin over the app's own body deadline, so the app answers first.
BODY_BACKSTOP_GRACE_SECONDS = 1.0
_TIMEOUT_BODY = b"Request not received in time."
_TIMEOUT_RESPONSE = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
                     b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(_TIMEOUT_BODY), _TIMEOUT_BODY))


class DeadlineH11Protocol(H11Protocol):
    """uvicorn's h11 protocol; `read_timeout` is set by `protocol_class()`."""

    read_timeout: float = 5.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timer = None
        self._phase: str | None = None  # "headers" or "body": what the armed deadline waits for
        self._partial = False  # some bytes of the awaited request line/headers have arrived

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch()

    def data_received(self, data: bytes) -> None:
        if self._phase == "headers":
            self._partial = True
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _watch(self) -> None:
        """Arm the deadline for what the connection now waits for; disarm once it has it all."""
        state = self.conn.their_state
        if self.transport.is_closing() or state not in (h11.IDLE, h11.SEND_BODY):
            self._disarm()  # the whole request is in (the app is working on it), or we are closing
            return
        phase = "headers" if state is h11.IDLE else "body"
        if phase == self._phase:
            return  # same request, same deadline: more bytes do not buy more time
        self._disarm()
        self._phase, self._partial = phase, False
        delay = self.read_timeout + (BODY_BACKSTOP_GRACE_SECONDS if phase == "body" else 0)
        self._timer = self.loop.call_later(delay, self._expired)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._phase = None, None

    def _expired(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if self._phase == "body":
            answered = cycle is not None and cycle.response_started
            if cycle is not None and not cycle.response_complete:
                # The app's receive() now returns http.disconnect and its send() does nothing.
                cycle.disconnected = True
                cycle.message_event.set()
            if not answered:
                self.transport.write(_TIMEOUT_RESPONSE)
        elif self._partial:
            self.transport.write(_TIMEOUT_RESPONSE)
        self._phase = None
        self.transport.close()


def protocol_class(read_timeout: float) -> type[DeadlineH11Protocol]:
    return type("WebhooksH11Protocol", (DeadlineH11Protocol,), {"read_timeout": read_timeout})


def server_config(host: str, port: int, **kwargs: Any) -> uvicorn.Config:
    """uvicorn's Config for the webhooks app of the configured gateway, with the deadlines."""
    from smschat.web.webhooks import create_app

    return uvicorn.Config(
        create_app(listen_address=host), host=host, port=port,
        http=protocol_class(get_settings().webhook_read_timeout_seconds),
        ws="none",  # no websockets here; an upgrade would also leave the deadline behind
        **kwargs,
    )


def serve(host: str, port: int) -> None:
    uvicorn.Server(server_config(host, port, log_level="info")).run()
