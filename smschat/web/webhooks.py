"""The webhooks app (Starlette, under uvicorn): `/healthz` and the webhook routes of the
configured gateway (smschat.gateways: Twilio's signed callbacks, or the loopback gateway's
simulator path). It faces the public internet, so it runs on its own, apart from the
dashboard. Bodies, forms and error statuses: smschat.gateways.webhook.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from smschat.config import get_settings
from smschat.db import database_reachable
from smschat.gateways import webhook_routes
from smschat.web import hosts


async def healthz(request: Request) -> JSONResponse:
    if not await run_in_threadpool(database_reachable):
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok"})


def create_app(listen_address: str | None = None) -> Starlette:
    """The app for the configured gateway (settings are read now, once): only its routes
    exist, so the unsigned simulator path is absent with a real gateway. A request whose Host
    is not one of the webhooks' names (smschat.web.hosts) gets 400 before any route runs, so
    before any signature is computed."""
    names = hosts.webhook_hosts(get_settings(), listen_address)
    return Starlette(routes=[Route("/healthz", healthz, methods=["GET"]), *webhook_routes()],
                     middleware=[hosts.trusted_hosts(names)])


def __getattr__(name: str) -> Starlette:
    # `smschat.web.webhooks:app` for uvicorn's command line, built when asked for, not at import.
    if name == "app":
        return create_app()
    raise AttributeError(name)
