"""Waiting replies: conversations whose last word is the contact's, oldest wait first, and the
one web user each is assigned to.

A per-conversation summary on `contact` keeps this fast at any size: `waiting_since_id` is the
first incoming message nobody has answered yet (NULL when nothing waits), kept up to date by
`track`, which is called wherever a message is stored (inbound SMS, the outbox), and served by
a partial index (only waiting conversations are in it). A reply is any outgoing message but a
reminder or a broadcast (those answer nobody); a staff note answers nobody either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, literal, select, update
from sqlalchemy.orm import Session, aliased

from smschat.accounts import audit
from smschat.accounts.access import ROLE_ACTIONS, Action, require
from smschat.accounts.actor import Actor
from smschat.accounts.projects import get_chat_settings
from smschat.chat import reads
from smschat.errors import AlreadyAssigned, UserNotFound, ValidationError
from smschat.models import (
    Contact,
    Direction,
    Membership,
    Message,
    ReadMarker,
    Role,
    UTCDateTime,
    WebUser,
    Workflow,
    utcnow,
)
from smschat.people.contacts import display_name, get_contact

# Outgoing traffic that does not answer the contact: it leaves a conversation waiting.
NOT_A_REPLY = (Workflow.REMINDER.value, Workflow.BROADCAST.value)
SHOW = {"mine": "Mine", "unassigned": "Unassigned", "all": "All"}
DEFAULT_PAGE = 50
MAX_PAGE = 200
# Counted up to this many (then "1,000+"): a refresh never walks a long list just to count it.
COUNT_CAP = 1000
NO_SUCH_USER = "No such web user in this project."


def track(session: Session, message: Message) -> None:
    """Keep the conversation's waiting state up to date with one stored message."""
    if message.contact_id is None:
        return
    mine = Contact.id == message.contact_id
    if message.direction == Direction.IN.value:
        session.execute(
            update(Contact).where(mine).values(
                waiting_since_id=func.coalesce(Contact.waiting_since_id, message.id),
                waiting_since_at=case((Contact.waiting_since_id.is_(None), literal(message.created_at, UTCDateTime())),
                                      else_=Contact.waiting_since_at),
            ).execution_options(synchronize_session=False)
        )
    elif message.direction == Direction.OUT.value and message.workflow not in NOT_A_REPLY:
        session.execute(
            update(Contact).where(mine, Contact.waiting_since_id < message.id)
            .values(waiting_since_id=None, waiting_since_at=None)
            .execution_options(synchronize_session=False)
        )


def wait_text(seconds: float) -> str:
    """"waiting 2 h 13 min"."""
    minutes = int(max(0, seconds) // 60)
    if minutes < 1:
        return "waiting under a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"waiting {days} d {hours} h"
    if hours:
        return f"waiting {hours} h {minutes} min"
    return f"waiting {minutes} min"


@dataclass(frozen=True)
class Waiting:
    contact_id: int
    name: str
    waiting_since_id: int
    waiting_since: datetime
    wait: str  # "waiting 2 h 13 min"
    last_message: str  # the contact's last message, as they wrote it
    unread: bool  # for the acting web user
    assignee: str | None  # username
    assignee_name: str | None  # first name, else username


@dataclass(frozen=True)
class WaitingPage:
    rows: list[Waiting]
    total: int  # waiting conversations under this filter, at most COUNT_CAP + 1 (shown "1,000+")
    next_after: int | None  # cursor for the next page (None: this was the last)


def _filter(actor: Actor, show: str) -> list:
    if show not in SHOW:
        raise ValidationError(f"Show one of {', '.join(SHOW)}, not {show!r}.")
    if show == "mine":
        return [Contact.assignee_id == actor.web_user_id()]
    if show == "unassigned":
        return [Contact.assignee_id.is_(None)]
    return []


def list_waiting(
    session: Session, actor: Actor, project_id: int, *, show: str = "all", after_id: int | None = None,
    limit: int = DEFAULT_PAGE, now: datetime | None = None,
) -> WaitingPage:
    """Waiting conversations, oldest wait first; `after_id` (a page's `next_after`) pages on."""
    require(session, actor, project_id, Action.CHAT)
    where = [Contact.project_id == project_id, Contact.waiting_since_id.is_not(None), *_filter(actor, show)]
    limit = max(1, min(int(limit), MAX_PAGE))
    settings = get_chat_settings(session, project_id)
    # Unread state in the same query when each user reads for themselves (the usual mode).
    per_user = actor.user_id is not None and settings.read_mode == "per_user"
    last_in = aliased(Message)
    # Correlated lookups, one unique-index probe per row shown: as an outer join, PostgreSQL
    # paired "mine" (assignee = me) with the marker's user and walked all of my markers per row.
    marker = [Contact.id == ReadMarker.contact_id, ReadMarker.project_id == project_id,
              ReadMarker.user_id == actor.user_id]
    marker_columns = (
        select(ReadMarker.last_read_message_id).where(*marker).correlate(Contact).scalar_subquery(),
        select(ReadMarker.marked_unread).where(*marker).correlate(Contact).scalar_subquery(),
    ) if per_user else ()
    query = (
        select(Contact, last_in.body, WebUser, *marker_columns)
        .outerjoin(last_in, last_in.id == Contact.last_incoming_id)
        .outerjoin(WebUser, WebUser.id == Contact.assignee_id)
        .where(*where)
        .order_by(Contact.waiting_since_id)
        .limit(limit + 1)
        # The summary columns change under the ORM's feet (track() writes them in SQL).
        .execution_options(populate_existing=True)
    )
    if after_id is not None:
        query = query.where(Contact.waiting_since_id > int(after_id))
    found = list(session.execute(query))
    more = len(found) > limit
    found = found[:limit]
    capped = select(Contact.id).where(*where).limit(COUNT_CAP + 1).subquery()
    total = int(session.scalar(select(func.count()).select_from(capped)) or 0)
    if per_user:
        positions = {row[0].id: (int(row[3] or 0), bool(row[4])) for row in found}
    elif actor.user_id is not None:
        positions = reads._positions(session, project_id, actor.user_id, [row[0].id for row in found])
    else:
        positions = {}
    now = now or utcnow()
    rows = []
    for contact, body, user, *_ in found:
        read_to, flagged = positions.get(contact.id, (0, False))
        rows.append(Waiting(
            contact_id=contact.id,
            name=display_name(contact, settings),
            waiting_since_id=contact.waiting_since_id,
            waiting_since=contact.waiting_since_at,
            wait=wait_text((now - contact.waiting_since_at).total_seconds()) if contact.waiting_since_at else "",
            last_message=body or "",
            unread=flagged or (contact.last_incoming_id or 0) > read_to,
            assignee=user.username if user else None,
            assignee_name=user.display_name if user else None,
        ))
    return WaitingPage(rows, total, rows[-1].waiting_since_id if more and rows else None)


def _staff(session: Session, project_id: int):
    """Web users who may chat in the project (who a conversation can be assigned to)."""
    roles = [r.value for r in Role if Action.CHAT in ROLE_ACTIONS[r]]
    return (
        select(WebUser)
        .join(Membership, Membership.user_id == WebUser.id)
        .where(Membership.project_id == project_id, Membership.role.in_(roles), WebUser.is_active.is_(True))
    )


def assignable_users(session: Session, actor: Actor, project_id: int) -> list[tuple[str, str]]:
    """(username, name) of everyone a conversation can be assigned to, by name."""
    require(session, actor, project_id, Action.CHAT)
    users = session.scalars(_staff(session, project_id).order_by(WebUser.username))
    return [(u.username, u.display_name) for u in users]


def _user(session: Session, project_id: int, username: str) -> WebUser:
    user = session.scalar(_staff(session, project_id).where(WebUser.username == str(username)))
    if user is None:
        # Same words for a stranger, another project's user and one who may not chat.
        raise UserNotFound(NO_SUCH_USER)
    return user


@dataclass(frozen=True)
class Assignee:
    username: str
    name: str


def assignee(session: Session, actor: Actor, project_id: int, contact_id: int | str) -> Assignee | None:
    """Who the conversation is assigned to (the chat header), or None."""
    require(session, actor, project_id, Action.CHAT)
    user = _holder(session, get_contact(session, project_id, contact_id).id)
    return Assignee(user.username, user.display_name) if user else None


def _holder(session: Session, contact_id: int) -> WebUser | None:
    # Read from the row, not the ORM's copy: assignments are written in SQL.
    return session.scalar(select(WebUser).join(Contact, Contact.assignee_id == WebUser.id).where(Contact.id == contact_id))


def assignees(session: Session, actor: Actor, project_id: int, contact_ids: list[int]) -> dict[int, str]:
    """{contact id: assignee's name} for one page of contacts (the Contacts list)."""
    require(session, actor, project_id, Action.VIEW_CONTACTS)
    ids = [int(c) for c in contact_ids][:MAX_PAGE]
    if not ids:
        return {}
    rows = session.execute(
        select(Contact.id, WebUser).join(WebUser, WebUser.id == Contact.assignee_id)
        .where(Contact.project_id == project_id, Contact.id.in_(ids))
    )
    return {cid: user.display_name for cid, user in rows}


def assign(
    session: Session, actor: Actor, project_id: int, contact_id: int | str, username: str | None,
    *, expected: str | None = None,
) -> Assignee | None:
    """Assign the conversation to `username` (None: unassign), if it is still assigned to
    `expected` (the username the page showed, None: nobody). A conversation has at most one
    assignee: when two people assign at once, the first wins and the other gets AlreadyAssigned,
    naming who has it. Every change is audited."""
    require(session, actor, project_id, Action.CHAT)
    contact = get_contact(session, project_id, contact_id)
    target = _user(session, project_id, username) if username is not None else None
    if expected is None:
        before = None
        still = Contact.assignee_id.is_(None)
    else:
        before = session.scalar(select(WebUser).where(WebUser.username == str(expected)))
        still = Contact.assignee_id == (before.id if before else -1)
    changed = session.execute(
        update(Contact).where(Contact.id == contact.id, Contact.project_id == project_id, still)
        .values(assignee_id=target.id if target else None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        now = _holder(session, contact.id)
        holder = f"assigned to {now.display_name}" if now else "unassigned"
        raise AlreadyAssigned(f"Someone changed this conversation first: it is now {holder}. Nothing was changed.")
    audit.record(
        session, audit.ASSIGNMENT, user_id=actor.user_id, project_id=project_id,
        detail={"contact_id": contact.id, "from": expected, "to": target.username if target else None},
    )
    return Assignee(target.username, target.display_name) if target else None


def assign_to_me(session: Session, actor: Actor, project_id: int, contact_id: int | str, *, expected: str | None = None) -> Assignee | None:
    """Assign to the acting web user (see `assign`)."""
    require(session, actor, project_id, Action.CHAT)
    me = session.get(WebUser, actor.web_user_id())
    return assign(session, actor, project_id, contact_id, me.username, expected=expected)


def refresh_waiting(session: Session, project_id: int) -> None:
    """Recompute the waiting state from the messages (after bulk loads, like
    people.contacts.refresh_activity)."""
    reply, incoming = aliased(Message), aliased(Message)
    last_reply = select(func.coalesce(func.max(reply.id), 0)).where(
        reply.project_id == Contact.project_id, reply.contact_id == Contact.id,
        reply.direction == Direction.OUT.value, reply.workflow.not_in(NOT_A_REPLY)).correlate(Contact).scalar_subquery()
    first_waiting = select(func.min(incoming.id)).where(
        incoming.project_id == Contact.project_id, incoming.contact_id == Contact.id,
        incoming.direction == Direction.IN.value, incoming.id > last_reply).correlate(Contact).scalar_subquery()
    session.execute(update(Contact).where(Contact.project_id == project_id).values(waiting_since_id=first_waiting)
                    .execution_options(synchronize_session=False))
    at = select(Message.created_at).where(Message.id == Contact.waiting_since_id).scalar_subquery()
    session.execute(update(Contact).where(Contact.project_id == project_id).values(waiting_since_at=at)
                    .execution_options(synchronize_session=False))


def count_text(total: int) -> str:
    return f"{COUNT_CAP:,}+ waiting" if total > COUNT_CAP else f"{total:,} waiting"
