"""Settings (supervisors, admins): the seed's Chat Settings plus the project's own, with an audit trail."""

from zoneinfo import available_timezones

import pandas as pd
import streamlit as st

from pages._shared import banner_errors, notice, viewer
from smschat.chat import settings
from smschat.chat.reads import READ_MODES
from smschat.chat.templates import TEMPLATES
from smschat.chat.timefmt import format_timestamp
from smschat.chat.window import SURVEY_TRAFFIC
from smschat.db import session_scope

me = viewer("settings")
st.title("Settings")
NO_COUNTER, USE_COUNTER = "Don't use counter", "Use counter"
DISABLED, ENABLED = "Disabled", "Enabled"

current = None
with banner_errors(), session_scope(readonly=True) as session:
    current = settings.load_settings(session, me.user_id, me.project_id)
if current is None:
    st.stop()
delay = current["delay_automated_sms"]
zones = sorted(available_timezones())
slots = {}
S = settings.SETTINGS

with st.form("settings"):
    st.subheader("Chat Settings")
    case_name = st.text_input(S["case_name_display"].label, value=current["case_name_display"],
                              help=S["case_name_display"].help, key="set_case_name_display")
    slots["case_name_display"] = st.empty()
    c1, c2 = st.columns(2)
    counter_mode = c1.selectbox(S["message_counter_threshold"].label, [NO_COUNTER, USE_COUNTER],
                                index=0 if current["message_counter_threshold"] is None else 1,
                                help=S["message_counter_threshold"].help, key="set_counter_mode")
    threshold = c2.number_input("Counter threshold", value=int(current["message_counter_threshold"] or 10),
                                step=1, key="set_counter_threshold")
    slots["message_counter_threshold"] = st.empty()
    delay_mode = st.selectbox(S["delay_automated_sms"].label, [DISABLED, ENABLED],
                              index=1 if delay.get("enabled") else 0, help=S["delay_automated_sms"].help,
                              key="set_delay_mode")
    d1, d2 = st.columns([3, 1])
    windows = d1.text_area(
        "Delay windows", value="\n".join(settings.format_window(w) for w in delay.get("windows", [])),
        placeholder="Every day 09:00-17:00\nSat 08:00", key="set_delay_windows",
        help="One window per line: a day (Every day, Mon … Sun), a start time and an optional end time "
             "(24-hour clock, project time zone). Without an end, the window lasts until midnight.",
    )
    conversation = d2.number_input("Conversation length (minutes)", value=int(delay.get("conversation_minutes", 10)),
                                   step=1, key="set_delay_minutes", help="5 to 30 minutes.")
    slots["delay_automated_sms"] = st.empty()
    survey = st.selectbox(S["survey_traffic"].label, list(SURVEY_TRAFFIC), format_func=SURVEY_TRAFFIC.get,
                          index=list(SURVEY_TRAFFIC).index(current["survey_traffic"]), key="set_survey_traffic")
    slots["survey_traffic"] = st.empty()
    read_mode = st.selectbox(S["read_mode"].label, list(READ_MODES), format_func=READ_MODES.get,
                             index=list(READ_MODES).index(current["read_mode"]), key="set_read_mode")
    slots["read_mode"] = st.empty()
    names = list(TEMPLATES)
    template = st.selectbox(S["chat_template"].label, names, key="set_chat_template",
                            index=names.index(current["chat_template"]) if current["chat_template"] in names else 0,
                            help=" · ".join(f"{t.name}: {t.description}" for t in TEMPLATES.values()))
    slots["chat_template"] = st.empty()

    st.subheader("Project")
    p1, p2 = st.columns(2)
    time_zone = p1.selectbox(S["time_zone"].label, zones, key="set_time_zone", help=S["time_zone"].help,
                             index=zones.index(current["time_zone"]) if current["time_zone"] in zones else 0)
    slots["time_zone"] = p1.empty()
    region = p2.text_input(S["default_region"].label, value=current["default_region"], key="set_default_region",
                           help=S["default_region"].help)
    slots["default_region"] = p2.empty()
    help_text = st.text_area(S["help_text"].label, value=current["help_text"], key="set_help_text",
                             help=S["help_text"].help)
    slots["help_text"] = st.empty()
    rate = st.number_input(S["rate_limit"].label, value=float(current["rate_limit"]), step=0.5, format="%.2f",
                           key="set_rate_limit", help=S["rate_limit"].help)
    slots["rate_limit"] = st.empty()
    submitted = st.form_submit_button("Save settings", type="primary")

if submitted:
    changes = {
        "case_name_display": case_name,
        "message_counter_threshold": None if counter_mode == NO_COUNTER else threshold,
        "delay_automated_sms": {"enabled": delay_mode == ENABLED, "windows": windows,
                                "conversation_minutes": conversation},
        "survey_traffic": survey,
        "read_mode": read_mode,
        "chat_template": template,
        "time_zone": time_zone,
        "default_region": region,
        "help_text": help_text,
        "rate_limit": rate,
    }
    with banner_errors():
        try:
            with session_scope() as session:
                changed = settings.update_settings(session, me.user_id, me.project_id, changes)
        except settings.SettingsInvalid as exc:
            notice("error", str(exc))
            for key, message in exc.errors.items():
                if key in slots:
                    notice("error", message, where=slots[key])
        else:
            if changed:
                notice("success", "Saved: " + ", ".join(S[k].label for k in changed) + ".")
            else:
                st.info("Nothing changed.")
            if "time_zone" in changed:
                st.session_state["viewer"] = {**st.session_state["viewer"], "time_zone": time_zone}

st.subheader("Changes")
with banner_errors(), session_scope(readonly=True) as session:
    rows = settings.settings_history(session, me.user_id, me.project_id)
    tz = st.session_state["viewer"]["time_zone"]
    st.dataframe(
        pd.DataFrame({
            "When": [format_timestamp(r.changed_at, tz) for r in rows],
            "Who": [r.username for r in rows],
            "Setting": [r.setting for r in rows],
            "Old": [r.old_value for r in rows],
            "New": [r.new_value for r in rows],
        }),
        hide_index=True, width="stretch",
    )
