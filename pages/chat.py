"""Chat: one contact's conversation, polled by id cursor, and a compose box."""

from html import escape

import streamlit as st

from pages._shared import banner_errors, plain_heading, viewer
from smschat import chat, contacts
from smschat.config import get_settings
from smschat.db import session_scope
from smschat.errors import SmsChatError
from smschat.timefmt import DEFAULT_RANGE, HISTORY_RANGES

me = viewer("chat")
contact_id = st.query_params.get("contact")

if not contact_id:
    st.title("Chat")
    query = st.text_input("Find a contact", placeholder="Name or phone number")
    with session_scope(readonly=True) as session:
        rows = contacts.list_contacts(session, me.project_id, search=query, limit=50)
    if not rows:
        st.info("No contact matches.")
        st.stop()
    # Option labels render as plain text (button labels would be Markdown).
    choice = st.selectbox(
        "Contact", rows, format_func=lambda r: f"{r.name} · {r.kind_label} · {r.phone}", key="chat_pick"
    )
    if st.button("Open chat", type="primary"):
        st.query_params["contact"] = str(choice.id)
        st.rerun()
    st.stop()

try:
    with session_scope(readonly=True) as session:
        contact = contacts.get_contact(session, me.project_id, contact_id)
        title = chat.chat_title(session, me.project_id, contact)
        contact_id = contact.id
except SmsChatError as exc:
    st.error(str(exc))
    st.stop()

st.set_page_config(page_title=title)
plain_heading(title)

range_name = st.segmented_control(
    "Message History", list(HISTORY_RANGES), default=DEFAULT_RANGE, key=f"range_{contact_id}"
) or DEFAULT_RANGE

STATE = f"history_{contact_id}"
FINAL = {"delivered", "failed", "undelivered", "received"}


def _load(session) -> None:
    state = st.session_state.get(STATE)
    if state is None or state["range"] != range_name:
        lines = chat.get_history(session, me.project_id, contact_id, range_name=range_name)
        st.session_state[STATE] = {"range": range_name, "lines": lines}
        return
    lines = state["lines"]
    cursor = lines[-1].id if lines else 0
    lines.extend(chat.get_history(session, me.project_id, contact_id, range_name="All Time", after_id=cursor, limit=500))
    pending = [line.id for line in lines if line.status not in FINAL]
    if pending:
        current = chat.statuses(session, me.project_id, pending)
        for i, line in enumerate(lines):
            if line.id in current:
                status, error = current[line.id]
                if (status, error) != (line.status, line.error):
                    lines[i] = line.__class__(**{**line.__dict__, "status": status, "error": error})


def _render(lines) -> None:
    if not lines:
        st.caption("No messages in this range.")
        return
    rows = []
    for line in lines:
        status = ""
        if line.direction == "out":
            status = f"<span class='st-{escape(line.status)}'>{escape(line.status)}</span>"
            if line.error:
                status += f" <span class='err'>{escape(line.error)}</span>"
        rows.append(
            f"<div class='msg {escape(line.direction)}' data-id='{line.id}'>"
            f"<span class='who'>{escape(line.sender)}:</span> <span class='body'>{escape(line.body)}</span> "
            f"<span class='ts'>{escape(line.timestamp)}</span> {status}</div>"
        )
    st.html(
        "<style>.smschat-history .msg{padding:4px 0;white-space:pre-wrap;word-break:break-word}"
        ".smschat-history .who{font-weight:600}.smschat-history .ts{color:#888;font-size:.8em;margin-left:.5em}"
        ".smschat-history .st-failed,.smschat-history .st-undelivered,.smschat-history .err{color:#c00;font-size:.8em}"
        ".smschat-history [class^=st-]{font-size:.75em;color:#777;margin-left:.4em}</style>"
        f"<div class='smschat-history'>{''.join(rows)}</div>"
    )


@st.fragment(run_every=get_settings().chat_refresh_seconds)
def history() -> None:
    with banner_errors(), session_scope(readonly=True) as session:
        _load(session)
    _render(st.session_state[STATE]["lines"])


history()

BODY = f"body_{contact_id}"
if st.session_state.pop(f"sent_{contact_id}", False):
    st.session_state[BODY] = ""  # cleared only after a successful send: an error keeps the text
st.text_area("Message", key=BODY, placeholder="Type a message", height=90)
if st.button("Send", type="primary", key=f"send_{contact_id}"):
    with banner_errors():
        with session_scope() as session:
            chat.send_chat_message(session, me.project_id, contact_id, me.user_id, st.session_state[BODY])
        st.session_state[f"sent_{contact_id}"] = True
        st.rerun()
