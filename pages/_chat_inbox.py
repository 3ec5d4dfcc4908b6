"""The chat's staff tools: who the conversation is assigned to (header), a quick-reply picker
and "Add as note" (beside the message box). Called from pages/chat.py."""

from html import escape

import streamlit as st

from pages._shared import act, read
from smschat.chat import inbox, notes, quickreplies


def assignee_line(me, contact_id: int) -> None:
    """Under the chat title: the assignee, Assign to me, and the way to the waiting replies."""
    who = read(inbox.assignee, me.project_id, contact_id)
    text = f"Assigned to {who.name}" if who else "Unassigned"
    left, right = st.columns([5, 1], vertical_alignment="center")
    left.html(f"<div class='smschat-assignee' data-assignee='{escape(who.username) if who else ''}'>"
              f"{escape(text)} · <a href='inbox' target='_self'>Waiting replies</a></div>")
    if (who is None or who.username != me.username) and right.button("Assign to me", key=f"assign_me_{contact_id}"):
        act(inbox.assign_to_me, me.project_id, contact_id, expected=who.username if who else None, where=left)


def _insert(me, contact_id: int) -> None:
    """The picker's callback: the chosen reply, filled in for this contact, replaces the box's text
    (before the box is drawn again, so the live counter counts it at once)."""
    key = f"quick_{contact_id}"
    chosen = st.session_state.get(key)
    if chosen is not None:
        st.session_state[f"body_{contact_id}"] = read(quickreplies.filled_quick_reply, me.project_id, chosen, contact_id)
        st.session_state[key] = None


def _note(me, contact_id: int) -> None:
    box = f"body_{contact_id}"
    if act(notes.add_note, me.project_id, contact_id, st.session_state.get(box, ""), rerun=False) is not None:
        st.session_state[box] = ""


def composer_tools(me, contact_id: int) -> None:
    """Beside the message box: insert a quick reply; keep the text as a note instead of sending it."""
    replies = read(quickreplies.list_quick_replies, me.project_id)
    pick, note = st.columns([4, 1], vertical_alignment="bottom")
    if replies:
        titles = {r.id: r.title for r in replies}
        pick.selectbox("Quick reply", list(titles), format_func=titles.__getitem__, index=None,
                       placeholder="Insert a quick reply…", key=f"quick_{contact_id}", on_change=_insert,
                       args=(me, contact_id))
    note.button("Add as note", key=f"note_{contact_id}", on_click=_note, args=(me, contact_id),
                help="A note for staff only: shown in the thread, never sent to the contact.")
