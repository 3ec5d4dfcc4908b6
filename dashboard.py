"""smschat dashboard: the login gate and the pages each role may open (routing only)."""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.runtime.scriptrunner import get_script_run_ctx

from pages._shared import notice, session_token, show_failure, unchecked
from smschat.accounts import access, auth
from smschat.accounts.access import Action
from smschat.errors import SmsChatError
from smschat.messaging import simulator
from smschat.web.login import login_url

# Emoji icons, not :material/...: ones, which a browser fetches from an outside font server.
st.set_page_config(page_title="smschat", page_icon="💬", layout="wide")

PAGES = {
    "contacts": st.Page("pages/contacts.py", title="Contacts", icon="👥", default=True),
    "chat": st.Page("pages/chat.py", title="Chat", icon="💬"),
    "search": st.Page("pages/search.py", title="Search", icon="🔎"),
    "inbox": st.Page("pages/inbox.py", title="Waiting replies", icon="📥"),
    "simulator": st.Page("pages/simulator.py", title="Phone simulator", icon="📱"),
    "unknown_senders": st.Page("pages/unknown_senders.py", title="Unknown senders", icon="❔"),
    "manage_contacts": st.Page("pages/manage_contacts.py", title="Add contacts", icon="➕"),
    "users": st.Page("pages/users.py", title="Web users", icon="👤"),
    "projects": st.Page("pages/projects.py", title="Projects", icon="🏢"),
    "message_log": st.Page("pages/message_log.py", title="Message log", icon="📋"),
    "reminders": st.Page("pages/reminders.py", title="Reminders", icon="⏰"),
    "broadcasts": st.Page("pages/broadcasts.py", title="Broadcast Messages", icon="📣"),
    "keywords": st.Page("pages/keywords.py", title="Keywords", icon="🔑"),
    "surveys": st.Page("pages/surveys.py", title="Surveys", icon="📝"),
    "settings": st.Page("pages/settings.py", title="Settings", icon="⚙️"),
    "stuck": st.Page("pages/stuck.py", title="Stuck messages", icon="🚧"),
}
# The action each page needs (smschat.access): the navigation shows a role only its pages;
# the services check again on every call.
PAGE_ACTIONS = {
    "contacts": Action.VIEW_CONTACTS,
    "chat": Action.CHAT,
    "search": Action.CHAT,
    "inbox": Action.CHAT,
    "simulator": Action.SIMULATE,
    "unknown_senders": Action.VIEW_CONTACTS,
    "manage_contacts": Action.MANAGE_CONTACTS,
    "users": Action.MANAGE_USERS,
    "projects": Action.MANAGE_PROJECTS,
    "message_log": Action.VIEW_LOG,
    "reminders": Action.MANAGE_AUTOMATION,
    "broadcasts": Action.MANAGE_AUTOMATION,
    "keywords": Action.MANAGE_AUTOMATION,
    "surveys": Action.MANAGE_AUTOMATION,
    "settings": Action.CHANGE_SETTINGS,
    "stuck": Action.RETRY_STUCK,
}
# How the navigation groups the pages (every page of PAGES in exactly one section).
SECTIONS = {
    "Conversations": ["contacts", "chat", "inbox", "search", "simulator", "unknown_senders"],
    "Messaging": ["broadcasts", "reminders", "keywords", "surveys", "stuck", "message_log"],
    "Administration": ["manage_contacts", "settings", "users", "projects"],
}
if sorted(n for names in SECTIONS.values() for n in names) != sorted(PAGES):
    raise RuntimeError("SECTIONS must list every page of PAGES exactly once")  # else a page vanishes from the menu
if not simulator.available():
    # The simulator writes inbound messages no phone sent: only with the loopback gateway.
    del PAGES["simulator"], PAGE_ACTIONS["simulator"]


def _remember(session, user, project_id: int | None) -> None:
    projects = auth.memberships(session, user.id)
    if not projects:
        raise SmsChatError("Your account has no project yet; ask an admin.")
    st.session_state["projects"] = [
        {"project_id": p.id, "project_name": p.name, "time_zone": p.time_zone, "role": role}
        for p, role in projects
    ]
    st.session_state["identity"] = {"user_id": user.id, "username": user.username, "display_name": user.display_name}
    ids = [p.id for p, _ in projects]
    select_project(ids.index(project_id) if project_id in ids else 0)


def still_logged_in(token: str | None) -> bool:
    """Every run asks the server whether this browser's session is still live.

    The token comes from the HttpOnly cookie that the login route set (smschat/web/login.py);
    this script only reads it. The idle timeout, logout in another tab and a disabled
    account end it on the server; an active user's session slides forward (written at
    most once a minute). Roles are read again, so a changed role or a new project shows
    at the next click.
    """
    if token is None:
        return False
    stale = unchecked(_check_login, token, readonly=True)
    if stale is None:
        return False
    if stale:
        unchecked(auth.resume_web_session, token)
    return True


def _check_login(session, token: str) -> bool | None:
    """None when the session is over; else whether it is due to slide forward."""
    ws = auth.live_web_session(session, token)
    if ws is None:
        return None
    current = (st.session_state.get("viewer") or {}).get("project_id", ws.project_id)
    try:
        _remember(session, auth.get_user_by_id(session, ws.user_id), current)
    except SmsChatError:
        return None
    return auth.needs_touch(ws)


def forget_login() -> None:
    for key in ("viewer", "identity", "projects", "token"):
        st.session_state.pop(key, None)


def go_to(url: str) -> None:
    """Send the browser to a server route (the login page, /logout): the message Streamlit's
    own login uses, so no script of ours runs in the page."""
    ctx = get_script_run_ctx()
    if ctx is not None:
        msg = ForwardMsg()
        msg.auth_redirect.url = url
        ctx.enqueue(msg)


def send_to_login(page, ended: bool) -> None:
    """The login page, with this page and its query (e.g. /chat?contact=7) to come back to.

    Decided here, not on the HTML request: a SameSite=Strict cookie is not sent when a link
    from another site opens the page, but it is on the page's own connection."""
    wanted = st.session_state.pop("after_login", None)  # a page file that ran first (pages/_shared.py)
    if wanted and wanted["page"] in PAGES:
        path, params = "/" + PAGES[wanted["page"]].url_path, wanted["params"]
    else:
        path, params = "/" + page.url_path, st.query_params.to_dict()
    query = urlencode(params)
    url = login_url(path + ("?" + query if query else ""), ended=ended)
    if ended:
        st.info("Your session has ended. Please log in again.")
    st.link_button("Log in", url)  # in case the browser does not follow at once
    go_to(url)


def select_project(index: int) -> None:
    st.session_state["viewer"] = {**st.session_state["identity"], **st.session_state["projects"][index]}


def logout(token: str | None) -> None:
    unchecked(auth.log_out, token)
    forget_login()
    go_to("/logout")  # the server clears the cookie
    st.stop()


def sidebar(token: str) -> None:
    viewer = st.session_state["viewer"]
    with st.sidebar:
        projects = st.session_state.get("projects", [])
        if len(projects) > 1:
            names = [p["project_name"] for p in projects]
            current = names.index(viewer["project_name"])
            choice = st.selectbox("Project", range(len(names)), index=current, format_func=names.__getitem__)
            if choice != current:
                select_project(choice)
                unchecked(auth.set_session_project, token, projects[choice]["project_id"])
                st.rerun()
        else:
            st.text(f"Project: {viewer['project_name']}")
        st.text(f"Logged in as {viewer['username']} ({viewer['role']})")
        if st.button("Log out"):
            logout(token)


def main() -> None:
    token = session_token()
    was_here = st.session_state.get("viewer") is not None
    if not still_logged_in(token):
        forget_login()
        # Every page stays routable while logged out, so the login can come back to it.
        page = st.navigation(list(PAGES.values()), position="hidden")
        NAVIGATED.append(True)
        send_to_login(page, ended=was_here or token is not None)
        return
    viewer = st.session_state["viewer"]
    allowed = [name for name, action in PAGE_ACTIONS.items() if access.allowed(viewer["role"], action)]
    sections: dict[str, list] = {}
    for title, names in SECTIONS.items():
        if shown := [PAGES[name] for name in names if name in allowed]:
            sections[title] = shown
    # Fully expanded: with sixteen pages Streamlit would otherwise hide the last ones
    # (Settings among them) behind "View more".
    page = st.navigation(sections, expanded=True)
    NAVIGATED.append(True)
    wanted = st.session_state.pop("after_login", None)
    if wanted and wanted["page"] in allowed:
        st.switch_page(PAGES[wanted["page"]], query_params=wanted["params"])
    sidebar(token)
    page.run()


def hide_navigation() -> None:
    """Before st.navigation has run, Streamlit would list every file of pages/ instead."""
    if not NAVIGATED:
        st.navigation(list(PAGES.values()), position="hidden")


NAVIGATED: list[bool] = []
# One place for what nobody raised on purpose (a database that is away, read-only...):
# a line and an error id on the page, the traceback in the log. Streamlit's own control
# flow (rerun, stop, switch_page) is not an Exception and passes through.
try:
    main()
except SmsChatError as exc:
    hide_navigation()
    notice("error", str(exc))
except Exception as exc:
    hide_navigation()
    show_failure(exc)
