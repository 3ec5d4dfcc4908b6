"""Recurring local-time schedules (once / daily / weekly), DST-correct through zoneinfo.

A slot is a local date + local time in the project's time zone, turned into a UTC instant
only when needed, so 09:00 stays 09:00 local on both sides of a DST change.

Local times that do not exist or exist twice (DST changes) resolve as Python's zoneinfo does
with fold=0 (PEP 495): a time in the spring-forward gap is read with the offset before the
change, so 02:30 on the night clocks jump 02:00 -> 03:00 fires at 03:30 new time (one hour
after 01:30, never skipped); a time repeated in the autumn fires once, at its first occurrence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from smschat.errors import ValidationError

KINDS = {"once": "Once", "daily": "Every day", "weekly": "Weekly on given days"}
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Day keys of the Delay Automated SMS windows, as the chat settings store them.
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Schedule:
    kind: str
    at: datetime | None = None  # local, naive: a one-off's date and time
    time: time | None = None  # recurring: the local time of day
    weekdays: tuple[int, ...] = ()  # weekly: 0 = Monday
    start: date | None = None  # recurring: first local date (inclusive)
    end: date | None = None  # recurring: last local date (inclusive), None = no end

    def to_json(self) -> dict[str, Any]:
        if self.kind == "once":
            return {"kind": "once", "at": self.at.strftime("%Y-%m-%dT%H:%M")}
        return {"kind": self.kind, "time": self.time.strftime("%H:%M"), "weekdays": list(self.weekdays),
                "start": self.start.isoformat() if self.start else None,
                "end": self.end.isoformat() if self.end else None}


def _time(value: Any) -> time:
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0)
    m = re.match(r"^([01]?\d|2[0-3]):([0-5]\d)$", str(value or "").strip())
    if not m:
        raise ValidationError(f"{value!r} is not a time like 09:00 (24-hour clock).")
    return time(int(m.group(1)), int(m.group(2)))


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(f"{value!r} is not a date like 2026-12-01.") from None


def parse_schedule(data: dict[str, Any]) -> Schedule:
    kind = (data or {}).get("kind")
    if kind == "once":
        at = data.get("at")
        if isinstance(at, str):
            try:
                at = datetime.fromisoformat(at)
            except ValueError:
                raise ValidationError(f"{at!r} is not a date and time.") from None
        if not isinstance(at, datetime):
            raise ValidationError("A one-off reminder needs a date and a time.")
        return Schedule("once", at=at.replace(tzinfo=None, second=0, microsecond=0))
    if kind not in ("daily", "weekly"):
        raise ValidationError(f"Unknown schedule {kind!r}; use once, daily or weekly.")
    days = tuple(sorted({int(d) for d in data.get("weekdays") or []})) if kind == "weekly" else ()
    if kind == "weekly" and (not days or any(d < 0 or d > 6 for d in days)):
        raise ValidationError("A weekly reminder needs at least one day of the week.")
    start, end = _date(data.get("start")), _date(data.get("end"))
    if start and end and end < start:
        raise ValidationError("The end date is before the start date.")
    return Schedule(kind, time=_time(data.get("time")), weekdays=days, start=start, end=end)


def local_to_utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    """fold=0: see the module docstring for the gap and the repeated hour."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def _runs_on(s: Schedule, day: date) -> bool:
    if s.start and day < s.start:
        return False
    if s.end and day > s.end:
        return False
    return s.kind == "daily" or day.weekday() in s.weekdays


def next_slot(s: Schedule, tz_name: str, after: datetime) -> datetime | None:
    """The first slot strictly after `after` (UTC), or None when the schedule is over."""
    tz = ZoneInfo(tz_name)
    if s.kind == "once":
        slot = local_to_utc(s.at.date(), s.at.time(), tz)
        return slot if slot > after else None
    day = after.astimezone(tz).date() - timedelta(days=1)
    if s.start and day < s.start:
        day = s.start
    for _ in range(9):  # a weekly schedule has a slot within 8 days
        if s.end and day > s.end:
            return None
        if _runs_on(s, day):
            slot = local_to_utc(day, s.time, tz)
            if slot > after:
                return slot
        day += timedelta(days=1)
    return None


def slots_between(s: Schedule, tz_name: str, start: datetime, end: datetime) -> list[datetime]:
    """Every slot in [start, end) (UTC instants)."""
    out = []
    slot = next_slot(s, tz_name, start - timedelta(microseconds=1))
    while slot is not None and slot < end:
        out.append(slot)
        slot = next_slot(s, tz_name, slot)
    return out


def describe(s: Schedule) -> str:
    if s.kind == "once":
        return f"Once on {s.at:%Y-%m-%d} at {s.at:%H:%M}"
    when = "Every day" if s.kind == "daily" else "Every " + ", ".join(WEEKDAYS[d] for d in s.weekdays)
    span = (f" from {s.start}" if s.start else "") + (f" until {s.end}" if s.end else "")
    return f"{when} at {s.time:%H:%M}{span}"
