"""Incoming SMS: one service path for every gateway's webhook and the Phone simulator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from smschat.accounts.projects import project_for_number
from smschat.automation import keywords
from smschat.chat import inbox
from smschat.errors import ValidationError
from smschat.messaging import optout
from smschat.messaging.segments import count_segments
from smschat.models import (
    Direction,
    Message,
    PhoneNumber,
    Project,
    Status,
    Workflow,
    utcnow,
)
from smschat.people import verification
from smschat.people.contacts import contact_for_number, note_message
from smschat.people.phones import to_e164, try_e164

MAX_INBOUND_CHARS = 10_000


@dataclass(frozen=True)
class InboundResult:
    message: Message
    duplicate: bool = False


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
    if body is None:
        raise ValidationError("An inbound message needs a body.")
    if len(body) > MAX_INBOUND_CHARS:
        raise ValidationError("The inbound message is implausibly long.")
    e164 = to_e164(from_number, project.default_region)
    if gateway_message_id:
        existing = session.scalar(select(Message).where(Message.gateway_message_id == gateway_message_id))
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
        existing = session.scalar(select(Message).where(Message.gateway_message_id == gateway_message_id))
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
