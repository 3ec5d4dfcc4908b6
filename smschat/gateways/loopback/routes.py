"""The loopback gateway's webhook: the simulator's inbound path (a program on this machine
playing a phone). Unsigned by nature, so it exists only with this gateway."""

from __future__ import annotations

import ipaddress

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from smschat.accounts.projects import get_project_by_slug
from smschat.db import session_scope
from smschat.gateways.webhook import Refused, answer, read_form
from smschat.messaging import inbound


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
        form = await read_form(request, ("project", "From", "Body"))
    except Refused as exc:
        return exc.response()

    def work() -> Response:
        with session_scope() as session:
            project = get_project_by_slug(session, form["project"])
            result = inbound.receive_sms(
                session, project, form["From"], form["Body"],
                gateway_message_id=form.get("MessageSid") or None, gateway="loopback",
            )
            return PlainTextResponse(f"message {result.message.id}", status_code=200 if result.duplicate else 201)

    return await answer(work)


def routes() -> list[Route]:
    return [Route("/loopback/inbound", loopback_inbound, methods=["POST"])]
