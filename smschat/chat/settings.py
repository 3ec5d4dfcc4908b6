"""A project's settings, declared as data: label, default, validator, where it is stored, the
widget that edits it and how a stored value is worded. The Settings page is a loop over
`SETTINGS`: adding a setting is one `Setting(...)` below plus a migration for its column.

`update_settings` validates every field first and saves nothing if one is invalid
(`SettingsInvalid` carries one message per field, for the page to show beside it); then it
writes one `SettingsChange` row per changed field (who, when, old -> new) and one audit event.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import available_timezones

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from smschat import events
from smschat.accounts import audit
from smschat.accounts.access import Action, require
from smschat.accounts.actor import Actor
from smschat.accounts.projects import get_chat_settings, get_project, validate_time_zone
from smschat.automation.delay import DEFAULT_CONVERSATION_MINUTES
from smschat.automation.schedule import DAYS
from smschat.chat.reads import READ_MODES
from smschat.chat.templates import DEFAULT_TEMPLATE, TEMPLATES, validate_template
from smschat.chat.window import SURVEY_TRAFFIC
from smschat.errors import ValidationError
from smschat.messaging import deadlines
from smschat.messaging.later import normalize_quiet_hours
from smschat.messaging.pricing import PRICE_HELP, validate_price
from smschat.models import SettingsChange, WebUser, utcnow
from smschat.text import refuse_controls

DAY_LABELS = {"every": "Every day", **{d: d.capitalize() for d in DAYS}}
CONVERSATION_MINUTES = (5, 30)
DELAY_DISABLED: dict[str, Any] = {"enabled": False, "windows": [], "conversation_minutes": DEFAULT_CONVERSATION_MINUTES}
_PROPERTY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,99}$")
_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
MAX_HELP_TEXT = 320
NO_COUNTER, USE_COUNTER = "Don't use counter", "Use counter"
DISABLED, ENABLED = "Disabled", "Enabled"
# Page headings, by where a setting is stored ("deadline": ChatSettings too, under its own heading).
SECTIONS = {"chat": "Chat Settings", "project": "Project", "deadline": "Messages that are too late"}
NEVER_WORDS = "never"


class SettingsInvalid(ValidationError):
    """Some fields are invalid: `errors` maps each field's key to its message. Nothing was saved."""

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        labels = ", ".join(SETTINGS[k].label for k in errors if k in SETTINGS)
        super().__init__(f"Nothing was saved: check {labels}.")


# --- validators: take the raw value, return the value to store, raise ValueError(message) ---


def _case_property(value: Any) -> str:
    text = str(value or "").strip()
    if not _PROPERTY_RE.match(text):
        raise ValueError("A case property name: letters, digits, _ . - (e.g. name, mother_name).")
    return text


def _counter(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None  # "Don't use counter"
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValueError("A whole number greater than 0, or Don't use counter.") from None
    if number <= 0:
        raise ValueError("The threshold must be greater than 0.")
    return number


def _time(text: Any) -> str:
    m = _TIME_RE.match(str(text or "").strip())
    if not m:
        raise ValueError(f"{text!r} is not a time like 09:00 (24-hour clock).")
    return f"{int(m.group(1)):02d}:{m.group(2)}"


def _delay(value: Any) -> dict[str, Any]:
    """{"enabled", "windows": [{"day": every|mon..sun, "start": "HH:MM", "end": "HH:MM"|None}],
    "conversation_minutes": 5..30}. A window without end lasts until midnight."""
    value = dict(value or {})
    minutes = value.get("conversation_minutes", DEFAULT_CONVERSATION_MINUTES)
    try:
        minutes = int(minutes)
    except (TypeError, ValueError):
        raise ValueError("The conversation length is a number of minutes (5 to 30).") from None
    if not CONVERSATION_MINUTES[0] <= minutes <= CONVERSATION_MINUTES[1]:
        raise ValueError("The conversation length is between 5 and 30 minutes.")
    if not value.get("enabled"):
        return {"enabled": False, "windows": [], "conversation_minutes": minutes}
    raw_windows = value.get("windows") or []
    if isinstance(raw_windows, str):  # the page's text box: one window per line
        raw_windows = parse_windows(raw_windows)
    windows = []
    for i, w in enumerate(raw_windows, 1):
        raw_day = str(w.get("day") or "every").strip().lower()
        day = "every" if raw_day.startswith("every") else raw_day[:3]
        if day not in DAY_LABELS:
            raise ValueError(f"Window {i}: unknown day {w.get('day')!r}; use Every day or Mon..Sun.")
        start = _time(w.get("start"))
        end = _time(w["end"]) if w.get("end") not in (None, "") else None
        if end is not None and end <= start:
            raise ValueError(f"Window {i}: the end ({end}) must be after the start ({start}).")
        windows.append({"day": day, "start": start, "end": end})
    if not windows:
        raise ValueError("Add at least one window (day and start time), or choose Disabled.")
    return {"enabled": True, "windows": windows, "conversation_minutes": minutes}


def _choice(options: dict[str, str]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in options:
            raise ValueError(f"Choose one of: {', '.join(options.values())}.")
        return value

    return check


def _template(value: Any) -> str:
    try:
        return validate_template(str(value))
    except ValidationError as exc:
        raise ValueError(str(exc)) from None


def _time_zone(value: Any) -> str:
    try:
        return validate_time_zone(str(value or ""))
    except ValidationError as exc:
        raise ValueError(str(exc)) from None


def _region(value: Any) -> str:
    region = str(value or "").strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError("A two-letter country code such as US, KE or SN.")
    return region


def _help_text(value: Any) -> str:
    text = str(value or "").strip()
    if len(text) > MAX_HELP_TEXT:
        raise ValueError(f"At most {MAX_HELP_TEXT} characters ({len(text)} given).")
    return text


def _rate(value: Any) -> float:
    try:
        rate = float(value)
    except (TypeError, ValueError):
        raise ValueError("A number of SMS segments per second, e.g. 1.") from None
    if not 0 < rate <= 100:
        raise ValueError("Between 0 (exclusive) and 100 segments per second.")
    return rate


def _hours(value: Any) -> int:
    """Whole hours 1..720, or never (stored as 0)."""
    text = str(value if value is not None else "").strip().lower()
    if text in (NEVER_WORDS, "0"):
        return deadlines.NEVER
    text = text.removesuffix("hours").removesuffix("hour").removesuffix("h").strip()
    if not text.isdigit() or not 1 <= int(text) <= deadlines.MAX_HOURS:
        raise ValueError(f"Whole hours from 1 to {deadlines.MAX_HOURS}, or never (given: {str(value)[:40]!r}).")
    return int(text)


def hours_words(value: Any) -> str:
    """A deadline as the page shows it: "6" (hours) or "never"."""
    return NEVER_WORDS if str(value) == str(deadlines.NEVER) else str(value)


def _hours_stored_words(stored: str | None) -> str:
    if stored is None:
        return ""
    return "Never" if stored == str(deadlines.NEVER) else f"{stored} hours"


def _quiet_hours(value: Any) -> str:
    return normalize_quiet_hours(value) or ""  # "" is off


# --- how a stored value (text, as in the audit trail) is worded; None is "not set" ---


def _as_stored(stored: str | None) -> str:
    return "" if stored is None else stored


def _labelled(options: Mapping[str, str]) -> Callable[[str | None], str]:
    return lambda stored: "" if stored is None else options.get(stored, stored)


def _counter_words(stored: str | None) -> str:
    return NO_COUNTER if stored in (None, "") else str(stored)


def _delay_words(stored: str | None) -> str:
    if stored is None:
        return ""
    try:
        return describe_delay(json.loads(stored))
    except (ValueError, TypeError):
        return stored


def _quiet_words(stored: str | None) -> str:
    return stored or "Off"


# Widget kinds the page draws: text, long_text, number, choice (from `choices`), and two of
# their own: counter (off, or a threshold) and delay (mode, windows, conversation length).
WIDGETS = ("text", "long_text", "number", "choice", "counter", "delay", "hours")


@dataclass(frozen=True)
class Setting:
    key: str
    label: str
    default: Any
    validate: Callable[[Any], Any]
    stored_on: str  # "chat" or "deadline" (ChatSettings), or "project" (Project)
    help: str = ""
    widget: str = "text"  # one of WIDGETS
    choices: Callable[[], Mapping[Any, str]] | None = None  # for "choice": value -> label, in order
    words: Callable[[str | None], str] = _as_stored  # a stored value as the page and the audit trail word it
    tooltip: str | Callable[[], str] | None = None  # the widget's help; None: `help`, "": none
    options: Mapping[str, Any] = field(default_factory=dict)  # more widget arguments (step, format)
    half: bool = False  # half the width: shares a row with the next half-width setting
    widget_key: str = ""  # Streamlit's key (prefix, for the two-part widgets); default set_<key>

    def __post_init__(self) -> None:
        if self.widget not in WIDGETS:
            raise ValueError(f"{self.key}: unknown widget {self.widget!r}")

    @property
    def section(self) -> str:
        return SECTIONS[self.stored_on]

    @property
    def key_in_page(self) -> str:
        return self.widget_key or f"set_{self.key}"

    def widget_help(self) -> str | None:
        text = self.help if self.tooltip is None else self.tooltip() if callable(self.tooltip) else self.tooltip
        return text or None


DEADLINE_HELP = {
    "chat": "A chat message", "reminder": "A reminder", "broadcast": "A broadcast message",
    "survey": "A survey question", "verification": "A verification message ('reply 123')",
    "keyword": "A keyword's reply", "default": "Any other message (HELP answers, system replies)",
}


def _template_help() -> str:
    return " · ".join(f"{t.name}: {t.description}" for t in TEMPLATES.values())


SETTINGS: dict[str, Setting] = {
    s.key: s
    for s in (
        Setting("case_name_display", "Case Name Display", "name", _case_property, "chat",
                "The case property shown as a case's name in the chat title (default: name)."),
        Setting("message_counter_threshold", "Message Counter", None, _counter, "chat",
                "Count the messages while a chat window is open; the count turns red at this threshold.",
                widget="counter", words=_counter_words, widget_key="set_counter"),
        Setting("delay_automated_sms", "Delay Automated SMS", DELAY_DISABLED, _delay, "chat",
                "Hold reminders, broadcasts and surveys while a contact is in a conversation.",
                widget="delay", words=_delay_words, widget_key="set_delay"),
        Setting("survey_traffic", "Survey Traffic", "show_all", _choice(SURVEY_TRAFFIC), "chat",
                "Which survey messages the chat window shows.",
                widget="choice", choices=lambda: SURVEY_TRAFFIC, words=_labelled(SURVEY_TRAFFIC), tooltip=""),
        Setting("read_mode", "A Message is Read...", "per_user", _choice(READ_MODES), "chat",
                "Whether a message read by one web user is read for everyone.",
                widget="choice", choices=lambda: READ_MODES, words=_labelled(READ_MODES), tooltip=""),
        Setting("chat_template", "Chat Template", DEFAULT_TEMPLATE, _template, "chat",
                "How the chat window lays out its history.",
                widget="choice", choices=lambda: {name: name for name in TEMPLATES}, tooltip=_template_help),
        Setting("time_zone", "Time zone", "UTC", _time_zone, "project",
                "Timestamps, history ranges and reminder times use it.",
                widget="choice", choices=lambda: {z: z for z in sorted(available_timezones())}, half=True),
        Setting("default_region", "Default phone region", "US", _region, "project",
                "Numbers typed without a country code are read in this country.", half=True),
        Setting("help_text", "Help text", "", _help_text, "project",
                "The answer to HELP.", widget="long_text"),
        Setting("rate_limit", "Rate limit (segments per second, per sender)", 1.0, _rate, "project",
                "How fast one sender number may send.", widget="number", options={"step": 0.5, "format": "%.2f"}),
        Setting("quiet_hours", "Quiet hours", "", _quiet_hours, "chat",
                "No scheduled or automated SMS in this local window, e.g. 21:00-07:00 (empty: none). "
                "Chat typed live is sent at once.", words=_quiet_words, options={"placeholder": "21:00-07:00"}),
        Setting("price_per_segment", "Price per SMS segment", None, validate_price, "project", PRICE_HELP,
                words=lambda stored: stored or "Off (no cost estimates)"),
        *(Setting(deadlines.column(kind), f"{label} deadline (hours)", hours, _hours, "deadline",
                  f"{DEADLINE_HELP[kind]} not sent within this many hours of its time is not sent at all: it "
                  f"ends expired (Stuck messages offers Send anyway and Cancel). 1 to {deadlines.MAX_HOURS}, or never.",
                  widget="hours", words=_hours_stored_words, half=True, options={"placeholder": "hours, or never"})
          for kind, (label, hours) in deadlines.DEFAULT_HOURS.items()),
    )
}
CHAT_SETTINGS_ORDER = [k for k, s in SETTINGS.items() if s.stored_on == "chat"]
PROJECT_SETTINGS_ORDER = [k for k, s in SETTINGS.items() if s.stored_on == "project"]


def _targets(session: Session, project_id: int) -> dict[str, Any]:
    chat = get_chat_settings(session, project_id)
    return {"chat": chat, "deadline": chat, "project": get_project(session, project_id)}


def load_settings(session: Session, actor: Actor, project_id: int) -> dict[str, Any]:
    """The Settings page's values: supervisors and admins only."""
    require(session, actor, project_id, Action.CHANGE_SETTINGS)
    return current_settings(session, project_id)


def current_settings(session: Session, project_id: int) -> dict[str, Any]:
    """Every setting's current value (defaults where nothing was saved)."""
    targets = _targets(session, project_id)
    values = {}
    for key, s in SETTINGS.items():
        value = getattr(targets[s.stored_on], key)
        if key == "delay_automated_sms":
            value = {**DELAY_DISABLED, **(value or {})}
        values[key] = s.default if value is None and s.default is not None else value
    return values


def validate_settings(changes: dict[str, Any]) -> dict[str, Any]:
    """The stored form of each value; SettingsInvalid with every field's message otherwise."""
    errors, clean = {}, {}
    for key, raw in changes.items():
        setting = SETTINGS.get(key)
        if setting is None:
            errors[key] = f"Unknown setting {key!r}."
            continue
        try:
            refuse_controls(raw, setting.label)
            clean[key] = setting.validate(raw)
        except (ValueError, ValidationError) as exc:
            errors[key] = str(exc)
    if errors:
        raise SettingsInvalid(errors)
    return clean


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)


def update_settings(session: Session, actor: Actor, project_id: int, changes: dict[str, Any],
                    *, now: datetime | None = None) -> list[str]:
    """Validate everything, then save what changed. Returns the changed keys (may be empty)."""
    require(session, actor, project_id, Action.CHANGE_SETTINGS)
    clean = validate_settings(changes)
    targets = _targets(session, project_id)
    current = current_settings(session, project_id)
    changed = []
    detail = {}
    for key, new in clean.items():
        old = current[key]
        if _text(old) == _text(new):
            continue
        setattr(targets[SETTINGS[key].stored_on], key, new)
        session.add(SettingsChange(project_id=project_id, user_id=actor.user_id, field=key,
                                   old_value=_text(old), new_value=_text(new), **({"changed_at": now} if now else {})))
        detail[key] = f"{_text(old)} -> {_text(new)}"
        changed.append(key)
    if "time_zone" in changed:
        session.flush()
        events.publish(events.TIME_ZONE_CHANGED, session, project_id=project_id, now=now)
    if changed:
        targets["chat"].updated_at = now or utcnow()
        user = session.get(WebUser, actor.user_id) if actor.user_id is not None else None
        audit.record(session, audit.SETTINGS_CHANGED, user_id=actor.user_id, username=user.username if user else None,
                     project_id=project_id, detail=detail, at=now)
    session.flush()
    return changed


@dataclass(frozen=True)
class ChangeRow:
    changed_at: datetime
    username: str
    setting: str
    old_value: str
    new_value: str


def settings_history(session: Session, actor: Actor, project_id: int, *, limit: int = 200) -> list[ChangeRow]:
    """The audit trail of the settings, newest first."""
    require(session, actor, project_id, Action.CHANGE_SETTINGS)
    rows = session.execute(
        select(SettingsChange, WebUser.username)
        .outerjoin(WebUser, WebUser.id == SettingsChange.user_id)
        .where(SettingsChange.project_id == project_id)
        .order_by(SettingsChange.id.desc())
        .limit(max(1, min(limit, 1000)))
    )
    return [
        ChangeRow(c.changed_at, name or "(command line)", SETTINGS[c.field].label if c.field in SETTINGS else c.field,
                  describe(c.field, c.old_value), describe(c.field, c.new_value))
        for c, name in rows
    ]


def describe(key: str, stored: str | None) -> str:
    """A stored value as the page words it (e.g. "Don't use counter", "Show all survey traffic")."""
    setting = SETTINGS.get(key)
    return (setting.words if setting else _as_stored)(stored)


def describe_delay(value: dict[str, Any]) -> str:
    if not value or not value.get("enabled"):
        return DISABLED
    windows = "; ".join(format_window(w) for w in value.get("windows", []))
    return f"{windows} (conversation {value.get('conversation_minutes', DEFAULT_CONVERSATION_MINUTES)} min)"


def format_window(window: dict[str, Any]) -> str:
    end = window.get("end")
    return f"{DAY_LABELS.get(window['day'], window['day'])} {window['start']}" + (f"-{end}" if end else "")


def parse_windows(text: str) -> list[dict[str, Any]]:
    """Lines like `Every day 09:00-17:00`, `Mon 18:00` (until midnight). ValueError on a bad line."""
    windows = []
    for n, raw in enumerate((text or "").splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        m = re.match(r"^(every\s*day|every|[A-Za-z]{3,9})\s+(\S+?)(?:\s*-\s*(\S+))?$", line, re.IGNORECASE)
        if not m:
            raise ValueError(f"Line {n}: write a day and a time, e.g. 'Every day 09:00-17:00' or 'Mon 18:00'.")
        day = "every" if m.group(1).lower().startswith("every") else m.group(1).lower()[:3]
        windows.append({"day": day, "start": m.group(2), "end": m.group(3)})
    return windows
