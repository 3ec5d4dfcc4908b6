"""'Viewing now': which other web users have the same chat open."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from smschat.models import ChatPresence, WebUser, utcnow


def touch(session: Session, project_id: int, user_id: int, contact_id: int) -> None:
    """Called by each refresh of an open chat window."""
    row = session.scalar(
        select(ChatPresence).where(
            ChatPresence.project_id == project_id, ChatPresence.user_id == user_id, ChatPresence.contact_id == contact_id
        )
    )
    if row is None:
        session.add(ChatPresence(project_id=project_id, user_id=user_id, contact_id=contact_id, seen_at=utcnow()))
    else:
        row.seen_at = utcnow()
    session.flush()


def others_viewing(session: Session, project_id: int, user_id: int, contact_id: int, *, within_seconds: float) -> list[str]:
    """Display names of the other web users whose window on this chat refreshed lately."""
    since = utcnow() - timedelta(seconds=within_seconds)
    rows = session.execute(
        select(WebUser.first_name, WebUser.username)
        .join(ChatPresence, ChatPresence.user_id == WebUser.id)
        .where(
            ChatPresence.project_id == project_id,
            ChatPresence.contact_id == contact_id,
            ChatPresence.user_id != user_id,
            ChatPresence.seen_at >= since,
        )
        .order_by(WebUser.username)
    )
    return [first or username for first, username in rows]
