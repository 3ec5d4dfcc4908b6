"""Settings (supervisors, admins): the seed's Chat Settings plus the project's own, with an audit trail.

The form is a loop over `settings.SETTINGS`: each setting says its widget, choices and help."""

import pandas as pd
import streamlit as st

from pages._quick_replies import quick_replies_section
from pages._shared import act, notice, read, viewer
from smschat.chat import settings
from smschat.chat.settings import DISABLED, ENABLED, NO_COUNTER, USE_COUNTER, Setting
from smschat.chat.timefmt import format_timestamp

me = viewer("settings")
st.title("Settings")
NOTHING_CHANGED = "Nothing changed."

current = read(settings.load_settings, me.project_id)
# What the last save said (set after its commit, shown below the form once).
saved = st.session_state.pop("flash", None)
if saved and current["time_zone"] != me.time_zone:  # the page's own times follow at once
    st.session_state["viewer"] = {**st.session_state["viewer"], "time_zone": current["time_zone"]}


# --- one function per widget kind: draws it in `where`, returns the raw value to validate ---


def _text(s: Setting, value, where):
    return where.text_input(s.label, value=value, help=s.widget_help(), key=s.key_in_page, **s.options)


def _long_text(s: Setting, value, where):
    return where.text_area(s.label, value=value, help=s.widget_help(), key=s.key_in_page, **s.options)


def _hours(s: Setting, value, where):
    return where.text_input(s.label, value=settings.hours_words(value), help=s.widget_help(), key=s.key_in_page,
                            **s.options)


def _number(s: Setting, value, where):
    return where.number_input(s.label, value=type(s.default)(value), help=s.widget_help(), key=s.key_in_page,
                              **s.options)


def _choice(s: Setting, value, where):
    options = s.choices()
    values = list(options)
    return where.selectbox(s.label, values, format_func=options.get, help=s.widget_help(), key=s.key_in_page,
                           index=values.index(value) if value in values else 0, **s.options)


def _counter(s: Setting, value, where):
    c1, c2 = where.columns(2)
    mode = c1.selectbox(s.label, [NO_COUNTER, USE_COUNTER], index=0 if value is None else 1,
                        help=s.widget_help(), key=f"{s.key_in_page}_mode")
    threshold = c2.number_input("Counter threshold", value=int(value or 10), step=1,
                                key=f"{s.key_in_page}_threshold")
    return None if mode == NO_COUNTER else threshold


def _delay(s: Setting, value, where):
    mode = where.selectbox(s.label, [DISABLED, ENABLED], index=1 if value.get("enabled") else 0,
                           help=s.widget_help(), key=f"{s.key_in_page}_mode")
    d1, d2 = where.columns([3, 1])
    windows = d1.text_area(
        "Delay windows", value="\n".join(settings.format_window(w) for w in value.get("windows", [])),
        placeholder="Every day 09:00-17:00\nSat 08:00", key=f"{s.key_in_page}_windows",
        help="One window per line: a day (Every day, Mon … Sun), a start time and an optional end time "
             "(24-hour clock, project time zone). Without an end, the window lasts until midnight.",
    )
    minutes = d2.number_input("Conversation length (minutes)", value=int(value.get("conversation_minutes", 10)),
                              step=1, key=f"{s.key_in_page}_minutes", help="5 to 30 minutes.")
    return {"enabled": mode == ENABLED, "windows": windows, "conversation_minutes": minutes}


WIDGETS = {"text": _text, "long_text": _long_text, "number": _number, "choice": _choice, "counter": _counter,
           "delay": _delay, "hours": _hours}

raw, slots = {}, {}
with st.form("settings"):
    section, row = None, []
    for s in settings.SETTINGS.values():
        if s.section != section:
            section = s.section
            notice("subheader", section)
        if s.half:  # two half-width settings share a row, each with its error under it
            row = row or list(st.columns(2))
            where = row.pop(0)
        else:
            row, where = [], st
        raw[s.key] = WIDGETS[s.widget](s, current[s.key], where)
        slots[s.key] = where.empty()
    submitted = st.form_submit_button("Save settings", type="primary")


def _save(session, actor, project_id, changes) -> str:
    changed = settings.update_settings(session, actor, project_id, changes)
    return "Saved: " + ", ".join(settings.SETTINGS[k].label for k in changed) + "." if changed else NOTHING_CHANGED


if submitted:
    try:  # every field's message beside it, before anything is written
        settings.validate_settings(raw)
    except settings.SettingsInvalid as exc:
        notice("error", str(exc))
        for key, message in exc.errors.items():
            notice("error", message, where=slots.get(key))
    else:
        act(_save, me.project_id, raw, flash=NOTHING_CHANGED)
if saved == NOTHING_CHANGED:
    notice("info", NOTHING_CHANGED)
elif saved:
    notice("success", saved)

quick_replies_section(me)

st.subheader("Changes")
rows = read(settings.settings_history, me.project_id)
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
