"""Reminders (supervisors, admins): messages or surveys on a schedule; the Reminder Calendar."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import altair as alt
import pandas as pd
import streamlit as st

from pages._automation import cost_estimate, survey_picker, target_picker
from pages._shared import act, notice, read, viewer
from smschat.automation import reminders, schedule
from smschat.chat.timefmt import format_timestamp

me = viewer("reminders")
st.title("Reminders")

rows = read(reminders.list_reminders, me.project_id)


def _when(value):
    return format_timestamp(value, me.time_zone) if value else ""


listing, new, cal = st.tabs(["Reminders", "New reminder", "Reminder Calendar"])

with listing:
    if not rows:
        st.info("No reminders yet: add one under New reminder.")
    else:
        st.dataframe(pd.DataFrame({
            "Name": [r.name for r in rows],
            "Message": [r.body if not r.survey else f"Survey: {r.survey}" for r in rows],
            "Recipients": [r.recipients for r in rows],
            "Schedule": [r.schedule for r in rows],
            "Next": [_when(r.next_due_at) for r in rows],
            "Last sent": [_when(r.last_fired_at) for r in rows],
            "Active": [r.active for r in rows],
        }), hide_index=True, width="stretch")
        names = {r.id: r.name for r in rows}
        target = st.selectbox("Reminder", list(names), format_func=names.get, key="rem_pick")
        b1, b2, b3 = st.columns(3)
        if b1.button("Pause", key="rem_pause"):
            act(reminders.set_active, me.project_id, target, False)
        if b2.button("Resume", key="rem_resume"):
            act(reminders.set_active, me.project_id, target, True)
        if b3.button("Delete", key="rem_delete"):
            act(reminders.delete_reminder, me.project_id, target)

with new:
    name = st.text_input("Name", key="rem_name")
    body = st.text_area("Message", key="rem_body", max_chars=1600)
    survey_id = survey_picker(me, "rem")
    recipients = target_picker(me, "rem")
    cost_estimate(me, "rem", body, recipients, survey_id)
    kind = st.radio("Schedule", list(schedule.KINDS), format_func=schedule.KINDS.get, horizontal=True, key="rem_kind")
    today = datetime.now(UTC).astimezone(ZoneInfo(me.time_zone)).date()
    c1, c2 = st.columns(2)
    at_time = c2.time_input("Time", value=datetime.strptime("09:00", "%H:%M").time(), step=300, key="rem_time")
    if kind == "once":
        day = c1.date_input("Date", value=today + timedelta(days=1), key="rem_date")
        when = {"kind": "once", "at": datetime.combine(day, at_time).isoformat()}
    else:
        start = c1.date_input("Start", value=today, key="rem_start")
        end = c1.date_input("End (optional)", value=None, key="rem_end")
        when = {"kind": kind, "time": at_time.strftime("%H:%M"), "start": start.isoformat(),
                "end": end.isoformat() if end else None}
        if kind == "weekly":
            days = st.multiselect("Days", list(range(7)), format_func=schedule.WEEKDAYS.__getitem__, key="rem_days")
            when["weekdays"] = days
    notice("caption", f"Times are in the project's time zone ({me.time_zone}).")
    if st.button("Add reminder", type="primary", key="rem_add"):
        act(reminders.create_reminder, me.project_id, name, body, recipients, when, survey_id=survey_id, rerun=False,
            flash=lambda r: f"Added; first goes out {_when(r.next_due_at)}.")

with cal:
    st.caption("What goes out on each day of the next 30 days (project time zone), per reminder and scheduled "
               "broadcast; Messages = times × current recipients.")
    days = read(reminders.calendar, me.project_id)
    frame = pd.DataFrame({
        "Date": [d.day.strftime("%a %m/%d/%y") for d in days],
        "Reminder": [d.name for d in days],
        "Times": [d.times for d in days],
        "Recipients": [d.recipients for d in days],
        "Messages": [d.messages for d in days],
    })
    if frame.empty:
        st.info("Nothing scheduled in the next 30 days.")
    else:
        # Every one of the 30 days on the axis, in order, empty days included.
        first = datetime.now(UTC).astimezone(ZoneInfo(me.time_zone)).date()
        axis = [(first + timedelta(days=i)).strftime("%a %m/%d") for i in range(30)]
        totals = pd.DataFrame({"Day": axis, "Messages": 0}).set_index("Day")
        for d in days:
            key = d.day.strftime("%a %m/%d")
            if key in totals.index:
                totals.loc[key, "Messages"] += d.messages
        chart = alt.Chart(totals.reset_index()).mark_bar().encode(
            x=alt.X("Day:N", sort=axis, title=None), y=alt.Y("Messages:Q", title="Messages", axis=alt.Axis(tickMinStep=1, format="d")),
            tooltip=["Day", "Messages"])
        st.altair_chart(chart, width="stretch")
        st.dataframe(frame, hide_index=True, width="stretch")
