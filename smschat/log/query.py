"""The filtered log in SQL: its conditions, a sorted page, a count, and a streaming cursor for
exports. No access checks here: the entry points in `messagelog` and `exports` check first.

Times: the date range is given in local dates of the project's time zone and becomes UTC
bounds here; the Timestamp column is the local wall time as `YYYY-MM-DD HH:MM:SS`
(sortable text), computed by the database so that pages, exports and frames agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from smschat.accounts.projects import get_project
from smschat.errors import ValidationError
from smschat.log import dialect
from smschat.log.columns import SORT_COLUMNS, TABLE
from smschat.log.dialect import LocalClock
from smschat.log.filter import LogFilter
from smschat.models import Contact, Message, WebUser

MAX_PAGE_SIZE = 1000


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
        where.append(body_contains(session, filt.text))
    return where


def body_contains(session: Session, text: str) -> ColumnElement:
    """The body holds `text` anywhere, in any case, literally (`%` and `_` are plain characters):
    the log's Search messages, and the rule the conversation search's indexes must agree with."""
    return dialect.lower(session, Message.body).contains(text.lower(), autoescape=True)


@dataclass
class Query:
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


def build_query(session: Session, project_id: int, filt: LogFilter, *, upto_id: int | None = None) -> Query:
    """The filtered log (no access check: callers check first). `upto_id` pins the row set."""
    project = get_project(session, project_id)
    name = dialect.name(session)
    lo, hi = filt.utc_bounds(project.time_zone)
    if name == "sqlite" and (lo is None or hi is None):
        first, last = session.execute(
            select(func.min(Message.created_at), func.max(Message.created_at)).where(Message.project_id == project_id)
        ).one()
        lo, hi = lo or first, hi or last
    clock = LocalClock(name, project.time_zone, lo, hi)
    where = _conditions(session, project_id, filt, project.time_zone)
    if upto_id is not None:
        where.append(Message.id <= upto_id)
    return Query(project_id, project.time_zone, clock, where, {c.name: c.shown(clock) for c in TABLE})


def count_rows(session: Session, project_id: int, filt: LogFilter) -> int:
    return int(session.scalar(build_query(session, project_id, filt).count()) or 0)


@dataclass(frozen=True)
class LogPage:
    rows: list[tuple]  # in COLUMNS order
    total: int
    first: int  # 1-based position of the first row (0 when empty)
    last: int


def sorted_page(session: Session, project_id: int, filt: LogFilter, *, sort: str, descending: bool,
                page_size: int, page_number: int) -> LogPage:
    """One page of the filtered log, sorted in the database (ties broken by message id)."""
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
    """
    q = build_query(session, project_id, filt, upto_id=upto_id)
    if column_hook is not None:
        name = dialect.name(session)
        q.columns = {col: column_hook(col, expr, name) for col, expr in q.columns.items()}
    statement = q.select().order_by(Message.created_at, Message.id)
    result = session.connection().execute(statement, execution_options={"stream_results": True,
                                                                         "yield_per": chunk_size})
    yield from result.partitions(chunk_size)
