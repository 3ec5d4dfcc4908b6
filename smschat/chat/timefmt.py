"""Times as the seed shows them, in the project's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from smschat.errors import ValidationError

# The seed's ranges: counted from local midnight, N days back.
HISTORY_RANGES = {"Yesterday": 1, "1 Week": 7, "30 Days": 30, "All Time": None}
DEFAULT_RANGE = "Yesterday"


def format_timestamp(value: datetime, tz_name: str) -> str:
    """`05:23pm 08/07/17`."""
    local = value.astimezone(ZoneInfo(tz_name))
    return local.strftime("%I:%M") + local.strftime("%p").lower() + local.strftime(" %m/%d/%y")


def range_start(range_name: str, tz_name: str, now: datetime | None = None) -> datetime | None:
    """The UTC instant a history range starts at: local midnight N days ago (None: all time)."""
    if range_name not in HISTORY_RANGES:
        raise ValidationError(f"Unknown history range {range_name!r}.")
    days = HISTORY_RANGES[range_name]
    if days is None:
        return None
    tz = ZoneInfo(tz_name)
    today = (now or datetime.now(UTC)).astimezone(tz).date()
    # Combine a local date with midnight, so DST changes in between do not shift the start.
    start = datetime.combine(today - timedelta(days=days), time(0, 0), tzinfo=tz)
    return start.astimezone(UTC)


def today_start(tz_name: str, now: datetime | None = None) -> datetime:
    """Local midnight today, as a UTC instant."""
    tz = ZoneInfo(tz_name)
    today = (now or datetime.now(UTC)).astimezone(tz).date()
    return datetime.combine(today, time(0, 0), tzinfo=tz).astimezone(UTC)
