"""The worker's automation round: due reminders and broadcasts, survey timeouts, delays."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from . import broadcasts, delay, reminders, surveys
from .db import session_scope
from .models import utcnow

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
    return done


def run_round(url: str | None = None, now: datetime | None = None) -> dict[str, int]:
    """One worker round's automation in its own transaction; a failure here never stops sending."""
    try:
        with session_scope(url) as session:
            return run_due(session, now)
    except Exception:
        log.exception("automation round failed; sending goes on")
        return {}
