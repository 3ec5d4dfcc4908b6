"""What every page shares: who is logged in, `read`/`act` (the transaction, the actor, errors
beside the widget), and user text shown literally (one place)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from html import escape

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from smschat.accounts import auth
from smschat.accounts.actor import Actor
from smschat.db import database_reachable, session_scope
from smschat.errors import SmsChatError
from smschat.web import failures
from smschat.web.login import COOKIE as SESSION_COOKIE


@dataclass(frozen=True)
class Viewer:
    user_id: int
    username: str
    display_name: str
    project_id: int
    project_name: str
    time_zone: str
    role: str


def viewer(page: str) -> Viewer:
    """The logged-in web user and their current project.

    Logged out, the page hands over to the login gate and asks to come back afterwards
    (with its query string, e.g. ?contact=7). This happens when Streamlit runs a file of
    pages/ directly, before dashboard.py has installed st.navigation in this process.
    """
    data = st.session_state.get("viewer")
    if not data:
        st.session_state["after_login"] = {"page": page, "params": st.query_params.to_dict()}
        st.switch_page("dashboard.py")
    return Viewer(**data)


def end_if_logged_out() -> None:
    """For a fragment that refreshes by itself (it does not pass through the dashboard's
    check): once the server has ended the session (idle timeout, logout elsewhere, user
    disabled), run the whole app again, which then shows the login form."""
    token = session_token()
    if token is None:
        return  # a page rendered on its own (AppTest): the dashboard owns the login
    with session_scope(readonly=True) as session:
        alive = auth.live_web_session(session, token) is not None
    if not alive:
        st.rerun()


def session_token() -> str | None:
    """The login token: the HttpOnly cookie the login route set, as this tab's connection
    sent it (else the one this tab already holds on the server, as AppTest seeds it)."""
    for token in (st.context.cookies.get(SESSION_COOKIE), st.session_state.get("token")):
        if isinstance(token, str) and token:
            return token
    return None


RETRY_SECONDS = 5


def show_failure(exc: Exception) -> None:
    """An error nobody raised on purpose: one line and an error id on the page, the traceback
    in the server log. While the database is away, the page tries again by itself."""
    message, error_id = failures.report(exc)
    notice("error", f"{message} (error id {error_id})", icon="⚠️")
    ctx = get_script_run_ctx()
    # A fragment that refreshes by itself (the chat) retries anyway; a full run waits here.
    if failures.retrying(exc) and ctx is not None and not ctx.fragment_ids_this_run:
        st.session_state["_failed_at"] = time.monotonic()
        _retry_when_reachable()


@st.fragment(run_every=RETRY_SECONDS)
def _retry_when_reachable() -> None:
    waited = time.monotonic() - st.session_state.get("_failed_at", 0.0)
    if waited >= RETRY_SECONDS - 1 and database_reachable():
        st.rerun(scope="app")


def on_script_error(exc: Exception) -> bool:
    """The App's handler for what escapes a script run or a fragment's refresh."""
    if isinstance(exc, SmsChatError):
        notice("error", str(exc))
    else:
        show_failure(exc)
    return True  # never Streamlit's own traceback box


def chat_href(contact_id: int, at: int | None = None) -> str:
    """The link to a contact's chat (relative, as the pages link to each other); with `at`, opened
    at that message. The one place that spells the chat's address; escape it inside HTML."""
    return f"chat?contact={int(contact_id)}" + (f"&at={int(at)}" if at is not None else "")


def acting_user() -> Actor:
    """What the services are told about who acts: the logged-in web user (pages never build
    it themselves)."""
    return Actor.web(st.session_state["viewer"]["user_id"])


def read(fn, *args, where=None, **kwargs):
    """`fn(session, actor, *args, **kwargs)` in a read-only transaction, for what a page shows.
    An SmsChatError is shown (beside `where`, a container or column, else on the page) and
    the page stops there: nothing below it can use what was not loaded. (In a fragment's own
    refresh, only the fragment stops; it tries again at its next refresh.)"""
    try:
        with session_scope(readonly=True) as session:
            return fn(session, acting_user(), *args, **kwargs)
    except SmsChatError as exc:
        notice("error", str(exc), where=where)
        st.stop()


def act(fn, *args, where=None, flash=None, rerun: bool = True, **kwargs):
    """`fn(session, actor, *args, **kwargs)` in its own transaction, for a button or form.

    Committed, then the page runs again to show it (a rerun inside the transaction would roll
    it back). With `flash` (a text, or a function of what `fn` returns, read before the
    commit), that text is shown once after the rerun (`show_flash("flash")`); a text `fn`
    returns itself is the flash when `flash` is a text. With `rerun=False` the page goes on:
    the flash shows at once beside `where`, and `act` returns what `fn` returned.
    An SmsChatError is shown beside `where` instead, nothing is committed, the page goes on
    (and `act` returns None)."""
    try:
        with session_scope() as session:
            done = fn(session, acting_user(), *args, **kwargs)
            # Before the commit: afterwards the rows `fn` returned are expired.
            if callable(flash):
                text = flash(done)
            elif flash:
                text = done if isinstance(done, str) else flash
            else:
                text = None
    except SmsChatError as exc:
        notice("error", str(exc), where=where)
        return None
    if not rerun:
        if text is not None:
            notice("success", text, where=where)
        return done
    if text is not None:
        st.session_state["flash"] = text
    st.rerun()


def unchecked(fn, *args, readonly: bool = False, **kwargs):
    """`fn(session, *args, **kwargs)` in its own transaction, with no actor: only for the login
    gate (dashboard.py), which runs before anybody is known. Errors are the caller's."""
    with session_scope(readonly=readonly) as session:
        return fn(session, *args, **kwargs)


def show_flash(flash_key: str) -> None:
    message = st.session_state.pop(flash_key, None)
    if message:
        notice("success", message)


def plain_heading(text: str, level: int = 1) -> None:
    """A heading from user data (names): escaped, so it is never Markdown or HTML."""
    st.html(f"<h{level} class='smschat-heading'>{escape(text)}</h{level}>")


# Markdown that works anywhere in a line: emphasis, code, links and images, HTML, entities,
# tables, strikethrough, math, Streamlit's :color[...] / :material/...: / :emoji:.
_ESCAPE_ANYWHERE = frozenset("\\`*_{}[]<>!|~$#&")
# A colon before a non-blank (:red[, :material/, http://); "Saved: x" stays as written.
_COLON = re.compile(r":(?=\S)")
# What starts a block only at the start of a line: a list item, a setext underline, `1.`.
_LINE_START = re.compile(r"^( *)([-+=]|\d{1,9}(?=[.)]))")
NOTICE_KINDS = ("success", "info", "warning", "error", "caption", "markdown", "subheader", "toast")


# Web and mail addresses: Streamlit's Markdown turns them into links after escapes are read,
# so they go into a code span instead, where nothing is a link.
_ADDRESS = re.compile(r"(?:(?:https?|ftp)://|www\.|(?:mailto|xmpp):)\S+|[\w.+-]+@[\w-]+\.[\w.-]+", re.I)


def _code_span(text: str) -> str:
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _escape_plain(text: str) -> str:
    return _COLON.sub(r"\\:", "".join("\\" + ch if ch in _ESCAPE_ANYWHERE else ch for ch in text))


def _escape_inline(line: str) -> str:
    out, last = [], 0
    for match in _ADDRESS.finditer(line):
        out += [_escape_plain(line[last:match.start()]), _code_span(match.group())]
        last = match.end()
    return "".join(out) + _escape_plain(line[last:])


def literal_markdown(text: str) -> str:
    """`text` escaped so Streamlit's Markdown shows it exactly as typed (nothing is a link,
    an image, HTML or formatting); ordinary sentences come out unchanged."""
    lines = []
    for line in str(text).split("\n"):
        line = _escape_inline(line)
        match = _LINE_START.match(line)
        if match and match.group(2)[0] in "-+=":
            line = match.group(1) + "\\" + line[match.end(1):]
        elif match:  # "1." / "1)": escape the mark after the digits
            line = line[:match.end()] + "\\" + line[match.end():]
        lines.append(line)
    return "\n".join(lines)


def notice(kind: str, text: object, *, where=None, **options) -> None:
    """Show text that holds user data (names, bodies, error messages quoting input) in
    st.success / info / warning / error / caption / ... styling, as plain text.
    `where` is a container or column (default: the page)."""
    if kind not in NOTICE_KINDS:
        raise ValueError(f"notice kind must be one of {NOTICE_KINDS}")
    getattr(st if where is None else where, kind)(literal_markdown(str(text)), **options)
