"""The worker's automation round: due reminders and broadcasts, survey timeouts, delays."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from smschat.automation import broadcasts, delay, reminders, surveys
from smschat.clock import SYSTEM, Clock
from smschat.db import session_scope
from smschat.messaging import later
from smschat.models import Broadcast, Reminder, SurveySession, utcnow

log = logging.getLogger("smschat.automation")


def run_due(session: Session, now: datetime | None = None) -> dict[str, int]:
    """Everything time-driven, in one transaction. Returns what it did (for logs and tests)."""
    now = now or utcnow()
    done = {
        "reminders": reminders.fire_due(session, now),
        "broadcasts": broadcasts.send_due(session, now),
        "timed_out": surveys.expire_sessions(session, now),
    }
    # Last: it also sees the messages the reminders and broadcasts above just queued.
    done.update(delay.apply(session, now))
    done.update(later.hold_for_quiet_hours(session, now))  # before this round's claim
    return done


def has_work(session: Session, now: datetime) -> bool:
    """Cheap read-only look first, so an idle round never takes SQLite's write lock."""
    checks = (
        select(Reminder.id).where(Reminder.active.is_(True), Reminder.next_due_at <= now),
        select(Broadcast.id).where(((Broadcast.status == broadcasts.SCHEDULED) & (Broadcast.send_at <= now))
                                   | (Broadcast.status == broadcasts.SENDING)),
        select(SurveySession.id).where(SurveySession.status == surveys.OPEN, SurveySession.expires_at <= now),
    )
    return (any(session.scalar(q.limit(1)) is not None for q in checks) or delay.has_work(session, now)
            or later.quiet_hours_have_work(session, now))


def run_round(url: str | None = None, *, clock: Clock = SYSTEM) -> dict[str, int]:
    """One worker round's automation in its own transaction, at `clock`'s now; a failure here
    never stops sending."""
    now = clock.now()
    try:
        with session_scope(url, readonly=True) as session:
            if not has_work(session, now):
                return {}
        with session_scope(url) as session:
            return run_due(session, now)
    except Exception:
        log.exception("automation round failed; sending goes on")
        return {}
