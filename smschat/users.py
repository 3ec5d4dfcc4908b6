"""Web users as a project's admin manages them (every call checks the admin's role)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, auth
from .access import Action, require
from .errors import UserNotFound
from .models import Membership, WebUser
from .projects import get_project


@dataclass(frozen=True)
class UserRow:
    username: str
    first_name: str
    role: str
    active: bool


def project_users(session: Session, actor_id: int, project_id: int) -> list[UserRow]:
    require(session, actor_id, project_id, Action.MANAGE_USERS)
    rows = session.execute(
        select(WebUser.username, WebUser.first_name, Membership.role, WebUser.is_active)
        .join(Membership, Membership.user_id == WebUser.id)
        .where(Membership.project_id == project_id)
        .order_by(WebUser.username)
    )
    return [UserRow(*r) for r in rows]


def _member(session: Session, project_id: int, username: str) -> WebUser:
    user = session.scalar(
        select(WebUser)
        .join(Membership, Membership.user_id == WebUser.id)
        .where(Membership.project_id == project_id, WebUser.username == username)
    )
    if user is None:
        raise UserNotFound("No such web user in this project.")
    return user


def add_user(session: Session, actor_id: int, project_id: int, username: str, password: str, *,
             first_name: str = "", role: str = "agent") -> WebUser:
    require(session, actor_id, project_id, Action.MANAGE_USERS)
    return auth.create_user(session, username, password, first_name=first_name,
                            project=get_project(session, project_id), role=role, actor_id=actor_id)


def change_role(session: Session, actor_id: int, project_id: int, username: str, role: str) -> None:
    require(session, actor_id, project_id, Action.MANAGE_USERS)
    auth.set_role(session, _member(session, project_id, username), get_project(session, project_id), role, actor_id=actor_id)


def set_active(session: Session, actor_id: int, project_id: int, username: str, active: bool) -> None:
    require(session, actor_id, project_id, Action.MANAGE_USERS)
    auth.set_active(session, _member(session, project_id, username).username, active, actor_id=actor_id)


def reset_password(session: Session, actor_id: int, project_id: int, username: str, password: str) -> None:
    require(session, actor_id, project_id, Action.MANAGE_USERS)
    auth.set_password(session, _member(session, project_id, username).username, password, actor_id=actor_id)


def audit_trail(session: Session, actor_id: int, project_id: int, *, limit: int = 200,
                action: str | None = None, username: str | None = None) -> list[audit.AuditRow]:
    """The project's audit trail, newest first, optionally one kind of event or one user's."""
    require(session, actor_id, project_id, Action.VIEW_AUDIT)
    return audit.list_events(session, project_id, limit=limit, action=action, username=username)


def audit_filters(session: Session, actor_id: int, project_id: int) -> tuple[list[str], list[str]]:
    """(kinds of event, usernames) that occur in the project's trail."""
    require(session, actor_id, project_id, Action.VIEW_AUDIT)
    return audit.filter_choices(session, project_id)
