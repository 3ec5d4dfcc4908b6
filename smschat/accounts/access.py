"""Who may do what: roles per project, checked by the service layer on every call.

The pages hide what a role cannot use (convenience); these checks are the rule.
"""

from __future__ import annotations

import enum

from sqlalchemy.orm import Session

from smschat.accounts.actor import Actor
from smschat.accounts.auth import role_in
from smschat.errors import PermissionDenied
from smschat.models import Role


class Action(enum.StrEnum):
    VIEW_CONTACTS = "view contacts"
    CHAT = "chat"
    SIMULATE = "use the phone simulator"
    VIEW_LOG = "view the message log"
    EXPORT = "export messages"
    CHANGE_SETTINGS = "change settings"
    MANAGE_CONTACTS = "manage contacts"
    MANAGE_AUTOMATION = "manage reminders, broadcasts, keywords and surveys"
    MANAGE_USERS = "manage web users"
    VIEW_AUDIT = "view the audit trail"
    MANAGE_PROJECTS = "manage projects and sender numbers"
    RETRY_STUCK = "retry stuck messages"


_AGENT = {Action.VIEW_CONTACTS, Action.CHAT, Action.SIMULATE}
_ANALYST = {Action.VIEW_CONTACTS, Action.VIEW_LOG, Action.EXPORT}
_SUPERVISOR = _AGENT | _ANALYST | {Action.CHANGE_SETTINGS, Action.MANAGE_CONTACTS, Action.MANAGE_AUTOMATION}
_SUPERVISOR |= {Action.RETRY_STUCK}

ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.AGENT: frozenset(_AGENT),
    Role.ANALYST: frozenset(_ANALYST),
    Role.SUPERVISOR: frozenset(_SUPERVISOR),
    Role.ADMIN: frozenset(Action),
}

NO_ACCESS = "You do not have access to this project."


def allowed(role: str | Role, action: Action) -> bool:
    try:
        return action in ROLE_ACTIONS[Role(role)]
    except ValueError:
        return False


def checked(actor: Actor) -> Actor:
    """`actor` itself; a TypeError for anything else (a user id, None): never a pass."""
    if not isinstance(actor, Actor):
        raise TypeError(f"the acting party must be an Actor, not {type(actor).__name__}")
    return actor


def require(session: Session, actor: Actor, project_id: int, action: Action) -> Role:
    """The actor's role in the project if it allows `action`; PermissionDenied otherwise.

    The one place every service checks who acts. The operator (the command line) holds the
    database itself, so it passes as an admin of every project; a web user's role is read.
    Anything else is a programming error, never a pass."""

    if checked(actor).operator:
        return Role.ADMIN
    role = role_in(session, actor.user_id, project_id)
    if action not in ROLE_ACTIONS[role]:
        raise PermissionDenied(f"Your role ({role.value}) cannot {action.value}.")
    return role
