"""Messages from numbers no contact owns: kept, never dropped, and listed for staff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from smschat.accounts.access import Action, require
from smschat.accounts.actor import Actor
from smschat.chat.window import ChatLine, phone_thread
from smschat.errors import NotFound
from smschat.models import Direction, Message


@dataclass(frozen=True)
class UnknownSender:
    phone_number: str
    messages: int
    last_at: datetime
    last_body: str


def list_unknown_senders(session: Session, actor: Actor, project_id: int, *, limit: int = 200) -> list[UnknownSender]:
    """Numbers that wrote to us without being a contact, newest first (a partial index serves it)."""
    require(session, actor, project_id, Action.VIEW_CONTACTS)
    unknown = (Message.project_id == project_id, Message.direction == Direction.IN.value, Message.contact_id.is_(None))
    per_number = (
        select(Message.phone_number, func.count().label("n"), func.max(Message.id).label("last_id"))
        .where(*unknown)
        .group_by(Message.phone_number)
        .subquery()
    )
    rows = session.execute(
        select(per_number.c.phone_number, per_number.c.n, Message.created_at, Message.body)
        .join(Message, Message.id == per_number.c.last_id)
        .order_by(per_number.c.last_id.desc())
        .limit(limit)
    )
    return [UnknownSender(number, n, at, body) for number, n, at, body in rows]


def thread(session: Session, actor: Actor, project_id: int, e164: str, *, limit: int = 100) -> list[ChatLine]:
    """Everything to and from one unknown number, oldest first; the same refusal for a number
    that never wrote and one that is a contact's."""
    require(session, actor, project_id, Action.VIEW_CONTACTS)
    unknown = session.scalar(select(Message.id).where(
        Message.project_id == project_id, Message.phone_number == e164, Message.contact_id.is_(None),
        Message.direction == Direction.IN.value).limit(1))
    if unknown is None:
        raise NotFound("No message from that number in this project.")
    return phone_thread(session, project_id, e164, limit=limit)
