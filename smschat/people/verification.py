"""Phone verification, as in the seed: the System asks for '123', the reply verifies."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from smschat.messaging import outbox
from smschat.models import Contact, Message, PhoneNumber, Project, Workflow

VERIFICATION_CODE = "123"


def welcome_text(project: Project, contact: Contact) -> str:
    return (
        f"Welcome to {project.name}! Is this phone used by {contact.name}? "
        f"If yes, reply '{VERIFICATION_CODE}' to start using SMS with {project.name}."
    )


def thanks_text(project: Project) -> str:
    return f"Thank you. This phone has been verified for using SMS with {project.name}"


def in_use_text(project: Project) -> str:
    return (f"This phone is already registered for SMS with another program, so it cannot be "
            f"verified for {project.name}. Please contact your supervisor.")


def start(session: Session, project: Project, contact: Contact, phone: PhoneNumber) -> Message:
    """Send the welcome question to an unverified number."""
    return outbox.enqueue(
        session, project, contact, welcome_text(project, contact),
        workflow=Workflow.VERIFICATION, phone_number=phone.e164,
    )


def handle_reply(session: Session, project: Project, contact: Contact, phone: PhoneNumber, message: Message) -> Message | None:
    """A reply containing the code verifies the number and makes it two-way."""
    if VERIFICATION_CODE not in (message.body or ""):
        return None
    message.workflow = Workflow.VERIFICATION.value
    elsewhere = session.scalar(
        select(PhoneNumber.id).where(PhoneNumber.e164 == phone.e164, PhoneNumber.two_way.is_(True),
                                     PhoneNumber.id != phone.id)
    )
    if elsewhere is not None:
        # A number is two-way in one place only: say so, verify nothing.
        return outbox.enqueue(session, project, contact, in_use_text(project),
                              workflow=Workflow.VERIFICATION, phone_number=phone.e164)
    phone.verified = True
    phone.two_way = True
    message.workflow = Workflow.VERIFICATION.value
    session.flush()
    return outbox.enqueue(
        session, project, contact, thanks_text(project),
        workflow=Workflow.VERIFICATION, phone_number=phone.e164,
    )
