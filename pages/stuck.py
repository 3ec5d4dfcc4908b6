"""Stuck messages (supervisors, admins): outgoing messages that did not get through or wait too
long, with the reason in plain words and what to do; Retry only where it is safe; messages past
their deadline (expired) with Send anyway and Cancel."""

import pandas as pd
import streamlit as st

from pages._shared import act, notice, read, show_flash, viewer
from smschat.messaging import stuck

me = viewer("stuck")
st.title("Stuck messages")
st.caption("Failed, undelivered, unknown and expired outgoing messages, and queued or sending ones waiting longer "
           "than the threshold (SMSCHAT_STUCK_AFTER_MINUTES). A message scheduled for later is not stuck.")
show_flash("flash")

rows = read(stuck.stuck_messages, me.project_id)
if not rows:
    st.info("No stuck messages.")
    st.stop()

RETRY_WORDS = {"bulk": "Safe", "confirm": "Confirm each", "": "No"}
EXPIRED_WORDS = "Send anyway / Cancel"
safe = [r.id for r in rows if r.retry == "bulk"]
notice("markdown", f"{len(rows)} stuck message{'s' if len(rows) != 1 else ''}; {len(safe)} safe to retry.")
table = st.dataframe(
    pd.DataFrame({
        "Age": [r.age for r in rows],
        "Contact": [r.contact_name for r in rows],
        "Status": [r.status for r in rows],
        "Why": [r.reason for r in rows],
        "What to do": [r.what_to_do for r in rows],
        "Retry": [EXPIRED_WORDS if r.expired else RETRY_WORDS[r.retry] for r in rows],
        "Message": [r.body for r in rows],
        "Phone Number": [r.phone_number for r in rows],
        "Gateway said": [r.error for r in rows],
        "Written": [r.timestamp for r in rows],
    }),
    hide_index=True, width="stretch", on_select="rerun", selection_mode="multi-row", key="stuck_table",
)
chosen = [rows[i].id for i in table.selection.rows] if table and table.selection else []

left, right = st.columns(2)
if left.button(f"Retry the safe ones ({len(safe)})", type="primary", disabled=not safe, key="stuck_retry_all"):
    act(stuck.retry_stuck, me.project_id, safe, flash=lambda done: done.words)
if right.button(f"Retry selected ({len(chosen)})", disabled=not chosen, key="stuck_retry_selected",
                help="Only the selected messages that are safe to retry; the others stay as they are."):
    act(stuck.retry_stuck, me.project_id, chosen, flash=lambda done: done.words)


def one_at_a_time(title: str, caption: str, messages: list) -> list:
    """The heading of a section of messages handled one at a time (none: no section)."""
    if messages:
        notice("subheader", title)
        notice("caption", caption)
    return messages


for r in one_at_a_time(
        "Outcome unknown: one at a time",
        "A worker handed these to the gateway and stopped before it heard back: they may have reached "
        "the phone. Retry may send it twice.", [r for r in rows if r.retry == "confirm"]):
    with st.container(border=True, key=f"unknown_{r.id}"):
        notice("markdown", f"{r.contact_name} ({r.phone_number}), {r.age} ago: {r.body}")
        sure = st.checkbox("I checked: it did not reach the phone. Retry may send it twice.", key=f"sure_{r.id}")
        if st.button("Retry", key=f"retry_unknown_{r.id}", disabled=not sure):
            act(stuck.retry_stuck, me.project_id, [r.id], confirmed=[r.id], flash=lambda done: done.words)

for r in one_at_a_time(
        "Too late: not sent",
        "These passed their deadline (Settings, Messages that are too late) before they could be sent, so "
        "they were not. Send anyway sends it now, with no deadline; Cancel leaves it unsent for good.",
        [r for r in rows if r.expired]):
    with st.container(border=True, key=f"expired_{r.id}"):
        notice("markdown", f"{r.contact_name} ({r.phone_number}), written {r.timestamp}: {r.body}")
        notice("caption", r.reason)
        send_col, cancel_col = st.columns(2)
        if send_col.button("Send anyway", key=f"send_anyway_{r.id}", type="primary"):
            act(stuck.send_anyway, me.project_id, [r.id], flash=lambda done: done.words)
        if cancel_col.button("Cancel", key=f"cancel_expired_{r.id}"):
            act(stuck.cancel_expired, me.project_id, [r.id], flash=lambda done: done.words)
