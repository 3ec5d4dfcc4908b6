"""The Messaging Log's entry points: every message of a project, filtered, sorted, paged,
counted and charted, for the page, and as a DataFrame for notebooks. Each checks the actor's
role here; the work is in the modules beside it:

  filter.py   `LogFilter`, which messages (checked in one place)
  columns.py  the columns, declared once (cell, sort key, user text, type)
  query.py    the filtered log in SQL: page, count, the streaming cursor of the exports
  charts.py   the aggregates behind the charts
  dialect.py  what differs between SQLite and PostgreSQL
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from smschat.accounts.access import Action, require
from smschat.accounts.actor import Actor
from smschat.log import charts as _charts
from smschat.log import dialect, query
from smschat.log.charts import LogCharts
from smschat.log.columns import COLUMNS
from smschat.log.filter import DIRECTION_LABELS, STATUSES, WORKFLOW_LABELS, LogFilter
from smschat.log.query import LogPage
from smschat.models import Contact, Membership, PhoneNumber, WebUser

__all__ = ["COLUMNS", "DIRECTION_LABELS", "PAGE_SIZES", "STATUSES", "WORKFLOW_LABELS", "LogCharts", "LogFilter",
           "LogPage", "charts", "contact_choices", "count", "message_log_dataframe", "page", "user_choices"]

PAGE_SIZES = (25, 50, 100, 250)


def count(session: Session, actor: Actor, project_id: int, filt: LogFilter) -> int:
    """How many messages the filter selects."""
    require(session, actor, project_id, Action.VIEW_LOG)
    return query.count_rows(session, project_id, filt)


def page(
    session: Session,
    actor: Actor,
    project_id: int,
    filt: LogFilter,
    *,
    sort: str = "Timestamp",
    descending: bool = True,
    page_size: int = 50,
    page_number: int = 1,
) -> LogPage:
    """One page of the filtered log, sorted in the database (ties broken by message id)."""
    require(session, actor, project_id, Action.VIEW_LOG)
    return query.sorted_page(session, project_id, filt, sort=sort, descending=descending, page_size=page_size,
                             page_number=page_number)


def charts(session: Session, actor: Actor, project_id: int, filt: LogFilter) -> LogCharts:
    """Aggregates of the filtered log per local day, for the page's charts."""
    require(session, actor, project_id, Action.VIEW_LOG)
    return _charts.compute(session, project_id, filt)


# --- choices for the filter widgets -----------------------------------------------------------


def contact_choices(session: Session, actor: Actor, project_id: int, search: str, limit: int = 50) -> list[tuple[int, str]]:
    """Contacts whose name or number contains `search` (for the Contact filter)."""
    require(session, actor, project_id, Action.VIEW_LOG)
    text = (search or "").strip()
    rows = select(Contact.id, Contact.name, func.min(PhoneNumber.e164)).outerjoin(
        PhoneNumber, PhoneNumber.contact_id == Contact.id
    ).where(Contact.project_id == project_id).group_by(Contact.id, Contact.name).order_by(Contact.name, Contact.id)
    if text:
        digits = "".join(ch for ch in text if ch.isdigit())
        cond = dialect.lower(session, Contact.name).contains(text.lower(), autoescape=True)
        if digits and len(digits) >= 3:
            cond = cond | PhoneNumber.e164.contains(digits, autoescape=True)
        rows = rows.where(cond)
    return [(cid, f"{name} ({phone})" if phone else name) for cid, name, phone in session.execute(rows.limit(limit))]


def user_choices(session: Session, actor: Actor, project_id: int) -> list[tuple[int, str]]:
    """The project's web users (for the Web user filter)."""
    require(session, actor, project_id, Action.VIEW_LOG)
    rows = session.execute(
        select(WebUser.id, WebUser.username).join(Membership, Membership.user_id == WebUser.id)
        .where(Membership.project_id == project_id).order_by(WebUser.username)
    )
    return [(uid, name) for uid, name in rows]


# --- for notebooks -----------------------------------------------------------------------------


def message_log_dataframe(session: Session, actor: Actor, project_id: int,
                          filt: LogFilter | None = None, *, chunk_size: int = 50_000):
    """The filtered message log of one project as a pandas DataFrame (for notebooks).

    Same filter (`LogFilter`) and same columns (`COLUMNS`) as the Message log page and
    the exports, in time order; `Timestamp` is a datetime64 column holding the local wall
    time in the project's time zone. Read-only: it runs SELECT statements only (pass a
    session from `session_scope(readonly=True)`); the actor's role must allow viewing
    the log (analyst, supervisor, admin; or `Actor.command_line()`). Rows are read in
    chunks from a server-side cursor, so only the frame itself takes memory.
    """
    import pandas as pd  # only notebooks need pandas here: the page and CLI stay light

    require(session, actor, project_id, Action.VIEW_LOG)
    filt = filt or LogFilter()
    frames = [pd.DataFrame(chunk, columns=list(COLUMNS))
              for chunk in query.iter_chunks(session, project_id, filt, chunk_size=chunk_size)]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(COLUMNS))
    frame["Timestamp"] = pd.to_datetime(frame["Timestamp"], format="%Y-%m-%d %H:%M:%S")
    return frame
