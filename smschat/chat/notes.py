"""Staff notes in a conversation: seen by every staff member who can open the chat, never sent.

A note is a `Message` row with direction, status and type `note`: the history cursor, the
message log and exports show it in its place, while the worker (which claims only `queued`
outgoing rows), the phone's own thread, unread counts, the waiting-replies inbox, the contact's
activity columns and the Message Counter all leave it out.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from smschat.accounts.access import Action, require
from smschat.accounts.actor import Actor
from smschat.errors import ValidationError
from smschat.models import Direction, Message, Status, Workflow
from smschat.people.contacts import get_contact
from smschat.text import clean

MAX_NOTE_CHARS = 4000


def add_note(session: Session, actor: Actor, project_id: int, contact_id: int | str, body: str) -> Message:
    """A note by the acting web user in the contact's thread."""
    require(session, actor, project_id, Action.CHAT)
    contact = get_contact(session, project_id, contact_id)
    author = actor.web_user_id()
    text = clean(body or "").strip()
    if not text:
        raise ValidationError("The note is empty.")
    if len(text) > MAX_NOTE_CHARS:
        raise ValidationError(f"A note has at most {MAX_NOTE_CHARS:,} characters.")
    note = Message(
        project_id=project_id, contact_id=contact.id, phone_number="", direction=Direction.NOTE.value,
        body=text, status=Status.NOTE.value, workflow=Workflow.NOTE.value, sent_by_id=author, segments=0,
    )
    session.add(note)
    session.flush()
    return note
