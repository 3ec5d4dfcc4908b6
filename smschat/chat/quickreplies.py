"""Quick replies: a project's canned texts for the chat, with placeholders filled per contact.

Supervisors manage them (Settings page); anyone who chats picks one into the message box.
A placeholder the chat cannot fill is refused when the reply is saved, never at sending time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from smschat.accounts import audit
from smschat.accounts.access import Action, require
from smschat.accounts.actor import Actor
from smschat.accounts.projects import get_chat_settings, get_project, owned
from smschat.errors import ValidationError
from smschat.messaging.segments import MAX_BODY_CHARS
from smschat.models import QuickReply
from smschat.people.contacts import display_name, get_contact
from smschat.text import clean

PLACEHOLDERS = {
    "first_name": "the contact's first name",
    "name": "the contact's name, as the chat title shows it",
    "project": "the project's name",
}
MAX_TITLE = 100
# {word}: a placeholder; any other brace is literal text.
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
KNOWN = ", ".join("{" + p + "}" for p in PLACEHOLDERS)


@dataclass(frozen=True)
class QuickReplyRow:
    id: int
    title: str
    body: str


def check_body(body: str) -> str:
    body = clean(body or "").strip()
    if not body:
        raise ValidationError("A quick reply needs a text.")
    if len(body) > MAX_BODY_CHARS:
        raise ValidationError(f"A quick reply has at most {MAX_BODY_CHARS:,} characters.")
    unknown = sorted({m for m in _PLACEHOLDER.findall(body) if m not in PLACEHOLDERS})
    if unknown:
        names = ", ".join("{" + u + "}" for u in unknown)
        raise ValidationError(f"Unknown placeholder {names}: a quick reply can use {KNOWN}.")
    return body


def _check_title(title: str) -> str:
    title = " ".join(clean(title or "").split())
    if not title:
        raise ValidationError("A quick reply needs a title.")
    if len(title) > MAX_TITLE:
        raise ValidationError(f"A quick reply's title has at most {MAX_TITLE} characters.")
    return title


def _row(session: Session, project_id: int, quick_reply_id: int | str) -> QuickReply:
    try:
        rid = int(quick_reply_id)
    except (TypeError, ValueError):
        rid = 0
    return owned(session, QuickReply, project_id, rid, "quick reply")


def list_quick_replies(session: Session, actor: Actor, project_id: int) -> list[QuickReplyRow]:
    require(session, actor, project_id, Action.CHAT)
    rows = session.scalars(select(QuickReply).where(QuickReply.project_id == project_id).order_by(QuickReply.title))
    return [QuickReplyRow(r.id, r.title, r.body) for r in rows]


def save_quick_reply(
    session: Session, actor: Actor, project_id: int, title: str, body: str, *, quick_reply_id: int | None = None,
) -> QuickReplyRow:
    """Add a quick reply, or change one (`quick_reply_id`); titles are unique per project."""
    require(session, actor, project_id, Action.CHANGE_SETTINGS)
    title, body = _check_title(title), check_body(body)
    row = _row(session, project_id, quick_reply_id) if quick_reply_id else None
    clash = session.scalar(select(QuickReply.id).where(QuickReply.project_id == project_id, QuickReply.title == title))
    if clash is not None and (row is None or clash != row.id):
        raise ValidationError(f"There is already a quick reply titled {title!r}.")
    if row is None:
        row = QuickReply(project_id=project_id, title=title, body=body, created_by_id=actor.user_id)
        session.add(row)
    else:
        row.title, row.body = title, body
    session.flush()
    audit.record(session, audit.QUICK_REPLY_CHANGED, user_id=actor.user_id, project_id=project_id,
                 detail={"quick_reply_id": row.id, "title": title, "body": body})
    return QuickReplyRow(row.id, row.title, row.body)


def delete_quick_reply(session: Session, actor: Actor, project_id: int, quick_reply_id: int | str) -> None:
    require(session, actor, project_id, Action.CHANGE_SETTINGS)
    row = _row(session, project_id, quick_reply_id)
    audit.record(session, audit.QUICK_REPLY_CHANGED, user_id=actor.user_id, project_id=project_id,
                 detail={"quick_reply_id": row.id, "title": row.title, "deleted": True})
    session.delete(row)
    session.flush()


def fill(body: str, *, first_name: str, name: str, project: str) -> str:
    values = {"first_name": first_name, "name": name, "project": project}
    # One pass, so a name that itself contains "{project}" stays as written.
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), body)


def filled_quick_reply(session: Session, actor: Actor, project_id: int, quick_reply_id: int | str,
                       contact_id: int | str) -> str:
    """The quick reply's text for this contact, placeholders filled (what the picker inserts)."""
    require(session, actor, project_id, Action.CHAT)
    row = _row(session, project_id, quick_reply_id)
    contact = get_contact(session, project_id, contact_id)
    name = display_name(contact, get_chat_settings(session, project_id))
    first = contact.first_name or (name.split() or [""])[0]
    return fill(row.body, first_name=first, name=name, project=get_project(session, project_id).name)
