"""The Phone simulator page's checked entry points: answer as a contact of the project.

Each call checks the acting web user's role and project (Action.SIMULATE). A number is
accepted only if it belongs to a contact of that project, so the simulator can neither read
nor write another project's conversations; a foreign number and an unknown one get the same
answer.

The simulator writes inbound messages that no phone sent, so it exists only with the loopback
gateway: with a real gateway every call is refused (the page is not even listed).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from smschat.accounts.access import Action, require
from smschat.accounts.actor import Actor
from smschat.accounts.projects import get_project
from smschat.chat import window as chat
from smschat.config import get_settings
from smschat.errors import NotFound, PermissionDenied
from smschat.messaging import inbound
from smschat.models import PhoneNumber
from smschat.people import contacts
from smschat.people.phones import try_e164

NO_SUCH_NUMBER = "No such phone number in this project."
UNAVAILABLE = "The Phone simulator works only with the loopback gateway (SMSCHAT_GATEWAY=loopback)."


def available() -> bool:
    """Whether the simulator (page and webhook route) exists in this process."""
    return get_settings().gateway == "loopback"


def _require(session: Session, actor: Actor, project_id: int) -> None:
    if not available():
        raise PermissionDenied(UNAVAILABLE)
    require(session, actor, project_id, Action.SIMULATE)


def numbers(session: Session, actor: Actor, project_id: int) -> list[tuple[str, str, int]]:
    """(number, contact name, contact id) for every number in the project."""
    _require(session, actor, project_id)
    return contacts.phone_numbers(session, project_id)


def number_of_contact(session: Session, actor: Actor, project_id: int, contact_id: int | str) -> str | None:
    """The number the simulator opens on for a contact of the project ("Reply as" in the chat):
    its primary number, None if it has none. A contact of another project is not found."""
    _require(session, actor, project_id)
    phone = contacts.primary_phone(session, contacts.get_contact(session, project_id, contact_id))
    return phone.e164 if phone else None


def _own_number(session: Session, project_id: int, number: str) -> str:
    e164 = try_e164(number, None) if number else None
    known = e164 and session.scalar(
        select(PhoneNumber.id).where(PhoneNumber.project_id == project_id, PhoneNumber.e164 == e164).limit(1)
    )
    if not known:
        raise NotFound(NO_SUCH_NUMBER)
    return e164


def thread(session: Session, actor: Actor, project_id: int, number: str, *, limit: int = 100) -> list[chat.ChatLine]:
    """What this phone has seen."""
    _require(session, actor, project_id)
    return chat.phone_thread(session, project_id, _own_number(session, project_id, number), limit=limit)


def reply(session: Session, actor: Actor, project_id: int, number: str, body: str) -> inbound.InboundResult:
    """The contact answers: the same inbound path a gateway's webhook takes."""
    _require(session, actor, project_id)
    e164 = _own_number(session, project_id, number)
    return inbound.receive_sms(session, get_project(session, project_id), e164, body, gateway="simulator")
