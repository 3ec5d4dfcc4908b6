"""Per-sender send rate, in segments per second, shared by every worker through the database."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from smschat.models import SenderSlot, utcnow


def next_free(session: Session, sender: str, *, now: datetime | None = None) -> datetime:
    """When `sender` may send next (now, if it is idle). Reserves nothing."""
    now = now or utcnow()
    slot = session.get(SenderSlot, sender, populate_existing=True)
    return max(slot.next_free_at, now) if slot is not None else now


def reserve(session: Session, sender: str, segments: int, rate: float, *, now: datetime | None = None) -> datetime:
    """Reserve `segments` slots of `sender`; returns when the send may start. Commit at once:
    the row lock serializes workers that send from the same number."""
    now = now or utcnow()
    slot = session.get(SenderSlot, sender, with_for_update=True, populate_existing=True)
    if slot is None:
        try:
            with session.begin_nested():
                session.add(SenderSlot(sender=sender, next_free_at=now))
        except IntegrityError:
            pass  # another worker created it first
        slot = session.get(SenderSlot, sender, with_for_update=True, populate_existing=True)
    start = max(slot.next_free_at, now)
    slot.next_free_at = start + timedelta(seconds=max(1, segments) / max(rate, 0.001))
    session.flush()
    return start
