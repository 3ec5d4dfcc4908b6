"""Contacts: the seed's list of mobile workers and cases, with a Chat link per row."""

from html import escape

import pandas as pd
import streamlit as st

from pages._shared import chat_href, notice, read, viewer
from smschat.accounts import access
from smschat.accounts.access import Action
from smschat.chat import inbox
from smschat.chat.timefmt import format_timestamp
from smschat.messaging import stuck
from smschat.people import contacts, number_facts

PAGE_SIZES = [10, 25, 50, 100]

me = viewer("contacts")
st.title("Contacts")
if access.allowed(me.role, Action.CHAT):
    st.markdown("📥 [Waiting replies](inbox): conversations nobody has answered yet")  # static text

stats = read(contacts.overview, me.project_id)
# Figures for program managers; the unread one filters the list below.
c1, c2, c3, c4 = st.columns(4)
c1.metric("Conversations with unread messages", stats.unread_conversations)
c2.metric("Messages in today", stats.in_today)
c3.metric("Messages out today", stats.out_today)
c4.metric("Failed today", stats.failed_today)
if access.allowed(me.role, Action.VIEW_LOG):
    # Each figure opens the Message log filtered to exactly what it counts (static links, no user text).
    c2.markdown("[See them in the Message log](message_log?day=today&direction=in)")
    c3.markdown("[See them in the Message log](message_log?day=today&direction=out)")
    c4.markdown("[See them in the Message log](message_log?day=today&status=failed,undelivered)")
if access.allowed(me.role, Action.RETRY_STUCK) and (n_stuck := read(stuck.stuck_count, me.project_id)):
    c4.metric("Stuck messages", n_stuck)
    c4.markdown("[See them on Stuck messages](stuck)")  # a static link, like those above
if st.query_params.get("unread") == "1":
    st.session_state["contacts_unread"] = True
c1.checkbox("Show only unread", key="contacts_unread")

st.caption("Only mobile workers with a verified phone number and cases with a phone number are listed.")
left, middle, sort_col, right = st.columns([3, 2, 2, 2])
search = left.text_input("Search", placeholder="Name or phone number", key="contacts_search")
kind_label = middle.selectbox("Contact Type", ["All", "Mobile Worker", "Case"], key="contacts_kind")
sort = sort_col.selectbox("Sort by", list(contacts.SORTS), format_func=contacts.SORTS.__getitem__, key="contacts_sort")
page_size = right.selectbox("Show N contacts per page", PAGE_SIZES, index=1, key="contacts_page_size")
kind = {"Mobile Worker": "mobile_worker", "Case": "case"}.get(kind_label)
unread_only = bool(st.session_state.get("contacts_unread"))

# A new filter starts again from the first page.
filter_key = (search, kind, page_size, sort, unread_only)
if st.session_state.get("contacts_filter") != filter_key:
    st.session_state["contacts_filter"] = filter_key
    st.session_state["contacts_page"] = 0

listing = read(contacts.browse, me.project_id, search=search, kind=kind, unread_only=unread_only, sort=sort,
                page_size=page_size, page=st.session_state.get("contacts_page", 0))
rows, total, page, unread = listing.rows, listing.total, listing.page, listing.unread
pages = max(1, -(-total // page_size))
assigned = read(inbox.assignees, me.project_id, [r.id for r in rows])

frame = pd.DataFrame(
    {
        "Contact Name": [r.name for r in rows],
        "Contact Type": [r.kind_label for r in rows],
        "Phone Number": [r.phone for r in rows],
        "Unread": [unread.get(r.id, 0) for r in rows],
        "Last message": [format_timestamp(r.last_message_at, me.time_zone) if r.last_message_at else "" for r in rows],
        "Number status": [number_facts.label(r.opted_out, r.fact) for r in rows],
        "Chat": [chat_href(r.id) for r in rows],
        "Assigned to": [assigned.get(r.id, "") for r in rows],
    }
)
# The table is a canvas: screen readers get this description before it (visually hidden), and
# the same as the grid's `alt` name, which this Streamlit's frontend does not show yet.
TABLE_DESCRIPTION = (f"Contacts table, {len(rows)} of {total} shown. "
                     "Each contact's chat link is in the section of chat links below the table.")
st.html(f"<p class='smschat-sr-only'>{escape(TABLE_DESCRIPTION)}</p><style>.smschat-sr-only{{position:absolute;"
        "width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}</style>")
st.dataframe(
    frame,
    hide_index=True,
    width="stretch",
    column_config={"Chat": st.column_config.LinkColumn("Chat", display_text="Chat")},
    alt=TABLE_DESCRIPTION,
)
first = page * page_size + 1 if total else 0
last = min(total, (page + 1) * page_size)
prev_col, info_col, next_col = st.columns([1, 4, 1])
notice("markdown", f"Showing {first} to {last} of {total} contacts", where=info_col)
if prev_col.button("< Previous", disabled=page == 0):
    st.session_state["contacts_page"] = page - 1
    st.rerun()
if next_col.button("Next >", disabled=page >= pages - 1):
    st.session_state["contacts_page"] = page + 1
    st.rerun()

# The same Chat actions as plain links, each opening the contact's chat in its own tab
# (also what keyboard and screen-reader users reach; the table above is a canvas).
links = "".join(
    f"<li><a href='{escape(chat_href(r.id))}' target='_blank' rel='noopener' data-contact='{r.id}'>"
    f"Chat with {escape(r.name)}</a>{' · ' + str(unread[r.id]) + ' unread' if unread.get(r.id) else ''}</li>"
    for r in rows
)
with st.expander("Open a chat in a new tab", expanded=False):
    st.html(f"<nav aria-label='Chats'><ul class='smschat-chat-links'>{links}</ul></nav>")
