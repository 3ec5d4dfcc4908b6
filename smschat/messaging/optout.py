"""Opt-out keywords: STOP and its synonyms, START to come back, HELP for the project's help text.

The whole message is the keyword (any case, surrounding spaces ignored), as carriers and
Twilio's Advanced Opt-Out match it. Twilio confirms STOP and START itself; we answer HELP.
START words act only for an opted-out number: from anyone else "YES" is an ordinary reply.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from smschat.messaging import outbox
from smschat.models import Contact, Message, Project, Workflow
from smschat.people.contacts import is_opted_out
from smschat.people.number_facts import REPLY, set_consent

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})


def keyword(body: str | None) -> str | None:
    word = (body or "").strip().upper()
    return word if word in STOP_WORDS | START_WORDS | HELP_WORDS else None


def handle(session: Session, project: Project, contact: Contact | None, message: Message) -> bool:
    """Act on an opt-out keyword. True if the message was one (nothing else should run)."""
    word = keyword(message.body)
    if word is None:
        return False
    if word in STOP_WORDS:
        set_consent(session, project.id, message.phone_number, True, REPLY, word, message_id=message.id,
                    at=message.created_at)
    elif word in START_WORDS:
        # Only an opted-out number is opting back in; otherwise "yes" is just an answer
        # (to a survey question, say) and goes on like any message.
        if not is_opted_out(session, project.id, message.phone_number):
            return False
        set_consent(session, project.id, message.phone_number, False, REPLY, word, message_id=message.id,
                    at=message.created_at)
    elif project.help_text.strip() and not is_opted_out(session, project.id, message.phone_number):
        outbox.enqueue(session, project, contact, project.help_text.strip(), workflow=Workflow.DEFAULT,
                       phone_number=message.phone_number)
    return True
