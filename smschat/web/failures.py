"""Unexpected errors on the dashboard: one plain line for the page, the traceback for the log.

The page shows the line and an error id; the server log has the same id beside the
traceback, so an admin can find it without the page ever showing server paths or code.
"""

from __future__ import annotations

import logging
import secrets

from sqlalchemy.exc import DBAPIError, OperationalError

log = logging.getLogger("smschat.dashboard")

UNREACHABLE = "The database is not reachable; retrying…"
READ_ONLY = "The database is read-only: nothing can be saved until an administrator makes it writable."
BUSY = "The database is busy; please try again in a moment."
UNEXPECTED = "Something went wrong on the server."


def describe(exc: BaseException) -> str:
    """The line a user sees for an error nobody raised on purpose."""
    if isinstance(exc, DBAPIError):
        detail = str(exc.orig).lower()
        if "readonly" in detail or "read-only" in detail:
            return READ_ONLY
        if "locked" in detail or "busy" in detail:
            return BUSY
        if isinstance(exc, OperationalError):
            # Refused, timed out, host unknown, file cannot be opened: all "not reachable".
            return UNREACHABLE
    return UNEXPECTED


def retrying(exc: BaseException) -> bool:
    return describe(exc) == UNREACHABLE


def report(exc: BaseException) -> tuple[str, str]:
    """Log the traceback under a new error id; the line and the id for the page."""
    error_id = secrets.token_hex(4)
    message = describe(exc)
    log.error("error id %s: %s", error_id, message, exc_info=(type(exc), exc, exc.__traceback__))
    return message, error_id
