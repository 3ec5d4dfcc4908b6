"""smschat dashboard: the login gate and the pages each role may open (routing only)."""

from __future__ import annotations

import streamlit as st

from smschat import access, audit, auth, simulator
from smschat.access import Action
from smschat.db import session_scope
from smschat.errors import SmsChatError

st.set_page_config(page_title="smschat", page_icon=":material/sms:", layout="wide")

COOKIE = "smschat_session"
PAGES = {
    "contacts": st.Page("pages/contacts.py", title="Contacts", icon=":material/group:", default=True),
    "chat": st.Page("pages/chat.py", title="Chat", icon=":material/chat:"),
    "simulator": st.Page("pages/simulator.py", title="Phone simulator", icon=":material/smartphone:"),
    "unknown_senders": st.Page("pages/unknown_senders.py", title="Unknown senders", icon=":material/contact_support:"),
    "manage_contacts": st.Page("pages/manage_contacts.py", title="Add contacts", icon=":material/person_add:"),
    "users": st.Page("pages/users.py", title="Web users", icon=":material/manage_accounts:"),
    "projects": st.Page("pages/projects.py", title="Projects", icon=":material/domain:"),
    "message_log": st.Page("pages/message_log.py", title="Message log", icon=":material/table_view:"),
    "reminders": st.Page("pages/reminders.py", title="Reminders", icon=":material/alarm:"),
    "broadcasts": st.Page("pages/broadcasts.py", title="Broadcast Messages", icon=":material/campaign:"),
    "keywords": st.Page("pages/keywords.py", title="Keywords", icon=":material/key:"),
    "surveys": st.Page("pages/surveys.py", title="Surveys", icon=":material/quiz:"),
    "settings": st.Page("pages/settings.py", title="Settings", icon=":material/settings:"),
}
# The action each page needs (smschat.access): the navigation shows a role only its pages;
# the services check again on every call.
PAGE_ACTIONS = {
    "contacts": Action.VIEW_CONTACTS,
    "chat": Action.CHAT,
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
}
if not simulator.available():
    # The simulator writes inbound messages no phone sent: only with the loopback gateway.
    del PAGES["simulator"], PAGE_ACTIONS["simulator"]


def _remember(session, user, token: str, project_id: int | None) -> None:
    projects = auth.memberships(session, user.id)
    if not projects:
        raise SmsChatError("Your account has no project yet; ask an admin.")
    st.session_state["projects"] = [
        {"project_id": p.id, "project_name": p.name, "time_zone": p.time_zone, "role": role}
        for p, role in projects
    ]
    st.session_state["identity"] = {"user_id": user.id, "username": user.username, "display_name": user.display_name}
    st.session_state["token"] = token
    ids = [p.id for p, _ in projects]
    select_project(ids.index(project_id) if project_id in ids else 0)


def restore_login() -> None:
    """A new tab of a logged-in browser: resume from the session cookie."""
    token = st.context.cookies.get(COOKIE)
    if not isinstance(token, str) or not token:
        return
    with session_scope() as session:
        ws = auth.resume_web_session(session, token)
        if ws is not None:
            try:
                _remember(session, auth.get_user_by_id(session, ws.user_id), token, ws.project_id)
            except SmsChatError:
                st.session_state.pop("viewer", None)


def still_logged_in() -> bool:
    """Every run of a logged-in page asks the server whether its session is still live.

    The idle timeout, logout in another tab and a disabled account end it on the server;
    this tab then forgets the user and shows the login form. An active user's session slides
    forward (written at most once a minute). Roles are read again, so a changed role or a
    new project shows at the next click.
    """
    token = st.session_state.get("token")
    with session_scope(readonly=True) as session:
        ws = auth.live_web_session(session, token)
        if ws is None:
            return False
        try:
            _remember(session, auth.get_user_by_id(session, ws.user_id), token, st.session_state["viewer"]["project_id"])
        except SmsChatError:
            return False
        stale = auth.needs_touch(ws)
    if stale:
        with session_scope() as session:
            auth.resume_web_session(session, token)
    return True


def forget_login(notice: str | None = None) -> None:
    for key in ("viewer", "identity", "projects", "token"):
        st.session_state.pop(key, None)
    st.session_state["cookie_js"] = f"document.cookie='{COOKIE}=; path=/; max-age=0; SameSite=Strict';"
    if notice:
        st.session_state["login_notice"] = notice


def login_form() -> None:
    st.title("smschat")
    st.caption("SMS chat for health and field programs")
    notice = st.session_state.pop("login_notice", None)
    if notice:
        st.info(notice)
    # Cleared on submit: a later login form (after logout or an idle timeout) starts empty.
    with st.form("login", clear_on_submit=True):
        username = st.text_input("Username")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Log in", type="primary")
    if submitted:
        try:
            with session_scope() as session:
                try:
                    user = auth.authenticate(session, username, password, address=st.context.ip_address)
                except SmsChatError as exc:
                    failure = exc  # caught inside the transaction, so the audit row is kept
                else:
                    failure = None
                    token = auth.start_web_session(session, user.id, None)
                    _remember(session, user, token, None)
            if failure is not None:
                raise failure
            # A browser-session cookie; the server ends the session after the idle timeout.
            st.session_state["cookie_js"] = f"document.cookie='{COOKIE}={token}; path=/; SameSite=Strict';"
            st.rerun()
        except SmsChatError as exc:
            st.error(str(exc))


def select_project(index: int) -> None:
    st.session_state["viewer"] = {**st.session_state["identity"], **st.session_state["projects"][index]}


def logout() -> None:
    with session_scope() as session:
        auth.end_web_session(session, st.session_state.get("token"))
        viewer = st.session_state.get("viewer") or {}
        audit.record(session, audit.LOGOUT, user_id=viewer.get("user_id"), username=viewer.get("username"))
    forget_login()
    st.rerun()


def sidebar() -> None:
    viewer = st.session_state["viewer"]
    with st.sidebar:
        projects = st.session_state.get("projects", [])
        if len(projects) > 1:
            names = [p["project_name"] for p in projects]
            current = names.index(viewer["project_name"])
            choice = st.selectbox("Project", range(len(names)), index=current, format_func=names.__getitem__)
            if choice != current:
                select_project(choice)
                with session_scope() as session:
                    auth.set_session_project(session, st.session_state["token"], projects[choice]["project_id"])
                st.rerun()
        else:
            st.text(f"Project: {viewer['project_name']}")
        st.text(f"Logged in as {viewer['username']} ({viewer['role']})")
        if st.button("Log out"):
            logout()


if st.session_state.get("viewer") is None:
    restore_login()
elif not still_logged_in():
    forget_login("Your session has ended. Please log in again.")
viewer = st.session_state.get("viewer")

# The cookie is written by a script of ours in the page; it holds a random token only.
# Kept in the state and rendered on every run: a run cut short by st.switch_page drops it.
cookie_js = st.session_state.get("cookie_js")
if cookie_js:
    st.html(f"<script>{cookie_js}</script>", unsafe_allow_javascript=True)
if viewer is None:
    # Every page stays routable while logged out, so a deep link such as
    # /chat?contact=7 survives the login form and opens after it.
    page = st.navigation(list(PAGES.values()), position="hidden")
    login_form()
else:
    allowed = [name for name, action in PAGE_ACTIONS.items() if access.allowed(viewer["role"], action)]
    page = st.navigation([PAGES[name] for name in allowed])
    wanted = st.session_state.pop("after_login", None)
    if wanted and wanted["page"] in allowed:
        st.switch_page(PAGES[wanted["page"]], query_params=wanted["params"])
    sidebar()
    page.run()
