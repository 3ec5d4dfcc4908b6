"""The host names each server answers to, and the origins a login form may come from.

A page on a name the attacker owns, whose DNS answer later changes to this machine (DNS
rebinding), reaches our port from the victim's browser as "same origin" with itself: its
requests carry `Host: <that name>` and `Origin: http://<that name>:<port>`. So both servers
refuse every request (HTTP and websocket) whose Host is not one of their own names, with 400,
before any route runs; and a login form must come from the configured dashboard origin, never
from whatever the request says its own Host is.

Names of a server: the loopback names (always: health checks and `make run`), the host of its
configured URL (`SMSCHAT_DASHBOARD_URL` / `SMSCHAT_PUBLIC_URL`), the address it listens on
when that is one address, and `SMSCHAT_ALLOWED_HOSTS`. Ports are not compared (a proxy may
call another port than the browser did).
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

from smschat.config import Settings, url_host, url_origin

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
# Listening on these means every interface: they are no name a client uses.
_ANY_ADDRESS = {"", "0.0.0.0", "::", "[::]"}


def listen_host(address: str | None) -> str | None:
    """The listening address as a Host header names it, when it is one address."""
    if address is None or address.strip().lower() in _ANY_ADDRESS:
        return None
    address = address.strip().lower()
    return f"[{address}]" if ":" in address and not address.startswith("[") else address


def _unique(names: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(name for name in names if name))


def dashboard_hosts(settings: Settings) -> list[str]:
    url = url_host(settings.dashboard_url) if settings.dashboard_url else None
    return _unique([*LOOPBACK_HOSTS, listen_host(settings.dashboard_address), url, *settings.allowed_hosts])


def webhook_hosts(settings: Settings, listen_address: str | None = None) -> list[str]:
    url = url_host(settings.public_url) if settings.public_url else None
    return _unique([*LOOPBACK_HOSTS, listen_host(listen_address), url, *settings.allowed_hosts])


def trusted_hosts(names: list[str]) -> Middleware:
    """Starlette's TrustedHostMiddleware over `names`: any other Host gets 400 "Invalid host
    header", on every route and on a websocket upgrade (no www. redirect either)."""
    return Middleware(TrustedHostMiddleware, allowed_hosts=names, www_redirect=False)


def login_origins(settings: Settings, server_port: int | None) -> set[str]:
    """The origins a login POST may come from: the configured dashboard's, and the dashboard's
    own loopback (and listening) address on the port this request arrived at. Never the
    request's own Host: a rebound name would pass."""
    origins = {url_origin(settings.dashboard_url)} if settings.dashboard_url else set()
    if server_port is not None:
        for host in _unique([*LOOPBACK_HOSTS, listen_host(settings.dashboard_address)]):
            for scheme, default_port in (("http", 80), ("https", 443)):
                origins.add(f"{scheme}://{host}" + ("" if server_port == default_port else f":{server_port}"))
    return {origin for origin in origins if origin}
