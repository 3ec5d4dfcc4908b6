"""Read markers: how far each web user has read each conversation.

A marker only moves forward. "Mark as unread" is a flag on it, cleared by the next read.
*A Message is Read* (ChatSettings.read_mode): `per_user` (only for the user that reads it)
or `by_anyone` (read for everyone once one user has read it).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from smschat.accounts.projects import get_chat_settings
from smschat.errors import ValidationError
from smschat.models import Direction, Message, ReadMarker, utcnow

MAX_CONTACTS_PER_CALL = 500
READ_MODES = {"per_user": "only for the user that reads it", "by_anyone": "by anyone"}


def read_mode(session: Session, project_id: int) -> str:
    return get_chat_settings(session, project_id).read_mode


def _marker(session: Session, project_id: int, user_id: int, contact_id: int) -> ReadMarker:
    marker = session.scalar(
        select(ReadMarker).where(
            ReadMarker.project_id == project_id, ReadMarker.user_id == user_id, ReadMarker.contact_id == contact_id
        )
    )
    if marker is None:
        marker = ReadMarker(project_id=project_id, user_id=user_id, contact_id=contact_id, last_read_message_id=0)
        session.add(marker)
        session.flush()
    return marker


def mark_read(session: Session, project_id: int, user_id: int, contact_id: int, up_to_id: int) -> int:
    """Move the user's marker forward to `up_to_id` (never back); returns the marker's position."""
    marker = _marker(session, project_id, user_id, contact_id)
    if up_to_id > marker.last_read_message_id:
        marker.last_read_message_id = up_to_id
    marker.marked_unread = False
    marker.updated_at = utcnow()
    if read_mode(session, project_id) == "by_anyone":
        # Read by one is read for all: nobody's "mark as unread" survives it.
        session.execute(
            update(ReadMarker)
            .where(ReadMarker.project_id == project_id, ReadMarker.contact_id == contact_id)
            .values(marked_unread=False)
            .execution_options(synchronize_session=False)
        )
    session.flush()
    return marker.last_read_message_id


def mark_unread(session: Session, project_id: int, user_id: int, contact_id: int) -> None:
    marker = _marker(session, project_id, user_id, contact_id)
    marker.marked_unread = True
    marker.updated_at = utcnow()
    session.flush()


def last_read_id(session: Session, project_id: int, user_id: int, contact_id: int) -> int:
    """Incoming messages with a greater id are unread for this user (blue dots)."""
    return _positions(session, project_id, user_id, [contact_id]).get(contact_id, (0, False))[0]


def _positions(session: Session, project_id: int, user_id: int, contact_ids: list[int]) -> dict[int, tuple[int, bool]]:
    """{contact_id: (last read id, marked unread)} under the project's read mode."""
    if not contact_ids:
        return {}
    where = [ReadMarker.project_id == project_id, ReadMarker.contact_id.in_(contact_ids)]
    if read_mode(session, project_id) == "by_anyone":
        rows = session.execute(
            select(
                ReadMarker.contact_id,
                func.max(ReadMarker.last_read_message_id),
                func.max(case((ReadMarker.marked_unread, 1), else_=0)),
            )
            .where(*where)
            .group_by(ReadMarker.contact_id)
        )
        return {r[0]: (int(r[1] or 0), bool(r[2])) for r in rows}
    rows = session.execute(
        select(ReadMarker.contact_id, ReadMarker.last_read_message_id, ReadMarker.marked_unread).where(
            *where, ReadMarker.user_id == user_id
        )
    )
    return {r[0]: (int(r[1] or 0), bool(r[2])) for r in rows}


def unread_counts(session: Session, project_id: int, user_id: int, contact_ids: Iterable[int]) -> dict[int, int]:
    """Unread incoming messages per contact, for one page of contacts, in one indexed query.

    A conversation marked as unread with nothing new counts as 1.
    """
    ids = sorted({int(c) for c in contact_ids})
    if len(ids) > MAX_CONTACTS_PER_CALL:
        raise ValidationError("Ask for unread counts one page of contacts at a time.")
    counts = {cid: 0 for cid in ids}
    if not ids:
        return counts
    positions = _positions(session, project_id, user_id, ids)
    # Each contact is cut at its own marker: (contact = c AND id > marker(c)) OR ...
    ranges = or_(*(and_(Message.contact_id == cid, Message.id > positions.get(cid, (0, False))[0]) for cid in ids))
    rows = session.execute(
        select(Message.contact_id, func.count())
        .where(Message.project_id == project_id, Message.direction == Direction.IN.value, ranges)
        .group_by(Message.contact_id)
    )
    for cid, n in rows:
        counts[cid] = int(n)
    for cid, (_, flagged) in positions.items():
        if flagged and counts[cid] == 0:
            counts[cid] = 1
    return counts
