"""Waiting replies: conversations whose last message is the contact's, oldest wait first."""

from html import escape

import streamlit as st

from pages._shared import act, chat_href, end_if_logged_out, notice, read, show_flash, viewer
from smschat.chat import inbox
from smschat.config import get_settings

PAGE = 25
REFRESH = get_settings().chat_refresh_seconds

me = viewer("inbox")
st.title("Waiting replies")
show_flash("flash")
st.caption("Conversations whose last message is the contact's and nobody has answered yet, oldest wait first.")
show = st.segmented_control("Show", list(inbox.SHOW), format_func=inbox.SHOW.__getitem__, default="all",
                            key="inbox_show") or "all"
staff = dict(read(inbox.assignable_users, me.project_id))
# Page cursors (the waiting id the page starts after): a new filter starts at the first page.
if st.session_state.get("inbox_filter") != show:
    st.session_state.update(inbox_filter=show, inbox_cursors=[None])
cursors = st.session_state["inbox_cursors"]

STYLE = (
    "<style>.smschat-waiting .name{font-weight:600}.smschat-waiting .wait{color:#b45309;margin-left:.5em}"
    ".smschat-waiting .who{color:#666;margin-left:.5em;font-size:.9em;white-space:nowrap}"
    ".smschat-waiting .last{white-space:pre-wrap;word-break:break-word;color:#333;margin-top:.2em}"
    ".smschat-waiting .dot{display:inline-block;width:.55em;height:.55em;border-radius:50%;background:#1a73e8;"
    "margin-right:.35em;vertical-align:middle}</style>"
)


def _row_html(row) -> str:
    dot = "<span class='dot' title='unread'></span>" if row.unread else ""
    who = f"assigned to {row.assignee_name}" if row.assignee else "unassigned"
    return (
        f"<div class='smschat-waiting{' unread' if row.unread else ''}' data-contact='{row.contact_id}'>{dot}"
        f"<a class='name' href='{escape(chat_href(row.contact_id))}' target='_self'>{escape(row.name)}</a>"
        f"<span class='wait'>{escape(row.wait)}</span><span class='who'>{escape(who)}</span>"
        f"<div class='last'>{escape(row.last_message)}</div></div>"
    )


def _actions(row, text, mine, other, to) -> None:
    if row.assignee != me.username and mine.button("Assign to me", key=f"mine_{row.contact_id}"):
        act(inbox.assign_to_me, me.project_id, row.contact_id, expected=row.assignee, where=text,
            flash=f"Assigned {row.name} to you.")
    if row.assignee and other.button("Unassign", key=f"unassign_{row.contact_id}"):
        act(inbox.assign, me.project_id, row.contact_id, None, expected=row.assignee, where=text,
            flash=f"{row.name} is unassigned.")
    with to.popover("Assign to…"):
        choice = st.selectbox("Web user", list(staff), format_func=staff.__getitem__, key=f"to_{row.contact_id}")
        if st.button("Assign", key=f"assign_{row.contact_id}"):
            act(inbox.assign, me.project_id, row.contact_id, choice, expected=row.assignee, where=text,
                flash=f"Assigned {row.name} to {staff.get(choice, choice)}.")


@st.fragment(run_every=REFRESH)
def waiting() -> None:
    """Re-read at every refresh (one indexed query), so a new reply or assignment shows by itself."""
    end_if_logged_out()
    page = read(inbox.list_waiting, me.project_id, show=show, after_id=cursors[-1], limit=PAGE)
    notice("caption", inbox.count_text(page.total) + (f" · page {len(cursors)}" if len(cursors) > 1 else ""))
    st.html(STYLE)
    if not page.rows:
        st.info("Nothing is waiting for a reply." if len(cursors) == 1 else "No more on this page.")
    for row in page.rows:
        with st.container(border=True, key=f"waiting_{row.contact_id}"):
            text, mine, other, to = st.columns([6, 2, 2, 2], vertical_alignment="center")
            text.html(_row_html(row))
            _actions(row, text, mine, other, to)
    back, more = st.columns([1, 1])
    if len(cursors) > 1 and back.button("First page", key="inbox_first"):
        cursors[:] = [None]
        st.rerun(scope="fragment")
    if page.next_after is not None and more.button("Next page", key="inbox_next"):
        cursors.append(page.next_after)
        st.rerun(scope="fragment")


waiting()
