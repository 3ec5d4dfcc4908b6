"""Unexpected errors on the dashboard: one plain line for the page, the traceback for the log.

The page shows the line and an error id; the server log has the same id beside the
traceback, so an admin can find it without the page ever showing server paths or code.
"""

from __future__ import annotations

import logging
import secrets

from smschat.db import Problem, classify

log = logging.getLogger("smschat.dashboard")

UNREACHABLE = "The database is not reachable; retrying…"
READ_ONLY = "The database is read-only: nothing can be saved until an administrator makes it writable."
BUSY = "The database is busy; retrying…"
UNEXPECTED = "Something went wrong on the server."
_LINES = {Problem.UNREACHABLE: UNREACHABLE, Problem.BUSY: BUSY, Problem.READ_ONLY: READ_ONLY}


def describe(exc: BaseException) -> str:
    """The line a user sees for an error nobody raised on purpose (smschat.db.classify reads
    database errors: only a lost connection or a lock is retried; anything else is UNEXPECTED
    with its error id)."""
    return _LINES.get(classify(exc), UNEXPECTED)


def retrying(exc: BaseException) -> bool:
    """Whether the page waits for the database and runs again by itself."""
    return describe(exc) in (UNREACHABLE, BUSY)


def report(exc: BaseException) -> tuple[str, str]:
    """Log the traceback under a new error id; the line and the id for the page."""
    error_id = secrets.token_hex(4)
    message = describe(exc)
    log.error("error id %s: %s", error_id, message, exc_info=(type(exc), exc, exc.__traceback__))
    return message, error_id
