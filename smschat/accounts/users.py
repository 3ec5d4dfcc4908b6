"""Web users as a project's admin manages them (every call checks the admin's role).

Accounts are global (one password, one disabled flag), admin rights are per project: a
project admin may change an account only when every project of that account is one they
administer and it is not a site admin's; a site admin may change any account."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from smschat.accounts import audit, auth
from smschat.accounts.access import Action, require
from smschat.accounts.actor import Actor
from smschat.accounts.projects import get_project
from smschat.errors import PermissionDenied, UserNotFound
from smschat.models import Membership, Role, WebUser

# Why a project admin may not change an account (the same words whichever other project it
# is, so nothing names a project the admin cannot see).
OTHER_PROJECT = "Only a site admin can change this account: it also belongs to a project you do not administer."
SITE_ADMIN = "Only a site admin can change this account: it is a site admin's."


@dataclass(frozen=True)
class UserRow:
    username: str
    first_name: str
    role: str
    active: bool
    locked: str = ""  # why the acting admin cannot change this account ("" if they can)


def _administered(session: Session, actor: Actor) -> tuple[bool, set[int]]:
    """(is the actor a site admin, the projects they administer). The operator at the command
    line manages every account, as a site admin does."""
    if actor.operator:
        return True, set()
    actor_id = actor.user_id
    site_admin = bool(session.scalar(select(WebUser.is_site_admin).where(WebUser.id == actor_id)))
    projects = set(session.scalars(
        select(Membership.project_id).where(Membership.user_id == actor_id, Membership.role == Role.ADMIN.value)))
    return site_admin, projects


def _locked(site_admin: bool, administered: set[int], target_site_admin: bool, target_projects: set[int]) -> str:
    if site_admin:
        return ""
    if target_site_admin:
        return SITE_ADMIN
    if not target_projects <= administered:
        return OTHER_PROJECT
    return ""


def project_users(session: Session, actor: Actor, project_id: int) -> list[UserRow]:
    """The project's web users, each with why the actor cannot change it, if so."""
    require(session, actor, project_id, Action.MANAGE_USERS)
    site_admin, administered = _administered(session, actor)
    rows = session.execute(
        select(WebUser.id, WebUser.username, WebUser.first_name, Membership.role, WebUser.is_active,
               WebUser.is_site_admin)
        .join(Membership, Membership.user_id == WebUser.id)
        .where(Membership.project_id == project_id)
        .order_by(WebUser.username)
    ).all()
    projects: dict[int, set[int]] = {}
    members = select(Membership.user_id).where(Membership.project_id == project_id)
    for user_id, pid in session.execute(
            select(Membership.user_id, Membership.project_id).where(Membership.user_id.in_(members))):
        projects.setdefault(user_id, set()).add(pid)
    return [
        UserRow(username, first_name, role, active,
                _locked(site_admin, administered, target_site_admin, projects.get(user_id, set())))
        for user_id, username, first_name, role, active, target_site_admin in rows
    ]


def _member(session: Session, project_id: int, username: str) -> WebUser:
    user = session.scalar(
        select(WebUser)
        .join(Membership, Membership.user_id == WebUser.id)
        .where(Membership.project_id == project_id, WebUser.username == username)
    )
    if user is None:
        raise UserNotFound("No such web user in this project.")
    return user


def _changeable(session: Session, actor: Actor, project_id: int, username: str) -> WebUser:
    """A member of the project whom the actor may change: PermissionDenied otherwise."""
    require(session, actor, project_id, Action.MANAGE_USERS)
    user = _member(session, project_id, username)
    site_admin, administered = _administered(session, actor)
    target_projects = set(session.scalars(select(Membership.project_id).where(Membership.user_id == user.id)))
    reason = _locked(site_admin, administered, user.is_site_admin, target_projects)
    if reason:
        raise PermissionDenied(reason)
    return user


def add_user(session: Session, actor: Actor, project_id: int, username: str, password: str, *,
             first_name: str = "", role: str = "agent") -> WebUser:
    require(session, actor, project_id, Action.MANAGE_USERS)
    return auth.create_user(session, username, password, first_name=first_name,
                            project=get_project(session, project_id), role=role, actor=actor)


def change_role(session: Session, actor: Actor, project_id: int, username: str, role: str) -> None:
    user = _changeable(session, actor, project_id, username)
    auth.set_role(session, user, get_project(session, project_id), role, actor=actor)


def set_active(session: Session, actor: Actor, project_id: int, username: str, active: bool) -> None:
    auth.set_active(session, _changeable(session, actor, project_id, username).username, active, actor=actor)


def reset_password(session: Session, actor: Actor, project_id: int, username: str, password: str) -> None:
    auth.set_password(session, _changeable(session, actor, project_id, username).username, password,
                      actor=actor)


def audit_trail(session: Session, actor: Actor, project_id: int, *, limit: int = 200,
                action: str | None = None, username: str | None = None) -> list[audit.AuditRow]:
    """The project's audit trail, newest first, optionally one kind of event or one user's."""
    require(session, actor, project_id, Action.VIEW_AUDIT)
    return audit.list_events(session, project_id, limit=limit, action=action, username=username)


def audit_filters(session: Session, actor: Actor, project_id: int) -> tuple[list[str], list[str]]:
    """(kinds of event, usernames) that occur in the project's trail."""
    require(session, actor, project_id, Action.VIEW_AUDIT)
    return audit.filter_choices(session, project_id)
