"""Contacts (mobile workers and cases) and their phone numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from .errors import ContactNotFound, PhoneNumberInUse, ValidationError
from .models import ChatSettings, Contact, ContactKind, PhoneNumber, Project
from .phones import to_e164

KIND_LABELS = {ContactKind.MOBILE_WORKER.value: "Mobile Worker", ContactKind.CASE.value: "Case"}
MAX_PAGE_SIZE = 500


def parse_kind(kind: str) -> ContactKind:
    normalized = (kind or "").strip().lower().replace(" ", "_").replace("-", "_")
    aliases = {"worker": "mobile_worker", "mobileworker": "mobile_worker", "user": "mobile_worker"}
    try:
        return ContactKind(aliases.get(normalized, normalized))
    except ValueError:
        raise ValidationError(f"Unknown contact type {kind!r}; use mobile_worker or case.") from None


def create_contact(
    session: Session,
    project: Project,
    kind: str | ContactKind,
    name: str,
    *,
    username: str | None = None,
    first_name: str | None = None,
    case_properties: dict[str, Any] | None = None,
) -> Contact:
    kind = parse_kind(str(kind))
    name = (name or "").strip()
    if not name:
        raise ValidationError("A contact needs a name.")
    props = dict(case_properties or {})
    if kind is ContactKind.CASE:
        props.setdefault("name", name)
    contact = Contact(
        project_id=project.id,
        kind=kind.value,
        name=name,
        username=username if kind is ContactKind.MOBILE_WORKER else None,
        first_name=first_name,
        case_properties=props,
    )
    session.add(contact)
    session.flush()
    return contact


def register_phone(
    session: Session,
    project: Project,
    contact: Contact,
    raw_number: str,
    *,
    verified: bool = False,
    two_way: bool | None = None,
) -> PhoneNumber:
    """Attach a number to a contact. A number another contact owns is refused."""
    if contact.project_id != project.id:
        raise ContactNotFound("No such contact in this project.")
    e164 = to_e164(raw_number, project.default_region)
    two_way = verified if two_way is None else two_way
    existing = session.scalar(select(PhoneNumber).where(PhoneNumber.project_id == project.id, PhoneNumber.e164 == e164))
    if existing is not None and existing.contact_id != contact.id:
        raise PhoneNumberInUse(f"{e164} is already in use by another contact.")
    if two_way:
        elsewhere = session.scalar(
            select(PhoneNumber.id).where(
                PhoneNumber.e164 == e164, PhoneNumber.two_way.is_(True), PhoneNumber.contact_id != contact.id
            )
        )
        if elsewhere is not None:
            raise PhoneNumberInUse(f"{e164} is already in use for two-way SMS in another project.")
    if existing is not None:
        existing.verified = existing.verified or verified
        existing.two_way = existing.two_way or two_way
        session.flush()
        return existing
    phone = PhoneNumber(
        project_id=project.id, contact_id=contact.id, e164=e164, verified=verified, two_way=two_way
    )
    session.add(phone)
    session.flush()
    return phone


def get_contact(session: Session, project_id: int, contact_id: int | str) -> Contact:
    try:
        cid = int(contact_id)
    except (TypeError, ValueError):
        raise ContactNotFound("No such contact in this project.") from None
    contact = session.get(Contact, cid)
    if contact is None or contact.project_id != project_id:
        # Same answer whether it does not exist or belongs to another project.
        raise ContactNotFound("No such contact in this project.")
    return contact


def primary_phone(session: Session, contact: Contact) -> PhoneNumber | None:
    """The number we text: two-way first, then verified, then the oldest."""
    return session.scalar(
        select(PhoneNumber)
        .where(PhoneNumber.contact_id == contact.id)
        .order_by(PhoneNumber.two_way.desc(), PhoneNumber.verified.desc(), PhoneNumber.id)
        .limit(1)
    )


def contact_for_number(session: Session, project_id: int, e164: str) -> Contact | None:
    return session.scalar(
        select(Contact)
        .join(PhoneNumber, PhoneNumber.contact_id == Contact.id)
        .where(PhoneNumber.project_id == project_id, PhoneNumber.e164 == e164)
        .limit(1)
    )


def display_name(contact: Contact, settings: ChatSettings | None = None) -> str:
    """The chat-title name: for a case, the case property chosen in Case Name Display."""
    if contact.kind == ContactKind.CASE.value:
        prop = settings.case_name_display if settings else "name"
        value = (contact.case_properties or {}).get(prop)
        if value not in (None, ""):
            return str(value)
    return contact.name


# --- the contacts list -------------------------------------------------------------------


@dataclass(frozen=True)
class ContactRow:
    id: int
    name: str
    kind: str
    phone: str

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)


def _eligible_phone():
    """Numbers that put a contact in the list: verified for workers, any number for cases."""
    return or_(Contact.kind == ContactKind.CASE.value, PhoneNumber.verified.is_(True))


def _list_query(project_id: int, search: str | None, kind: str | None) -> Select:
    first_phone = (
        select(func.min(PhoneNumber.id))
        .where(PhoneNumber.contact_id == Contact.id, _eligible_phone())
        .correlate(Contact)
        .scalar_subquery()
    )
    query = (
        select(Contact.id, Contact.name, Contact.kind, PhoneNumber.e164)
        .join(PhoneNumber, and_(PhoneNumber.id == first_phone))
        .where(Contact.project_id == project_id)
    )
    if kind:
        query = query.where(Contact.kind == parse_kind(kind).value)
    text = (search or "").strip()
    if text:
        conditions = [func.lower(Contact.name).contains(text.lower(), autoescape=True)]
        digits = re.sub(r"[\s\-+().]", "", text)
        if digits.isdigit():
            any_phone = aliased(PhoneNumber)
            conditions.append(
                exists().where(any_phone.contact_id == Contact.id, any_phone.e164.contains(digits, autoescape=True))
            )
        query = query.where(or_(*conditions))
    return query


def list_contacts(
    session: Session,
    project_id: int,
    *,
    search: str | None = None,
    kind: str | None = None,
    limit: int = 25,
    offset: int = 0,
) -> list[ContactRow]:
    """The eligible contacts (seed rule), one page, ordered by name."""
    limit = max(1, min(int(limit), MAX_PAGE_SIZE))
    query = _list_query(project_id, search, kind).order_by(func.lower(Contact.name), Contact.id)
    rows = session.execute(query.limit(limit).offset(max(0, int(offset))))
    return [ContactRow(id=r[0], name=r[1], kind=r[2], phone=r[3]) for r in rows]


def count_contacts(session: Session, project_id: int, *, search: str | None = None, kind: str | None = None) -> int:
    query = _list_query(project_id, search, kind).with_only_columns(func.count())
    return int(session.scalar(query) or 0)


def phone_numbers(session: Session, project_id: int) -> list[tuple[str, str, int]]:
    """(number, contact name, contact id) for every number in a project, for the simulator."""
    rows = session.execute(
        select(PhoneNumber.e164, Contact.name, Contact.id)
        .join(Contact, Contact.id == PhoneNumber.contact_id)
        .where(PhoneNumber.project_id == project_id)
        .order_by(Contact.name, PhoneNumber.e164)
    )
    return [(r[0], r[1], r[2]) for r in rows]
