"""Keywords: an inbound message whose first word matches gets the keyword's reply, or starts
its survey. An open survey session takes the message first (it is an answer)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from smschat.accounts.access import Action, require
from smschat.accounts.actor import Actor
from smschat.accounts.projects import owned
from smschat.automation import surveys
from smschat.errors import ValidationError
from smschat.text import clean
from smschat.messaging import optout, outbox
from smschat.messaging.segments import validate_body
from smschat.models import (
    Contact,
    ContactKind,
    Keyword,
    Message,
    PhoneNumber,
    Project,
    Survey,
    Workflow,
    utcnow,
)

_KEYWORD_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,49}$")
# The carriers' opt-out, opt-in and help words: handled by the inbound path's opt-out rules,
# never a keyword of ours nor a survey answer.
# YES opts back in only an opted-out number (smschat.optout): not a keyword, but a fine survey answer.
OPT_OUT_AND_HELP = (optout.STOP_WORDS | optout.START_WORDS | optout.HELP_WORDS) - {"YES"}
RESERVED = OPT_OUT_AND_HELP | {"YES"}


@dataclass(frozen=True)
class KeywordRow:
    id: int
    keyword: str
    reply: str
    survey: str | None


def first_word(body: str) -> str:
    words = re.split(r"[^\w-]+", (body or "").strip(), maxsplit=1)
    return words[0].upper() if words else ""


def create_keyword(session: Session, actor: Actor, project_id: int, keyword: str, reply: str = "",
                   *, survey_id: int | None = None) -> Keyword:
    require(session, actor, project_id, Action.MANAGE_AUTOMATION)
    word = (keyword or "").strip().upper()
    if not _KEYWORD_RE.match(word):
        raise ValidationError("A keyword is one word: letters, digits, - or _.")
    if word in RESERVED:
        raise ValidationError(f"{word} is reserved for opting out and help.")
    if session.scalar(select(Keyword.id).where(Keyword.project_id == project_id, Keyword.keyword == word)):
        raise ValidationError(f"The keyword {word} already exists.")
    reply = clean(reply or "").strip()
    if survey_id is not None:
        owned(session, Survey, project_id, survey_id, "survey")  # another project's survey reads as missing
    elif not reply:
        raise ValidationError("A keyword needs a reply, or a survey to start.")
    if reply:
        validate_body(reply)
    kw = Keyword(project_id=project_id, keyword=word, reply=reply, survey_id=survey_id)
    session.add(kw)
    session.flush()
    return kw


def delete_keyword(session: Session, actor: Actor, project_id: int, keyword_id: int) -> None:
    require(session, actor, project_id, Action.MANAGE_AUTOMATION)
    kw = owned(session, Keyword, project_id, keyword_id, "keyword")
    session.delete(kw)
    session.flush()


def list_keywords(session: Session, actor: Actor, project_id: int) -> list[KeywordRow]:
    require(session, actor, project_id, Action.MANAGE_AUTOMATION)
    rows = session.execute(
        select(Keyword, Survey.name).outerjoin(Survey, Survey.id == Keyword.survey_id)
        .where(Keyword.project_id == project_id).order_by(Keyword.keyword)
    )
    return [KeywordRow(k.id, k.keyword, k.reply, name) for k, name in rows]


def handle_inbound(session: Session, project: Project, contact: Contact | None, message: Message,
                   now: datetime | None = None) -> bool:
    """Called by the inbound path after the message is stored. True if it was consumed here."""
    if contact is None or message.workflow != Workflow.DEFAULT.value:
        return False
    word = first_word(message.body)
    phone = session.scalar(select(PhoneNumber).where(
        PhoneNumber.project_id == project.id, PhoneNumber.e164 == message.phone_number))
    # Carriers match these on the whole message (e.g. "STOP"), not on a first word ("end of story").
    if (message.body or "").strip().upper() in OPT_OUT_AND_HELP or phone is None or phone.opted_out:
        return False  # the opt-out rules of the inbound path own these; a survey never answers them
    if contact.kind != ContactKind.CASE.value and not phone.verified:
        return False  # the seed's rule: a mobile worker's number takes part once verified
    now = now or utcnow()
    open_session = surveys.open_session(session, contact.id, now, lock=True)
    if open_session is not None:
        surveys.handle_answer(session, project, contact, open_session, message, now)
        return True
    kw = session.scalar(select(Keyword).where(Keyword.project_id == project.id, Keyword.keyword == word))
    if kw is None:
        return False
    message.workflow = Workflow.KEYWORD.value
    if kw.reply:
        # What the contact asked for: a keyword reply is never delayed.
        outbox.enqueue(session, project, contact, kw.reply, workflow=Workflow.KEYWORD,
                       phone_number=message.phone_number, created_at=now)
    if kw.survey_id is not None:
        survey = session.get(Survey, kw.survey_id)
        surveys.start_survey(session, project, contact, survey, origin="keyword", phone_number=message.phone_number,
                             now=now)
    session.flush()
    return True
