"""Broadcast Messages (supervisors, admins): one message or survey to a group, now or later."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from pages._automation import cost_estimate, survey_picker, target_picker
from pages._shared import act, notice, read, show_flash, viewer
from smschat.automation import broadcasts
from smschat.chat.timefmt import format_timestamp

me = viewer("broadcasts")
st.title("Broadcast Messages")
tz = ZoneInfo(me.time_zone)

rows = read(broadcasts.list_broadcasts, me.project_id)


def _outcome(b) -> str:
    return (f"Queued for {b.recipients} contacts ({b.skipped_opted_out} opted out, skipped)."
            if b.status == "sent" else "Scheduled.")


with st.container(border=True):
    st.subheader("New broadcast")
    name = st.text_input("Name", key="bc_name")
    body = st.text_area("Message", key="bc_body", max_chars=1600)
    survey_id = survey_picker(me, "bc")
    recipients = target_picker(me, "bc")
    cost_estimate(me, "bc", body, recipients, survey_id)
    when = st.radio("Send", ["Now", "At a time"], horizontal=True, key="bc_when")
    send_at = None
    if when == "At a time":
        soon = datetime.now(UTC).astimezone(tz) + timedelta(hours=1)
        c1, c2 = st.columns(2)
        day = c1.date_input("Date", value=soon.date(), key="bc_date")
        at = c2.time_input("Time", value=soon.time().replace(second=0, microsecond=0), step=300, key="bc_time")
        send_at = datetime.combine(day, at, tzinfo=tz).astimezone(UTC)
        notice("caption", f"In the project's time zone ({me.time_zone}).")
    if st.button("Send broadcast" if when == "Now" else "Schedule broadcast", type="primary", key="bc_send"):
        act(broadcasts.create_broadcast, me.project_id, name, body, recipients, send_at=send_at,
            survey_id=survey_id, flash=_outcome)
    show_flash("flash")

st.subheader("Progress")
if st.button("Refresh", key="bc_refresh"):
    st.rerun()
if not rows:
    st.info("No broadcasts yet.")
else:
    st.dataframe(pd.DataFrame({
        "Name": [r.name for r in rows],
        "Message": [r.body if not r.survey else f"Survey: {r.survey}" for r in rows],
        "Recipients": [r.recipients_label for r in rows],
        "Send at": [format_timestamp(r.send_at, me.time_zone) for r in rows],
        "Status": [r.status for r in rows],
        "Queued": [r.queued for r in rows],
        "Sent": [r.sent for r in rows],
        "Failed": [r.failed for r in rows],
        "Skipped (opted out)": [r.skipped_opted_out for r in rows],
    }), hide_index=True, width="stretch")
    scheduled = {r.id: r.name for r in rows if r.status == "scheduled"}
    if scheduled:
        pick = st.selectbox("Scheduled broadcast", list(scheduled), format_func=scheduled.get, key="bc_pick")
        if st.button("Cancel it", key="bc_cancel"):
            act(broadcasts.cancel, me.project_id, pick)
