"""The audit trail: one row per event worth answering "who did that, and when?"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from smschat.models import AuditEvent, Membership, WebUser, utcnow

LOGIN = "login"
LOGIN_FAILED = "login_failed"
LOGIN_THROTTLED = "login_throttled"
LOGOUT = "logout"
SETTINGS_CHANGED = "settings_changed"
EXPORT = "export"
USER_CHANGED = "user_changed"
PROJECT_CHANGED = "project_changed"
ASSIGNMENT = "assignment"
QUICK_REPLY_CHANGED = "quick_reply_changed"


def record(
    session: Session,
    action: str,
    *,
    user_id: int | None = None,
    username: str | None = None,
    project_id: int | None = None,
    address: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    event = AuditEvent(
        action=action, user_id=user_id, username=username, project_id=project_id,
        address=(address or None) and address[:64], detail=detail or {}, at=at or utcnow(),
    )
    session.add(event)
    session.flush()
    return event


def count_since(session: Session, action: str, since: datetime, *, username: str | None = None, address: str | None = None) -> int:
    query = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action, AuditEvent.at >= since)
    if username is not None:
        query = query.where(AuditEvent.username == username)
    if address is not None:
        query = query.where(AuditEvent.address == address)
    return int(session.scalar(query) or 0)


@dataclass(frozen=True)
class AuditRow:
    at: datetime
    action: str
    username: str | None
    address: str | None
    detail: dict[str, Any]


def _in_project(project_id: int):
    """Events of one project, plus the project-less ones (logins) of its members."""
    members = select(Membership.user_id).where(Membership.project_id == project_id)
    return or_(
        AuditEvent.project_id == project_id,
        AuditEvent.project_id.is_(None) & AuditEvent.user_id.in_(members),
    )


def _who():
    # The name written with the event (logins) or the acting web user's.
    return func.coalesce(AuditEvent.username, WebUser.username)


def list_events(
    session: Session, project_id: int | None, *, limit: int = 200, offset: int = 0,
    action: str | None = None, username: str | None = None,
) -> list[AuditRow]:
    """Events of one project, plus the project-less ones (logins) of its members, newest
    first; optionally only one kind of event (`action`) or one web user's (`username`)."""
    query = (
        select(AuditEvent, WebUser.username)
        .outerjoin(WebUser, WebUser.id == AuditEvent.user_id)
        .order_by(AuditEvent.id.desc())
        .limit(max(1, min(limit, 1000)))
        .offset(max(0, offset))
    )
    if project_id is not None:
        query = query.where(_in_project(project_id))
    if action:
        query = query.where(AuditEvent.action == action)
    if username:
        query = query.where(_who() == username)
    # Events written by the CLI have no acting web user.
    return [
        AuditRow(e.at, e.action, e.username or actor or "(command line)", e.address, e.detail or {})
        for e, actor in session.execute(query)
    ]


def filter_choices(session: Session, project_id: int) -> tuple[list[str], list[str]]:
    """The kinds of event and the web users that occur in a project's trail (for filters)."""
    base = select().select_from(AuditEvent).outerjoin(WebUser, WebUser.id == AuditEvent.user_id).where(
        _in_project(project_id))
    actions = session.scalars(base.with_only_columns(AuditEvent.action).distinct().order_by(AuditEvent.action))
    who = _who()
    names = session.scalars(base.with_only_columns(who).where(who.is_not(None)).distinct().order_by(who))
    return list(actions), list(names)


def window_start(minutes: int, now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(minutes=minutes)
