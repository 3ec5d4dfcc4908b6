"""Send later, in the chat: schedule the typed message for a local date and time, and this
conversation's scheduled messages with Edit and Cancel. One call from pages/chat.py."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import streamlit as st

from pages._shared import act, notice, read
from smschat.messaging import later

TWICE = "If this time happens twice that night (clocks go back), the second one"


def _when(prefix: str, day, wall) -> tuple:
    """Date and time inputs (the project's local time), with the repeated-hour choice."""
    left, right = st.columns(2)
    day = left.date_input("Date", value=day, key=f"{prefix}_day", format="MM/DD/YYYY")
    wall = right.time_input("Time", value=wall, key=f"{prefix}_time", step=60, format="12h")
    second = st.checkbox(TWICE, key=f"{prefix}_second")
    return day, wall, second


def _done(contact_id: int, win: dict, note: str) -> None:
    """Show what was done after the rerun; the history reloads (a message changed or went)."""
    st.session_state[f"later_note_{contact_id}"] = note
    win["range"] = None
    st.rerun()


def send_later(me, contact_id: int, win: dict) -> None:
    """The Send later control beside the composer, then the scheduled messages of this chat."""
    note = st.session_state.pop(f"later_note_{contact_id}", None)
    if note:
        notice("success", note)
    now = datetime.now(ZoneInfo(me.time_zone))
    soon = (now + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    with st.popover("Send later", key=f"later_open_{contact_id}"):
        notice("caption", f"Sends the message in the box at a local time ({me.time_zone}).")
        day, wall, second = _when(f"later_new_{contact_id}", soon.date(), soon.time())
        if st.button("Schedule", type="primary", key=f"later_go_{contact_id}"):
            done = act(later.schedule_message, me.project_id, contact_id,
                       st.session_state.get(f"body_{contact_id}", ""), day, wall, second=second, rerun=False)
            if done is not None:
                st.session_state[f"sent_{contact_id}"] = True  # the chat page clears the box
                _done(contact_id, win, done.note)
    for line in read(later.scheduled_messages, me.project_id, contact_id):
        with st.container(border=True, key=f"later_line_{line.id}"):
            text_col, edit_col, cancel_col = st.columns([6, 1, 1], vertical_alignment="center")
            text_col.text(f"{line.author}: {line.body}\n{line.when}"
                          + (f" · {line.status_line.split('; ')[-1]}" if "quiet hours" in line.status_line else ""))
            with edit_col.popover("Edit", key=f"later_edit_{line.id}"):
                body = st.text_area("Message", value=line.body, key=f"later_body_{line.id}")
                day, wall, second = _when(f"later_msg_{line.id}", line.local_date, line.local_time)
                if st.button("Save", type="primary", key=f"later_save_{line.id}"):
                    done = act(later.edit_scheduled, me.project_id, line.id, body, day, wall, second=second,
                               rerun=False)
                    if done is not None:
                        _done(contact_id, win, done.note)
            if cancel_col.button("Cancel", key=f"later_cancel_{line.id}"):
                words = act(later.cancel_scheduled, me.project_id, line.id, rerun=False, where=text_col)
                if words:
                    _done(contact_id, win, words)
