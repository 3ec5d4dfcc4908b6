"""TEMPORARY — delete at merge. `require` taking an `Actor`, for the message log, the exports
and the chat settings, until `smschat.accounts.access.require` takes an Actor itself; then
their imports of `require` point at `smschat.accounts.access` and this file goes."""

from __future__ import annotations

from sqlalchemy.orm import Session

from smschat.accounts import access
from smschat.accounts.access import Action
from smschat.accounts.actor import Actor


def require(session: Session, actor: Actor, project_id: int, action: Action) -> None:
    if not isinstance(actor, Actor):
        raise TypeError(f"expected an Actor, got {actor!r}")
    if actor.operator:  # the command line holds the database itself
        return
    access.require(session, actor.user_id, project_id, action)
