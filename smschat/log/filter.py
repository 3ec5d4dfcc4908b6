"""Which messages the log shows: `LogFilter`, checked in one place for the page, the exports,
the command line and notebooks, so they always agree on which rows "the filtered log" is."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from smschat.errors import ValidationError
from smschat.models import Direction, Status, Workflow
from smschat.text import refuse_controls

DIRECTION_LABELS = {Direction.IN.value: "Incoming", Direction.OUT.value: "Outgoing", Direction.NOTE.value: "Note"}
WORKFLOW_LABELS = {w.value: w.value.capitalize() for w in Workflow}
STATUSES = tuple(s.value for s in Status)
MAX_SEARCH_LENGTH = 200


def _as_date(value: Any, label: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError(f"{label} must be a date like 2026-01-31, not {value!r}.") from None


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        value = [value]
    return tuple(dict.fromkeys(str(v).strip().lower() for v in value if str(v).strip()))


def _as_id(value: Any, label: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{label} must be a number.") from None


@dataclass(frozen=True)
class LogFilter:
    """Which messages: every field optional; all given ones must hold.

    `since` is the first local day included and `until` the first local day NOT included
    (2026-01-01 .. 2026-02-01 is January), both in the project's time zone.
    Types and statuses are lists: any of them. `text` finds bodies containing it,
    case-insensitively, literally (% and _ are plain characters).
    """

    since: date | None = None
    until: date | None = None
    direction: str | None = None
    workflows: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    contact_id: int | None = None
    user_id: int | None = None
    text: str = ""

    def __post_init__(self) -> None:
        # The one place a filter is checked: pages, CLI and notebooks all come through here.
        since, until = _as_date(self.since, "Since"), _as_date(self.until, "Until")
        if since and until and until <= since:
            raise ValidationError("The end of the date range must be after its start.")
        direction = (self.direction or "").strip().lower() or None
        aliases = {"incoming": "in", "outgoing": "out"}
        direction = aliases.get(direction, direction)
        if direction is not None and direction not in DIRECTION_LABELS:
            raise ValidationError(f"Unknown direction {self.direction!r}; use in or out.")
        workflows = _as_tuple(self.workflows)
        for w in workflows:
            if w not in WORKFLOW_LABELS:
                raise ValidationError(f"Unknown message type {w!r}; use one of {', '.join(WORKFLOW_LABELS)}.")
        statuses = _as_tuple(self.statuses)
        for s in statuses:
            if s not in STATUSES:
                raise ValidationError(f"Unknown status {s!r}; use one of {', '.join(STATUSES)}.")
        text = refuse_controls(self.text or "", "Search messages").strip()
        if len(text) > MAX_SEARCH_LENGTH:
            raise ValidationError(f"Search text is limited to {MAX_SEARCH_LENGTH} characters.")
        for name, value in (("since", since), ("until", until), ("direction", direction), ("workflows", workflows),
                            ("statuses", statuses), ("text", text),
                            ("contact_id", _as_id(self.contact_id, "Contact")),
                            ("user_id", _as_id(self.user_id, "Web user"))):
            object.__setattr__(self, name, value)

    def utc_bounds(self, tz_name: str) -> tuple[datetime | None, datetime | None]:
        """Local midnights of `since` and `until` as UTC instants (DST-safe: combine, then convert)."""
        tz = ZoneInfo(tz_name)

        def midnight(d: date | None) -> datetime | None:
            return None if d is None else datetime.combine(d, time(0, 0), tzinfo=tz).astimezone(UTC)

        return midnight(self.since), midnight(self.until)

    def describe(self) -> dict[str, Any]:
        """The filter as plain data (for the audit trail)."""
        data = asdict(self)
        return {k: (v.isoformat() if isinstance(v, date) else list(v) if isinstance(v, tuple) else v)
                for k, v in data.items() if v not in (None, "", ())}
