"""Search conversations: the project's message bodies that contain a text, newest first, and
a conversation opened at one of them.

What matches is exactly the message log's *Search messages* (`query.body_contains`: anywhere
in the body, any case, `%` and `_` literal). The indexes only make it fast: on PostgreSQL a
pg_trgm GIN index on lower(body) serves that LIKE itself; on SQLite an FTS5 trigram table
(migration 0025) narrows to the bodies holding the text's trigrams, and the same LIKE then
decides. A trigram index needs 3 characters, so shorter texts are refused. (The one known
gap on SQLite: a search typed with a combining dot, `i̇st`, finds `İstanbul` in the log's scan
but not through FTS5, which folds `İ` to one character; `İst` finds it on both.)

What is searched: the messages the chat would show (Survey Traffic applies) of conversations
with a contact; messages from unknown numbers stay on their own page. Staff notes, being
messages of the conversation, are found like any other line (every role that chats sees them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Select, column, select, table, text
from sqlalchemy.orm import Session

from smschat.accounts.access import Action, require
from smschat.accounts.actor import Actor
from smschat.accounts.projects import get_chat_settings, get_project
from smschat.chat.timefmt import format_timestamp
from smschat.chat.window import ChatLine, get_history, sender_label, survey_filter
from smschat.errors import MessageNotFound, ValidationError
from smschat.log import dialect
from smschat.log.query import body_contains
from smschat.models import Contact, Message, WebUser
from smschat.people.contacts import MAX_ID, display_name, get_contact
from smschat.text import refuse_controls

MIN_LENGTH = 3
MAX_LENGTH = 200
PAGE = 50
MAX_PAGE = 200
SNIPPET = 120  # characters of body shown around the match
CONTEXT = 5  # lines before and after a found message in the chat

_fts = table("message_fts", column("rowid"))


@dataclass(frozen=True)
class SearchHit:
    message_id: int
    contact_id: int
    contact: str
    timestamp: str  # `05:23pm 08/07/17`, project time
    sender: str
    direction: str
    # The snippet in three plain-text parts, the match in the middle (the page escapes them).
    before: str
    match: str
    after: str


def _checked_text(value: str) -> str:
    needle = refuse_controls(value or "", "Search text").strip()
    if len(needle) < MIN_LENGTH:
        raise ValidationError(f"Type at least {MIN_LENGTH} characters to search.")
    if len(needle) > MAX_LENGTH:
        raise ValidationError(f"Search text is limited to {MAX_LENGTH} characters.")
    return needle


def _fts_phrase(needle: str) -> str:
    """The text as one FTS5 phrase: with the trigram tokenizer, its trigrams in a row."""
    return '"' + needle.replace('"', '""') + '"'


def snippet(body: str, needle: str, width: int = SNIPPET) -> tuple[str, str, str]:
    """(before, match, after) of `body` around the first match, about `width` characters, with
    "…" where text was cut. No match found in Python's view of case: the start of the body."""
    lowered = body.lower()
    at = lowered.find(needle.lower()) if len(lowered) == len(body) else -1
    length = len(needle)
    if at < 0:
        found = re.search(re.escape(needle), body, re.IGNORECASE)
        if found is None:
            return (body[:width] + ("…" if len(body) > width else "")), "", ""
        at, length = found.start(), found.end() - found.start()
    lead = max(0, min(at, (width - length) // 3))
    start = at - lead
    end = max(at + length, start + width)
    return (("…" if start > 0 else "") + body[start:at], body[at:at + length],
            body[at + length:end] + ("…" if end < len(body) else ""))


def _matching(session: Session, needle: str, before_id: int | None) -> Select:
    """Messages with their contact and sender whose body contains `needle`, newest first,
    older than `before_id`."""
    query = select(Message, Contact, WebUser)
    if dialect.name(session) == "sqlite":
        # Walk the FTS5 table's matches newest first (it yields rowids in order, so LIMIT stops
        # the walk early); the log's own rule then decides, as the index folds case its own way.
        query = (query.select_from(_fts).join(Message, Message.id == _fts.c.rowid)
                 .where(text("message_fts MATCH :phrase").bindparams(phrase=_fts_phrase(needle)))
                 .order_by(_fts.c.rowid.desc()))
        key = _fts.c.rowid
    else:
        # Planned with the text itself: a generic plan (psycopg prepares a statement run 5
        # times) cannot see which trigrams the pattern holds, and would not use the index.
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        query = query.select_from(Message).order_by(Message.id.desc())
        key = Message.id
    if before_id is not None:
        query = query.where(key < int(before_id))
    return query.where(body_contains(session, needle))


def find_messages(session: Session, project_id: int, needle: str, *, before_id: int | None = None,
                  limit: int = PAGE) -> list[SearchHit]:
    """The newest `limit` matches (older than `before_id` to page on). No access check."""
    needle = _checked_text(needle)
    project = get_project(session, project_id)
    settings = get_chat_settings(session, project_id)
    limit = max(1, min(int(limit), MAX_PAGE))
    query = (
        _matching(session, needle, before_id)
        .join(Contact, Contact.id == Message.contact_id)
        .outerjoin(WebUser, WebUser.id == Message.sent_by_id)
        .where(Message.project_id == project_id, *survey_filter(settings.survey_traffic))
        .limit(limit)
    )
    hits = []
    for message, contact, user in session.execute(query):
        name = display_name(contact, settings)
        before, match, after = snippet(message.body, needle)
        hits.append(SearchHit(message.id, contact.id, name, format_timestamp(message.created_at, project.time_zone),
                              sender_label(message, name, user), message.direction, before, match, after))
    return hits


@dataclass(frozen=True)
class Around:
    """A found message with the lines around it, oldest first."""

    message_id: int
    lines: list[ChatLine]


def lines_around(session: Session, project_id: int, contact_id: int, message_id: int | str, *,
                 context: int = CONTEXT) -> Around:
    """The message and up to `context` lines before and after it in its conversation. A message
    that is not this conversation's (another contact's, project's, or one the chat hides) is
    "No such message in this project." No access check."""
    contact = get_contact(session, project_id, contact_id)
    try:
        mid = int(message_id)
    except (TypeError, ValueError):
        raise MessageNotFound("No such message in this project.") from None
    if not 0 < mid < MAX_ID:  # (the largest key has no room for the "up to and including" bound)
        raise MessageNotFound("No such message in this project.")
    upto = get_history(session, project_id, contact.id, before_id=mid + 1, limit=context + 1)
    if not upto or upto[-1].id != mid:
        raise MessageNotFound("No such message in this project.")
    return Around(mid, upto + get_history(session, project_id, contact.id, after_id=mid, limit=context))


# --- checked entry points ------------------------------------------------------------------


def search_messages(session: Session, actor: Actor, project_id: int, needle: str, *, before_id: int | None = None,
                    limit: int = PAGE) -> list[SearchHit]:
    """The Search page: the project's messages containing `needle`, newest first."""
    require(session, actor, project_id, Action.CHAT)
    return find_messages(session, project_id, needle, before_id=before_id, limit=limit)


def window_around(session: Session, actor: Actor, project_id: int, contact_id: int | str, message_id: int | str,
                  *, context: int = CONTEXT) -> Around:
    """The chat opened at a message (`/chat?contact=<id>&at=<message id>`)."""
    require(session, actor, project_id, Action.CHAT)
    return lines_around(session, project_id, contact_id, message_id, context=context)
