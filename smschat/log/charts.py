"""Aggregates of the filtered log per local day for the page's charts: messages by direction
and by type, the delivery rate, and the time to a web user's first reply. Each result is small
(days x categories) and computed in SQL. No access check here: `messagelog.charts` checks."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, case, func, literal_column, select
from sqlalchemy.orm import Session

from smschat.log import dialect
from smschat.log.columns import label_case
from smschat.log.dialect import LocalClock
from smschat.log.filter import DIRECTION_LABELS, WORKFLOW_LABELS, LogFilter
from smschat.log.query import build_query
from smschat.models import Direction, Message, Status, WebUser

# Final outcomes of an outgoing message: the delivery rate is delivered / these.
OUTCOMES = (Status.SENT.value, Status.DELIVERED.value, Status.UNDELIVERED.value, Status.FAILED.value,
            Status.UNKNOWN.value, Status.EXPIRED.value)


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
    seconds = dialect.seconds_between(dialect.name(session), segment.c.reply_at, segment.c.first_in)
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


def compute(session: Session, project_id: int, filt: LogFilter) -> LogCharts:
    """Aggregates of the filtered log per local day."""
    q = build_query(session, project_id, filt)
    day = q.clock.day(Message.created_at).label("day")

    def grouped(label_col):
        # Staff notes are no traffic: the charts leave them out.
        stmt = (select(day, label_col.label("k"), func.count()).select_from(Message)
                .where(*q.where, Message.direction != Direction.NOTE.value)
                .group_by(literal_column("day"), literal_column("k")).order_by(literal_column("day")))
        return [(d, k, int(n)) for d, k, n in session.execute(stmt)]

    per_direction = grouped(label_case(Message.direction, DIRECTION_LABELS))
    per_type = grouped(label_case(Message.workflow, WORKFLOW_LABELS))
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
