"""The dashboard's own HTTP routes: the login page, logging in and out, security headers.

The session cookie is set here, by the server, as `HttpOnly; SameSite=Strict; Path=/`
(`Secure` when the dashboard is served over https): no script of the page can read it, and
the token never appears in a page. The Streamlit script (dashboard.py) only reads it.
"""

from __future__ import annotations

import hashlib
import logging
import re
from base64 import b64encode
from collections.abc import Iterable
from html import escape
from urllib.parse import parse_qs, urlencode, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smschat.accounts import auth
from smschat.config import get_settings, url_origin
from smschat.db import session_scope
from smschat.errors import SmsChatError
from smschat.gateways.webhook import Refused, read_body
from smschat.web import failures, hosts

log = logging.getLogger("smschat.dashboard")

COOKIE = "smschat_session"
DEVICE_COOKIE = auth.DEVICE_COOKIE
MAX_FORM_BYTES = 16 * 1024
ENDED = "Your session has ended. Please log in again."
LOGGED_OUT = "You are logged out."
CROSS_SITE = "Refused: this login did not come from this site's own login page."

_CONTROL = re.compile(r"[\x00-\x1f\x7f\\]")


def safe_next(value: str | None) -> str:
    """Where to go after the login: a path of this site only (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or _CONTROL.search(value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path.startswith(("/login", "/logout")):
        return "/"
    return value


def login_url(next_path: str, *, ended: bool = False) -> str:
    query = {"next": safe_next(next_path)}
    if ended:
        query["ended"] = "1"
    return "/login?" + urlencode(query)


def secure_cookies() -> bool:
    settings = get_settings()
    return any((url or "").lower().startswith("https://") for url in (settings.dashboard_url, settings.public_url))


def _origin(url: str | None) -> str | None:
    """scheme://host[:port] of an Origin or Referer header, spelled as hosts.login_origins
    spells ours; None when it names no http(s) origin."""
    if not url:
        return None
    parts = urlsplit(url)
    return url_origin(f"{parts.scheme}://{parts.netloc}")


def same_origin(request: Request) -> bool:
    """A POST from a page of this dashboard: its Origin is the configured dashboard's, or the
    dashboard's own loopback address on this port (hosts.login_origins), never merely the
    request's own Host, which a DNS-rebound page sets to its own name.

    Browsers send Origin on every POST; when it is absent (an older browser, a privacy
    extension) the Referer counts instead: our pages send it to their own origin
    (Referrer-Policy: same-origin). With neither, or `Origin: null` (a sandboxed frame, a
    redirect from elsewhere), the POST is refused: a client without them is no browser on
    one of our pages, and staff log in from one."""
    sent = request.headers.get("origin")
    claimed = _origin(sent) if sent and sent != "null" else None
    if sent is None:
        claimed = _origin(request.headers.get("referer"))
    if claimed is None:
        return False
    server = request.scope.get("server")
    port = server[1] if server and len(server) > 1 and isinstance(server[1], int) else None
    return claimed in hosts.login_origins(get_settings(), port)


# --- the login page --------------------------------------------------------------------------

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>smschat - Log in</title>
<style>
body{{font-family:system-ui,sans-serif;background:#f6f7f9;color:#222;margin:0}}
main{{max-width:24rem;margin:10vh auto;background:#fff;padding:2rem;border-radius:.5rem;box-shadow:0 1px 4px #0002}}
h1{{margin:0 0 .2rem}} .caption{{color:#666;margin:0 0 1.5rem}}
label{{display:block;margin:.8rem 0 .3rem;font-size:.9rem}}
input{{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem;border:1px solid #bbb;border-radius:.3rem}}
button{{margin-top:1.2rem;padding:.55rem 1.2rem;font-size:1rem;background:#ff4b4b;color:#fff;border:0;border-radius:.3rem;cursor:pointer}}
.notice{{background:#e8f0fe;padding:.6rem .8rem;border-radius:.3rem}}
.error{{background:#fdecea;color:#8a1c12;padding:.6rem .8rem;border-radius:.3rem}}
</style></head>
<body><main>
<h1>smschat</h1>
<p class="caption">SMS chat for health and field programs</p>
{message}
<form method="post" action="/login">
<input type="hidden" name="next" value="{next}">
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Log in</button>
</form>
</main></body></html>
"""


def _page(next_path: str, *, notice: str | None = None, error: str | None = None, status: int = 200) -> HTMLResponse:
    # Every text goes in escaped: an error may one day carry user input.
    message = ""
    if notice:
        message += f'<p class="notice" role="status">{escape(notice)}</p>'
    if error:
        message += f'<p class="error" role="alert">{escape(error)}</p>'
    html = _PAGE.format(message=message, next=escape(safe_next(next_path), quote=True))
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


async def login_page(request: Request) -> Response:
    params = request.query_params
    notice = ENDED if params.get("ended") == "1" else LOGGED_OUT if params.get("out") == "1" else None
    return _page(params.get("next", "/"), notice=notice)


async def _bounded_form(request: Request) -> dict[str, str] | None:
    """The urlencoded form, read with a ceiling (a login form is tiny) and the webhooks' read
    deadline; None when it is too large, too slow or not a form."""
    try:
        body = await read_body(request, limit=MAX_FORM_BYTES)
    except Refused:
        return None
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=10)
    except (UnicodeDecodeError, ValueError):
        return None
    return {key: values[0] for key, values in fields.items()}


def _log_in(username: str, password: str, address: str | None, device: str | None) -> tuple[str, str]:
    failure: SmsChatError | None = None
    with session_scope() as session:
        try:
            user = auth.authenticate(session, username, password, address=address, device=device)
        except SmsChatError as exc:
            failure = exc  # caught inside the transaction, so the audit row is kept
        else:
            if not auth.memberships(session, user.id):
                raise SmsChatError("Your account has no project yet; ask an admin.")
            token = auth.start_web_session(session, user.id, None)
            device_token = auth.remember_device(session, user.id)
    if failure is not None:
        raise failure
    return token, device_token


def _set_cookie(response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", secure=secure_cookies(),
                        httponly=True, samesite="strict")


async def login(request: Request) -> Response:
    if not same_origin(request):
        log.warning("cross-site login refused (Origin %r)", request.headers.get("origin"))
        return _page("/", error=CROSS_SITE, status=403)
    form = await _bounded_form(request)
    if form is None:
        return _page("/", error="The login form was not readable.", status=400)
    next_path = safe_next(form.get("next"))
    address = request.client.host if request.client else None
    device = request.cookies.get(DEVICE_COOKIE) or None
    try:
        token, device_token = await run_in_threadpool(
            _log_in, form.get("username", ""), form.get("password", ""), address, device)
    except SmsChatError as exc:
        return _page(next_path, error=str(exc), status=exc.http_status)
    except Exception as exc:  # the database: one line and an error id, the traceback to the log
        message, error_id = failures.report(exc)
        return _page(next_path, error=f"{message} (error id {error_id})", status=503)
    response = RedirectResponse(next_path, status_code=303)
    # A browser-session cookie; the server ends the session after the idle timeout.
    _set_cookie(response, COOKIE, token, None)
    _set_cookie(response, DEVICE_COOKIE, device_token, auth.DEVICE_COOKIE_MAX_AGE)
    return response


async def logout(request: Request) -> Response:
    """Ends the session of this browser (if the dashboard has not already) and clears its
    cookie. The sidebar's Log out button ends the session over the page's own connection,
    then sends the browser here."""
    token = request.cookies.get(COOKIE)
    if token:
        try:
            await run_in_threadpool(_in_transaction, auth.log_out, token)
        except Exception as exc:
            failures.report(exc)  # the cookie is cleared all the same
    response = RedirectResponse("/login?out=1", status_code=303)
    response.delete_cookie(COOKIE, path="/", secure=secure_cookies(), httponly=True, samesite="strict")
    return response


def _in_transaction(fn, *args) -> None:
    with session_scope() as session:
        fn(session, *args)


def middleware(csp: str) -> list[Middleware]:
    """The dashboard's middleware, outermost first: the security headers on every response
    (a refused Host's 400 too), then the Host check (hosts.py) before any route or websocket."""
    return [Middleware(SecurityHeaders, csp=csp), hosts.trusted_hosts(hosts.dashboard_hosts(get_settings()))]


def routes() -> list[Route]:
    return [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["GET"]),
    ]


# --- security headers ------------------------------------------------------------------------

def script_hash(source: str) -> str:
    return "'sha256-" + b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


def content_security_policy(inline_scripts: Iterable[str]) -> str:
    """Scripts: our own files and the few inline scripts we know, by hash. Styles stay
    'unsafe-inline' (Streamlit styles its elements inline). Nothing loads from elsewhere."""
    scripts = " ".join(["'self'", *sorted({script_hash(s) for s in inline_scripts})])
    return "; ".join([
        "default-src 'self'",
        f"script-src {scripts}",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "frame-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


class SecurityHeaders:
    """Adds the security headers to every HTTP response (pure ASGI: websockets pass through)."""

    def __init__(self, app: ASGIApp, csp: str) -> None:
        self.app = app
        self.headers = [
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"content-security-policy", csp.encode()),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (name, value) for name, value in self.headers if name not in names]
            await send(message)

        await self.app(scope, receive, send_with_headers)
