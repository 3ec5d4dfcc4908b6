"""Incoming SMS: one service path for every gateway's webhook and the Phone simulator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached

from smschat.accounts.projects import project_for_number
from smschat.automation import keywords
from smschat.automation.surveys import OPEN
from smschat.chat import inbox
from smschat.errors import ProjectNotFound, ValidationError
from smschat.messaging import optout
from smschat.messaging.segments import count_segments
from smschat.models import (
    Direction,
    Keyword,
    Message,
    PhoneNumber,
    Project,
    Status,
    SurveySession,
    Workflow,
    utcnow,
)
from smschat.people import verification
from smschat.people.contacts import contact_for_number, note_message
from smschat.people.phones import to_e164, try_e164
from smschat.text import clean, clean_optional


GATEWAY_ID_CHARS = Message.__table__.c.gateway_message_id.type.length


@dataclass(frozen=True)
class InboundResult:
    message: Message
    duplicate: bool = False


def _facts_query():
    """One row about an inbound message before it is stored: its project's senders and region,
    the number's contact and verification, and whether a survey or keyword may want it."""
    word = bindparam("word")
    open_survey = exists().where(SurveySession.contact_id == PhoneNumber.contact_id, SurveySession.status == OPEN,
                                 SurveySession.expires_at > bindparam("now", type_=SurveySession.expires_at.type))
    keyword = exists().where(Keyword.project_id == Project.id, Keyword.keyword == word)
    return (
        select(Project.sender_numbers, Project.default_region, PhoneNumber.contact_id, PhoneNumber.verified,
               open_survey.label("open_survey"), keyword.label("keyword"))
        .select_from(Project)
        .outerjoin(PhoneNumber, and_(PhoneNumber.project_id == Project.id, PhoneNumber.e164 == bindparam("e164")))
        .where(Project.id == bindparam("project_id"))
    )


_FACTS = _facts_query()


def _insert_once(dialect: str):
    """INSERT … ON CONFLICT (gateway_message_id) DO NOTHING RETURNING id: a repeated webhook,
    even one racing its twin, stores nothing and says so, in one statement."""
    table = Message.__table__
    insert = {"postgresql": pg_insert, "sqlite": sqlite_insert}[dialect]
    return insert(table).on_conflict_do_nothing(index_elements=[table.c.gateway_message_id]).returning(table.c.id)


_INSERTS = {name: _insert_once(name) for name in ("postgresql", "sqlite")}


def _plain(row, body: str) -> bool:
    """Nothing to run but storing it: no opt-out or HELP word, no verification, survey or keyword."""
    if optout.keyword(body) is not None:
        return False
    if row.contact_id is None:
        return True
    return bool(row.verified) and not row.open_survey and not row.keyword


def _checked(body: str | None, *fields: str | None) -> tuple[str | None, ...]:
    """The body and the other fields after the one rule for untrusted text (smschat.text):
    an inbound message is never refused for its content, it is stored cleaned. How long it
    may be is the edge's bound (a webhook's form is at most 64 KiB)."""
    if body is None:
        raise ValidationError("An inbound message needs a body.")
    *fields, gateway_message_id = (clean_optional(f) for f in fields)
    check_gateway_id(gateway_message_id)
    return clean(body), *fields, gateway_message_id


def check_gateway_id(gateway_message_id: str | None) -> None:
    """A gateway's message id is framing, not content: one longer than the column is refused (400)."""
    if gateway_message_id is not None and len(gateway_message_id) > GATEWAY_ID_CHARS:
        raise ValidationError(f"A gateway message id has at most {GATEWAY_ID_CHARS} characters.")


def _store(session: Session, project_id: int, contact_id: int | None, e164: str, body: str, *,
           gateway_message_id: str | None, gateway: str | None, received_at: datetime | None) -> InboundResult:
    """The plain case in three statements (facts, insert, contact activity): a reply storm after
    a broadcast is almost all plain replies."""
    info = count_segments(body)
    values = {
        "project_id": project_id, "contact_id": contact_id, "phone_number": e164, "direction": Direction.IN.value,
        "body": body, "created_at": received_at or utcnow(), "status": Status.RECEIVED.value,
        "segments": info.segments, "encoding": info.encoding, "workflow": Workflow.DEFAULT.value,
        "gateway": gateway, "gateway_message_id": gateway_message_id,
    }
    connection = session.connection()
    message_id = connection.execute(_INSERTS[connection.dialect.name], values).scalar()
    if message_id is None:
        return InboundResult(_existing(session, gateway_message_id), duplicate=True)
    message = Message(id=message_id, **values)
    # The row is written already: attach it as loaded (no second INSERT), so a caller's change
    # to it is flushed like any other.
    make_transient_to_detached(message)
    session.add(message)
    note_message(session, message)
    inbox.track(session, message)  # it now waits for a reply (Waiting replies)
    return InboundResult(message)


def _existing(session: Session, gateway_message_id: str | None) -> Message | None:
    return session.scalar(select(Message).where(Message.gateway_message_id == gateway_message_id))


def receive_sms(
    session: Session,
    project: Project,
    from_number: str,
    body: str,
    *,
    gateway_message_id: str | None = None,
    gateway: str | None = None,
    received_at: datetime | None = None,
) -> InboundResult:
    """Store one inbound message (once per gateway message id) and run what it triggers."""
    body, from_number, gateway_message_id = _checked(body, from_number, gateway_message_id)
    e164 = to_e164(from_number, project.default_region)
    row = session.connection().execute(_FACTS, {"project_id": project.id, "e164": e164, "now": utcnow(),
                                                "word": keywords.first_word(body)}).one()
    if _plain(row, body):
        return _store(session, project.id, row.contact_id, e164, body, gateway_message_id=gateway_message_id,
                      gateway=gateway, received_at=received_at)
    return _receive_and_run(session, project, e164, body, gateway_message_id=gateway_message_id, gateway=gateway,
                            received_at=received_at)


# The project of an inbound `To` number, as last found: a hint, checked against the project's
# row in the same query that reads the contact (`_FACTS`), so a sender number moved to another
# project (in any process) is followed at once, never misrouted.
_ROUTES: dict[str, tuple[int, str, str]] = {}  # raw To -> (project id, region, To in E.164)


def receive_at(session: Session, to_number: str, from_number: str, body: str, *,
               gateway_message_id: str | None = None, gateway: str | None = None) -> InboundResult:
    """`receive_sms` for a gateway's webhook: the project is the one that sends from `To`
    (else the one where `From` is two-way); ProjectNotFound (404) when none."""
    body, to_number, from_number, gateway_message_id = _checked(body, to_number, from_number, gateway_message_id)
    hint = _ROUTES.get(to_number)
    if hint is not None:
        project_id, region, to = hint
        e164 = to_e164(from_number, region)
        row = session.connection().execute(_FACTS, {"project_id": project_id, "e164": e164, "now": utcnow(),
                                                    "word": keywords.first_word(body)}).one_or_none()
        if row is not None and to in (row.sender_numbers or []) and row.default_region == region:
            if _plain(row, body):
                return _store(session, project_id, row.contact_id, e164, body, gateway_message_id=gateway_message_id,
                              gateway=gateway, received_at=None)
            return _receive_and_run(session, session.get(Project, project_id), e164, body,
                                    gateway_message_id=gateway_message_id, gateway=gateway)
        _ROUTES.pop(to_number, None)
    project = project_for_inbound(session, to_number, from_number)
    if project is None:
        raise ProjectNotFound(f"No project sends from {to_number}.")
    to = try_e164(to_number, None)
    if to in (project.sender_numbers or []):
        _ROUTES[to_number] = (project.id, project.default_region, to)
    return receive_sms(session, project, from_number, body, gateway_message_id=gateway_message_id, gateway=gateway)


def _receive_and_run(session: Session, project: Project, e164: str, body: str, *, gateway_message_id: str | None,
                     gateway: str | None, received_at: datetime | None = None) -> InboundResult:
    """Store it, then run what it triggers: opt-out words, verification, surveys, keywords."""
    if gateway_message_id:
        existing = _existing(session, gateway_message_id)
        if existing is not None:
            return InboundResult(existing, duplicate=True)
    contact = contact_for_number(session, project.id, e164)
    info = count_segments(body)
    message = Message(
        project_id=project.id,
        contact_id=contact.id if contact else None,
        phone_number=e164,
        direction=Direction.IN.value,
        body=body,
        created_at=received_at or utcnow(),
        status=Status.RECEIVED.value,
        segments=info.segments,
        encoding=info.encoding,
        workflow=Workflow.DEFAULT.value,
        gateway=gateway,
        gateway_message_id=gateway_message_id,
    )
    try:
        with session.begin_nested():
            session.add(message)
            session.flush()
    except IntegrityError:
        # A concurrent delivery of the same webhook won the race: keep theirs.
        existing = _existing(session, gateway_message_id)
        if existing is None:
            raise
        return InboundResult(existing, duplicate=True)
    if contact is not None:
        note_message(session, message)
        inbox.track(session, message)
    if optout.handle(session, project, contact, message):
        return InboundResult(message)
    if contact is not None:
        phone = session.scalar(
            select(PhoneNumber).where(PhoneNumber.project_id == project.id, PhoneNumber.e164 == e164)
        )
        if phone is not None and not phone.verified:
            verification.handle_reply(session, project, contact, phone, message)
        keywords.handle_inbound(session, project, contact, message)  # issue 7: survey answers, keywords
    return InboundResult(message)


def project_for_inbound(session: Session, to_number: str, from_number: str) -> Project | None:
    """The project an inbound SMS belongs to: the one that sends from its `To` number, else the
    one where its `From` number is two-way (a number is two-way in one project only)."""
    to = try_e164(to_number, None)
    project = project_for_number(session, to) if to else None
    if project is not None:
        return project
    sender = try_e164(from_number, None)
    if sender is None:
        return None
    return session.scalar(
        select(Project).join(PhoneNumber, PhoneNumber.project_id == Project.id)
        .where(PhoneNumber.e164 == sender, PhoneNumber.two_way.is_(True))
        .limit(1)
    )
