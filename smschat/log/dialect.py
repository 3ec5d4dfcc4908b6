"""The SQL that differs between SQLite and PostgreSQL, in one place: local wall time, Unicode
lower case, seconds between two instants, and "is this text a signed number"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, extract, func, literal
from sqlalchemy.orm import Session

from smschat.models import UTCDateTime


def name(session: Session) -> str:
    return session.get_bind().dialect.name


def _offset_segments(tz_name: str, lo: datetime, hi: datetime) -> list[tuple[datetime, int]]:
    """[(UTC instant from which it holds, UTC offset in seconds)] covering lo..hi."""
    tz = ZoneInfo(tz_name)

    def offset(at: datetime) -> int:
        return int(at.astimezone(tz).utcoffset().total_seconds())

    start = lo - timedelta(days=1)
    segments = [(start, offset(start))]
    step = timedelta(hours=12)
    at = start
    while at < hi + timedelta(days=1):
        nxt = at + step
        if offset(nxt) != segments[-1][1]:
            a, b = at, nxt  # find the change to the second
            while (b - a) > timedelta(seconds=1):
                mid = a + (b - a) / 2
                if offset(mid) == segments[-1][1]:
                    a = mid
                else:
                    b = mid
            segments.append((b.replace(microsecond=0), offset(nxt)))
        at = nxt
    return segments


class LocalClock:
    """SQL expressions for local wall time in one time zone, on PostgreSQL and SQLite.

    PostgreSQL knows time zones (`timezone(tz, ts)`). SQLite does not: there the UTC offset
    is a CASE over the offset changes (DST transitions) between the bounds of the data.
    """

    def __init__(self, dialect: str, tz_name: str, lo: datetime | None = None, hi: datetime | None = None):
        self.dialect, self.tz_name = dialect, tz_name
        if dialect == "sqlite":
            now = datetime.now(UTC)
            self.segments = _offset_segments(tz_name, lo or now, hi or now)

    def _modifier(self, col) -> ColumnElement:
        def text_of(seconds: int) -> str:
            return f"{seconds:+d} seconds"

        if len(self.segments) == 1:
            return literal(text_of(self.segments[0][1]))
        whens = [(col < literal(start, UTCDateTime()), text_of(prev))
                 for (start, _), (_, prev) in zip(self.segments[1:], self.segments[:-1], strict=True)]
        return case(*whens, else_=text_of(self.segments[-1][1]))

    def stamp(self, col) -> ColumnElement:
        """`2026-11-25 14:03:27`, local."""
        if self.dialect == "sqlite":
            return func.datetime(col, self._modifier(col))  # the same format, a little cheaper
        return func.to_char(func.timezone(self.tz_name, col), "YYYY-MM-DD HH24:MI:SS")

    def day(self, col) -> ColumnElement:
        """`2026-11-25`, the local date."""
        if self.dialect == "sqlite":
            return func.date(col, self._modifier(col))
        return func.to_char(func.timezone(self.tz_name, col), "YYYY-MM-DD")


def _sqlite_lower(value: str | None) -> str | None:
    return None if value is None else value.lower()


def lower(session: Session, col) -> ColumnElement:
    """Unicode lower-case on both backends (SQLite's own lower() folds ASCII only)."""
    if name(session) == "sqlite":
        raw = session.connection().connection.driver_connection
        raw.create_function("smschat_lower", 1, _sqlite_lower, deterministic=True)
        return func.smschat_lower(col)
    return func.lower(col)


def seconds_between(dialect: str, later, earlier) -> ColumnElement:
    if dialect == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return extract("epoch", later - earlier)


def signed_number(col, dialect: str) -> ColumnElement:
    """Is the text a signed decimal number (`+254712345678`, `-2.5`)? Like `^[+-][0-9]+(\\.[0-9]+)?$`."""
    if dialect == "sqlite":  # no regular expressions in SQLite: the same shape with GLOB
        rest = func.substr(col, 2)
        return and_(func.substr(col, 1, 1).in_(("+", "-")), rest.op("GLOB", is_comparison=True)("[0-9]*"),
                    rest.op("NOT GLOB", is_comparison=True)("*[^0-9.]*"),
                    rest.op("NOT GLOB", is_comparison=True)("*.*.*"),
                    rest.op("NOT GLOB", is_comparison=True)("*."))
    return col.op("~", is_comparison=True)(r"^[+-][0-9]+(\.[0-9]+)?$")
