"""The Messaging Log: every message of a project, filtered, sorted, paged, counted and charted.

One filter (`LogFilter`, validated in one place) drives the page, the exports
(`smschat.exports`), the command line and the analysts' DataFrame
(`message_log_dataframe`), so they always agree on which rows "the filtered log" is.

Times: the date range is given in local dates of the project's time zone and becomes UTC
bounds here; the Timestamp column is the local wall time as `YYYY-MM-DD HH:MM:SS`
(sortable text), computed by the database so that pages, exports and frames agree.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    extract,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.orm import Session

from smschat.accounts.access import Action, require
from smschat.accounts.projects import get_project
from smschat.errors import ValidationError
from smschat.models import (
    Contact,
    Direction,
    Membership,
    Message,
    PhoneNumber,
    Status,
    UTCDateTime,
    WebUser,
    Workflow,
)
from smschat.people.contacts import KIND_LABELS

COLUMNS = ("Timestamp", "Contact Name", "Contact Type", "Phone Number", "Direction", "Message", "Type",
           "Status", "Sent by")
DIRECTION_LABELS = {Direction.IN.value: "Incoming", Direction.OUT.value: "Outgoing"}
WORKFLOW_LABELS = {w.value: w.value.capitalize() for w in Workflow}
STATUSES = tuple(s.value for s in Status)
PAGE_SIZES = (25, 50, 100, 250)
MAX_PAGE_SIZE = 1000
MAX_SEARCH_LENGTH = 200
# Final outcomes of an outgoing message: the delivery rate is delivered / these.
OUTCOMES = (Status.SENT.value, Status.DELIVERED.value, Status.UNDELIVERED.value, Status.FAILED.value,
            Status.UNKNOWN.value)


class CommandLine:
    """The operator at the command line: no web user, but a shell on the server (see exports)."""

    def __repr__(self) -> str:
        return "COMMAND_LINE"


COMMAND_LINE = CommandLine()


def authorize(session: Session, actor_id: int | CommandLine | None, project_id: int, action: Action) -> None:
    """Web users need the role for `action`; the command-line operator already has the database."""
    if actor_id is COMMAND_LINE:
        return
    require(session, actor_id if isinstance(actor_id, int) else None, project_id, action)


# --- the filter ------------------------------------------------------------------------------


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
        text = (self.text or "").strip()
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


# --- local time in SQL -----------------------------------------------------------------------


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


# --- the query -------------------------------------------------------------------------------


def _sqlite_lower(value: str | None) -> str | None:
    return None if value is None else value.lower()


def _lower(session: Session, col) -> ColumnElement:
    """Unicode lower-case on both backends (SQLite's own lower() folds ASCII only)."""
    if session.get_bind().dialect.name == "sqlite":
        raw = session.connection().connection.driver_connection
        raw.create_function("smschat_lower", 1, _sqlite_lower, deterministic=True)
        return func.smschat_lower(col)
    return func.lower(col)


def _conditions(session: Session, project_id: int, filt: LogFilter, tz_name: str) -> list[ColumnElement]:
    lo, hi = filt.utc_bounds(tz_name)
    where = [Message.project_id == project_id]
    if lo is not None:
        where.append(Message.created_at >= lo)
    if hi is not None:
        where.append(Message.created_at < hi)
    if filt.direction:
        where.append(Message.direction == filt.direction)
    if filt.workflows:
        where.append(Message.workflow.in_(filt.workflows))
    if filt.statuses:
        where.append(Message.status.in_(filt.statuses))
    if filt.contact_id is not None:
        where.append(Message.contact_id == filt.contact_id)
    if filt.user_id is not None:
        where.append(Message.sent_by_id == filt.user_id)
    if filt.text:
        where.append(_lower(session, Message.body).contains(filt.text.lower(), autoescape=True))
    return where


@dataclass
class _Query:
    """The filtered log of one project: columns, conditions and the local clock."""

    project_id: int
    tz_name: str
    clock: LocalClock
    where: list[ColumnElement]
    columns: dict[str, ColumnElement] = field(default_factory=dict)

    def select(self) -> Select:
        return (
            select(*(c.label(f"c{i}") for i, c in enumerate(self.columns.values())))
            .select_from(Message)
            .outerjoin(Contact, Contact.id == Message.contact_id)
            .outerjoin(WebUser, WebUser.id == Message.sent_by_id)
            .where(*self.where)
        )

    def count(self) -> Select:
        return select(func.count()).select_from(Message).where(*self.where)


def _label_case(col, labels: dict[str, str]) -> ColumnElement:
    return case(*[(col == k, v) for k, v in labels.items()], else_=col)


def build_query(session: Session, project_id: int, filt: LogFilter, *, upto_id: int | None = None) -> _Query:
    """The filtered log (no access check: callers check first). `upto_id` pins the row set."""
    project = get_project(session, project_id)
    dialect = session.get_bind().dialect.name
    lo, hi = filt.utc_bounds(project.time_zone)
    if dialect == "sqlite" and (lo is None or hi is None):
        first, last = session.execute(
            select(func.min(Message.created_at), func.max(Message.created_at)).where(Message.project_id == project_id)
        ).one()
        lo, hi = lo or first, hi or last
    clock = LocalClock(dialect, project.time_zone, lo, hi)
    where = _conditions(session, project_id, filt, project.time_zone)
    if upto_id is not None:
        where.append(Message.id <= upto_id)
    columns = {
        "Timestamp": clock.stamp(Message.created_at),
        "Contact Name": func.coalesce(Contact.name, ""),
        "Contact Type": func.coalesce(_label_case(Contact.kind, KIND_LABELS), ""),
        "Phone Number": Message.phone_number,
        "Direction": _label_case(Message.direction, DIRECTION_LABELS),
        "Message": Message.body,
        "Type": _label_case(Message.workflow, WORKFLOW_LABELS),
        "Status": Message.status,
        "Sent by": func.coalesce(WebUser.username, ""),
    }
    return _Query(project_id, project.time_zone, clock, where, columns)


# Empty (not NULL) for unknown senders and system messages: NULLs sort differently per backend.
SORT_COLUMNS = {
    "Timestamp": Message.created_at,
    "Contact Name": func.coalesce(Contact.name, ""),
    "Contact Type": func.coalesce(Contact.kind, ""),
    "Phone Number": Message.phone_number,
    "Direction": Message.direction,
    "Message": Message.body,
    "Type": Message.workflow,
    "Status": Message.status,
    "Sent by": func.coalesce(WebUser.username, ""),
}


def count(session: Session, actor_id: int | CommandLine, project_id: int, filt: LogFilter) -> int:
    """How many messages the filter selects."""
    authorize(session, actor_id, project_id, Action.VIEW_LOG)
    return int(session.scalar(build_query(session, project_id, filt).count()) or 0)


@dataclass(frozen=True)
class LogPage:
    rows: list[tuple]  # in COLUMNS order
    total: int
    first: int  # 1-based position of the first row (0 when empty)
    last: int


def page(
    session: Session,
    actor_id: int | CommandLine,
    project_id: int,
    filt: LogFilter,
    *,
    sort: str = "Timestamp",
    descending: bool = True,
    page_size: int = 50,
    page_number: int = 1,
) -> LogPage:
    """One page of the filtered log, sorted in the database (ties broken by message id)."""
    authorize(session, actor_id, project_id, Action.VIEW_LOG)
    if sort not in SORT_COLUMNS:
        raise ValidationError(f"Cannot sort by {sort!r}.")
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    q = build_query(session, project_id, filt)
    total = int(session.scalar(q.count()) or 0)
    pages = max(1, -(-total // page_size))
    page_number = max(1, min(int(page_number), pages))
    key = SORT_COLUMNS[sort]
    order = [key.desc(), Message.id.desc()] if descending else [key.asc(), Message.id.asc()]
    offset = (page_number - 1) * page_size
    rows = [tuple(r) for r in session.execute(q.select().order_by(*order).limit(page_size).offset(offset))]
    return LogPage(rows, total, offset + 1 if rows else 0, offset + len(rows))


def latest_id(session: Session, project_id: int) -> int:
    return int(session.scalar(select(func.max(Message.id)).where(Message.project_id == project_id)) or 0)


def iter_chunks(
    session: Session, project_id: int, filt: LogFilter, *, chunk_size: int = 10_000, upto_id: int | None = None,
    column_hook: Callable[[str, ColumnElement, str], ColumnElement] | None = None,
) -> Iterator[Sequence[Sequence]]:
    """The filtered rows in time order, `chunk_size` at a time, from a server-side cursor.

    Core rows (no ORM objects): an export of millions of rows spends its time in the
    database and the writer, not in Python per row. `column_hook(name, expression,
    dialect)` may rewrite a column in SQL (the exports' formula guard does).
    No access check here: `exports` and `message_log_dataframe` check first.
    """
    q = build_query(session, project_id, filt, upto_id=upto_id)
    if column_hook is not None:
        dialect = session.get_bind().dialect.name
        q.columns = {name: column_hook(name, col, dialect) for name, col in q.columns.items()}
    statement = q.select().order_by(Message.created_at, Message.id)
    result = session.connection().execute(statement, execution_options={"stream_results": True,
                                                                         "yield_per": chunk_size})
    yield from result.partitions(chunk_size)


# --- choices for the filter widgets -----------------------------------------------------------


def contact_choices(session: Session, actor_id: int, project_id: int, search: str, limit: int = 50) -> list[tuple[int, str]]:
    """Contacts whose name or number contains `search` (for the Contact filter)."""

    authorize(session, actor_id, project_id, Action.VIEW_LOG)
    text = (search or "").strip()
    query = select(Contact.id, Contact.name, func.min(PhoneNumber.e164)).outerjoin(
        PhoneNumber, PhoneNumber.contact_id == Contact.id
    ).where(Contact.project_id == project_id).group_by(Contact.id, Contact.name).order_by(Contact.name, Contact.id)
    if text:
        digits = "".join(ch for ch in text if ch.isdigit())
        cond = _lower(session, Contact.name).contains(text.lower(), autoescape=True)
        if digits and len(digits) >= 3:
            cond = cond | PhoneNumber.e164.contains(digits, autoescape=True)
        query = query.where(cond)
    return [(cid, f"{name} ({phone})" if phone else name) for cid, name, phone in session.execute(query.limit(limit))]


def user_choices(session: Session, actor_id: int, project_id: int) -> list[tuple[int, str]]:
    """The project's web users (for the Web user filter)."""
    authorize(session, actor_id, project_id, Action.VIEW_LOG)
    rows = session.execute(
        select(WebUser.id, WebUser.username).join(Membership, Membership.user_id == WebUser.id)
        .where(Membership.project_id == project_id).order_by(WebUser.username)
    )
    return [(uid, name) for uid, name in rows]


# --- charts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogCharts:
    """Aggregates for the charts; each list is small (days x categories), computed in SQL."""

    per_day_direction: list[tuple[str, str, int]]  # (day, Incoming/Outgoing, messages)
    per_day_type: list[tuple[str, str, int]]  # (day, Chat/Reminder/..., messages)
    delivery: list[tuple[str, int, int, float]]  # (day, delivered, outgoing with an outcome, rate)
    response_by_day: list[tuple[str, int, float, float]]  # (day, replies, median s, p90 s)
    response_by_user: list[tuple[str, int, float, float]]  # (username, replies, median s, p90 s)


def percentile(histogram: list[tuple[float, int]], p: float) -> float:
    """Percentile (0..1) of values given as (value, count), interpolated like percentile_cont."""
    items = sorted((v, c) for v, c in histogram if c > 0)
    n = sum(c for _, c in items)
    if n == 0:
        raise ValueError("empty histogram")
    rank = p * (n - 1)
    below, above = int(rank), min(int(rank) + 1, n - 1)
    cumulative = list(_accumulate(c for _, c in items))

    def value_at(k: int) -> float:
        return items[bisect.bisect_right(cumulative, k)][0]

    lo_v, hi_v = value_at(below), value_at(above)
    return lo_v + (hi_v - lo_v) * (rank - below)


def _accumulate(counts) -> Iterator[int]:
    total = 0
    for c in counts:
        total += c
        yield total


def _seconds_between(dialect: str, later, earlier) -> ColumnElement:
    if dialect == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return extract("epoch", later - earlier)


def _bucket(seconds) -> ColumnElement:
    """Response times rounded to whole seconds under a minute, 5 s under 10 minutes, 30 s
    under an hour, 5 minutes under a day, hours beyond: at most ~550 values per day and web
    user (plus hours), so the histogram stays small and percentiles stay within a few
    percent of the exact ones."""

    def step(width: float):
        return func.round(seconds / width) * width

    return case(
        (seconds < 60, func.round(seconds)),
        (seconds < 600, step(5.0)),
        (seconds < 3600, step(30.0)),
        (seconds < 86400, step(300.0)),
        else_=step(3600.0),
    )


def response_histogram(session: Session, project_id: int, filt: LogFilter, clock: LocalClock) -> list[tuple[str, int, float, int]]:
    """(local day of the incoming message, web user id, seconds bucket, replies).

    A conversation is cut at each reply by a web user (an outgoing message with a sender);
    the response time of a reply is from the first incoming message after the previous such
    reply to it. Uses the date range, contact and web user of the filter (direction, type,
    status and text would cut conversations in half, so they do not apply here).
    """
    dialect = session.get_bind().dialect.name
    lo, hi = filt.utc_bounds(clock.tz_name)
    where = [Message.project_id == project_id, Message.contact_id.is_not(None)]
    if lo is not None:
        where.append(Message.created_at >= lo)
    if hi is not None:
        where.append(Message.created_at < hi)
    if filt.contact_id is not None:
        where.append(Message.contact_id == filt.contact_id)
    is_reply = case((and_(Message.direction == Direction.OUT.value, Message.sent_by_id.is_not(None)), 1), else_=0)
    conv = select(Message.id, Message.contact_id, Message.created_at, Message.direction, Message.sent_by_id,
                  is_reply.label("is_reply")).where(*where).subquery("conv")
    replies_before = func.coalesce(
        func.sum(conv.c.is_reply).over(partition_by=conv.c.contact_id, order_by=conv.c.id, rows=(None, -1)), 0
    )
    numbered = select(conv, replies_before.label("grp")).subquery("numbered")
    segment = (
        select(
            func.min(case((numbered.c.direction == Direction.IN.value, numbered.c.created_at))).label("first_in"),
            func.max(case((numbered.c.is_reply == 1, numbered.c.created_at))).label("reply_at"),
            func.max(case((numbered.c.is_reply == 1, numbered.c.sent_by_id))).label("user_id"),
        )
        .group_by(numbered.c.contact_id, numbered.c.grp)
        .subquery("segment")
    )
    seconds = _seconds_between(dialect, segment.c.reply_at, segment.c.first_in)
    pairs = select(
        clock.day(segment.c.first_in).label("day"), segment.c.user_id, _bucket(seconds).label("bucket")
    ).where(segment.c.first_in.is_not(None), segment.c.reply_at.is_not(None))
    if filt.user_id is not None:
        pairs = pairs.where(segment.c.user_id == filt.user_id)
    pairs = pairs.subquery("pairs")
    rows = session.execute(
        select(pairs.c.day, pairs.c.user_id, pairs.c.bucket, func.count())
        .group_by(pairs.c.day, pairs.c.user_id, pairs.c.bucket)
    )
    return [(d, int(u), float(b), int(n)) for d, u, b, n in rows]


def charts(session: Session, actor_id: int | CommandLine, project_id: int, filt: LogFilter) -> LogCharts:
    """Aggregates of the filtered log per local day, for the page's charts."""
    authorize(session, actor_id, project_id, Action.VIEW_LOG)
    q = build_query(session, project_id, filt)
    day = q.clock.day(Message.created_at).label("day")

    def grouped(label_col):
        stmt = (select(day, label_col.label("k"), func.count()).select_from(Message).where(*q.where)
                .group_by(literal_column("day"), literal_column("k")).order_by(literal_column("day")))
        return [(d, k, int(n)) for d, k, n in session.execute(stmt)]

    per_direction = grouped(_label_case(Message.direction, DIRECTION_LABELS))
    per_type = grouped(_label_case(Message.workflow, WORKFLOW_LABELS))
    delivered = func.sum(case((Message.status == Status.DELIVERED.value, 1), else_=0))
    delivery_rows = session.execute(
        select(day, delivered, func.count()).select_from(Message)
        .where(*q.where, Message.direction == Direction.OUT.value, Message.status.in_(OUTCOMES))
        .group_by(literal_column("day")).order_by(literal_column("day"))
    )
    delivery = [(d, int(ok or 0), int(n), (int(ok or 0) / n) if n else 0.0) for d, ok, n in delivery_rows]

    histogram = response_histogram(session, project_id, filt, q.clock)
    by_day: dict[str, list[tuple[float, int]]] = defaultdict(list)
    by_user: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for d, u, b, n in histogram:
        by_day[d].append((b, n))
        by_user[u].append((b, n))
    names = dict(session.execute(select(WebUser.id, WebUser.username).where(WebUser.id.in_(list(by_user)))).all()) if by_user else {}

    def summary(hist):
        return sum(n for _, n in hist), percentile(hist, 0.5), percentile(hist, 0.9)

    response_by_day = [(d, *summary(h)) for d, h in sorted(by_day.items())]
    response_by_user = sorted(((names.get(u, f"#{u}"), *summary(h)) for u, h in by_user.items()))
    return LogCharts(per_direction, per_type, delivery, response_by_day, response_by_user)


# --- for notebooks -----------------------------------------------------------------------------


def message_log_dataframe(session: Session, actor_id: int | CommandLine, project_id: int,
                          filt: LogFilter | None = None, *, chunk_size: int = 50_000):
    """The filtered message log of one project as a pandas DataFrame (for notebooks).

    Same filter (`LogFilter`) and same columns (`COLUMNS`) as the Message log page and
    the exports, in time order; `Timestamp` is a datetime64 column holding the local wall
    time in the project's time zone. Read-only: it runs SELECT statements only (pass a
    session from `session_scope(readonly=True)`); the caller's role must allow viewing
    the log (analyst, supervisor, admin). Rows are read in chunks from a server-side
    cursor, so only the frame itself takes memory.
    """
    import pandas as pd

    authorize(session, actor_id, project_id, Action.VIEW_LOG)
    filt = filt or LogFilter()
    frames = [pd.DataFrame(chunk, columns=list(COLUMNS))
              for chunk in iter_chunks(session, project_id, filt, chunk_size=chunk_size)]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(COLUMNS))
    frame["Timestamp"] = pd.to_datetime(frame["Timestamp"], format="%Y-%m-%d %H:%M:%S")
    return frame
