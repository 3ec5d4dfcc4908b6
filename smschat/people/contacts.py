"""Contacts (mobile workers and cases) and their phone numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal_column,
    or_,
    select,
    union,
    update,
)
from sqlalchemy.orm import Session

from smschat.accounts.access import Action, require
from smschat.accounts.actor import Actor
from smschat.accounts.projects import get_chat_settings, get_project
from smschat.chat.reads import unread_counts
from smschat.chat.timefmt import today_start
from smschat.errors import ContactNotFound, PhoneNumberInUse, ValidationError
from smschat.models import (
    ChatSettings,
    Contact,
    ContactKind,
    Message,
    PhoneNumber,
    Project,
    ReadMarker,
)
from smschat.people.phones import to_e164
from smschat.text import clean, clean_json, clean_optional, refuse_controls

MAX_ID = 2**63 - 1  # the largest primary key either backend stores

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
    name = clean(name or "").strip()
    if not name:
        raise ValidationError("A contact needs a name.")
    username, first_name = clean_optional(username), clean_optional(first_name)
    props = clean_json(dict(case_properties or {}))
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
    if not 0 < cid <= MAX_ID:
        # Past a 64-bit key no row can exist; asking would overflow the driver (SQLite) or
        # the column type (PostgreSQL) instead of answering "no such contact".
        raise ContactNotFound("No such contact in this project.")
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


def is_opted_out(session: Session, project_id: int, e164: str) -> bool:
    """Did this number reply STOP (and not START since)?"""
    return bool(session.scalar(
        select(PhoneNumber.opted_out).where(PhoneNumber.project_id == project_id, PhoneNumber.e164 == e164)
    ))


def contact_for_number(session: Session, project_id: int, e164: str) -> Contact | None:
    return session.scalar(
        select(Contact)
        .join(PhoneNumber, PhoneNumber.contact_id == Contact.id)
        .where(PhoneNumber.project_id == project_id, PhoneNumber.e164 == e164)
        .limit(1)
    )


def _activity_update(incoming: bool):
    """UPDATE contact's activity columns to message :mid at :at, never back. Built once, run with
    parameters: building the expression per message cost more than running it (a reply storm)."""
    c, mid = Contact.__table__.c, bindparam("mid")
    newer = or_(c.last_message_id.is_(None), c.last_message_id < mid)
    values = {
        "last_message_id": case((newer, mid), else_=c.last_message_id),
        "last_message_at": case((newer, bindparam("at", type_=Contact.last_message_at.type)), else_=c.last_message_at),
    }
    if incoming:
        values["last_incoming_id"] = case(
            (or_(c.last_incoming_id.is_(None), c.last_incoming_id < mid), mid), else_=c.last_incoming_id
        )
    return update(Contact.__table__).where(c.id == bindparam("cid")).values(**values)


_ACTIVITY = {True: _activity_update(True), False: _activity_update(False)}


def note_message(session: Session, message) -> None:
    """Move the contact's activity columns forward to this message (never back)."""
    if message.contact_id is None:
        return
    session.connection().execute(_ACTIVITY[message.direction == "in"],
                                 {"cid": message.contact_id, "mid": message.id, "at": message.created_at})


def refresh_activity(session: Session, project_id: int) -> None:
    """Recompute the activity columns from the messages (after bulk loads)."""
    # project_id first, so each lookup uses the (project_id, contact_id, id) index.
    mine = (Message.project_id == Contact.project_id, Message.contact_id == Contact.id)
    last = select(func.max(Message.id)).where(*mine).scalar_subquery()
    last_in = select(func.max(Message.id)).where(*mine, Message.direction == "in").scalar_subquery()
    session.execute(
        update(Contact).where(Contact.project_id == project_id).values(last_message_id=last, last_incoming_id=last_in)
        .execution_options(synchronize_session=False)
    )
    at = select(Message.created_at).where(Message.id == Contact.last_message_id).scalar_subquery()
    session.execute(
        update(Contact).where(Contact.project_id == project_id, Contact.last_message_id.is_not(None))
        .values(last_message_at=at).execution_options(synchronize_session=False)
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
    opted_out: bool = False
    last_message_at: datetime | None = None
    fact: str | None = None  # what a carrier error taught about the number (number_facts)

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)


SORTS = {"name": "Contact Name", "recent": "Last message"}


def _eligible_phone():
    """Numbers that put a contact in the list: verified for workers, any number for cases."""
    return or_(Contact.kind == ContactKind.CASE.value, PhoneNumber.verified.is_(True))


def unread_condition(project_id: int, user_id: int, mode: str):
    """SQL condition on Contact: the conversation has something unread for this user."""
    if mode == "by_anyone":
        read_to = (
            select(func.max(ReadMarker.last_read_message_id))
            .where(ReadMarker.project_id == project_id, ReadMarker.contact_id == Contact.id)
            .scalar_subquery()
        )
        flagged = exists().where(ReadMarker.contact_id == Contact.id, ReadMarker.marked_unread.is_(True))
    else:
        mine = (ReadMarker.project_id == project_id, ReadMarker.contact_id == Contact.id, ReadMarker.user_id == user_id)
        read_to = select(ReadMarker.last_read_message_id).where(*mine).scalar_subquery()
        flagged = exists().where(*mine, ReadMarker.marked_unread.is_(True))
    return or_(Contact.last_incoming_id > func.coalesce(read_to, 0), flagged)


def _conditions(project_id: int, search: str | None, kind: str | None,
                unread_only_for: tuple[int, str] | None) -> list:
    """The list's filters on Contact (besides having an eligible number)."""
    conditions = [Contact.project_id == project_id]
    if kind:
        conditions.append(Contact.kind == parse_kind(kind).value)
    if unread_only_for is not None:
        conditions.append(unread_condition(project_id, *unread_only_for))
    text = refuse_controls(search or "", "Contact search").strip()
    if text:
        # The matching ids first (trigram indexes on PostgreSQL serve both halves), then the
        # contacts: a planner that cannot guess how many names match then never walks the
        # whole name index looking for them.
        matching = select(Contact.id).where(
            Contact.project_id == project_id, func.lower(Contact.name).contains(text.lower(), autoescape=True)
        )
        digits = re.sub(r"[\s\-+().]", "", text)
        if digits.isdigit():
            matching = union(matching, select(PhoneNumber.contact_id).where(
                PhoneNumber.project_id == project_id, PhoneNumber.e164.contains(digits, autoescape=True)
            ))
        conditions.append(Contact.id.in_(matching))
    return conditions


def _list_query(project_id: int, search: str | None, kind: str | None, unread_only_for: tuple[int, str] | None) -> Select:
    first_phone = (
        select(func.min(PhoneNumber.id))
        .where(PhoneNumber.contact_id == Contact.id, _eligible_phone())
        .correlate(Contact)
        .scalar_subquery()
    )
    return (
        select(Contact.id, Contact.name, Contact.kind, PhoneNumber.e164, PhoneNumber.opted_out, Contact.last_message_at,
               PhoneNumber.fact)
        .join(PhoneNumber, and_(PhoneNumber.id == first_phone))
        .where(*_conditions(project_id, search, kind, unread_only_for))
    )


def _list_contacts(
    session: Session,
    project_id: int,
    *,
    search: str | None = None,
    kind: str | None = None,
    unread_only_for: tuple[int, str] | None = None,
    sort: str = "name",
    limit: int = 25,
    offset: int = 0,
) -> list[ContactRow]:
    """The eligible contacts (seed rule), one page. `unread_only_for`: (user id, read mode)."""
    limit = max(1, min(int(limit), MAX_PAGE_SIZE))
    query = _list_query(project_id, search, kind, unread_only_for)
    if sort == "recent":
        # Matches the (project_id, coalesce(last_message_id, 0)) index on both backends.
        query = query.order_by(func.coalesce(Contact.last_message_id, literal_column("0")).desc())
    else:
        query = query.order_by(func.lower(Contact.name), Contact.id)
    rows = session.execute(query.limit(limit).offset(max(0, int(offset))))
    return [ContactRow(*r) for r in rows]


def count_contacts(
    session: Session,
    project_id: int,
    *,
    search: str | None = None,
    kind: str | None = None,
    unread_only_for: tuple[int, str] | None = None,
) -> int:
    # A semi-join (EXISTS) counts without finding each contact's first number: at 100,000
    # contacts the planners turn it into one pass over the numbers.
    listed = exists().where(PhoneNumber.contact_id == Contact.id, _eligible_phone())
    query = select(func.count()).select_from(Contact).where(listed, *_conditions(project_id, search, kind, unread_only_for))
    return int(session.scalar(query) or 0)


@dataclass(frozen=True)
class Summary:
    unread_conversations: int
    in_today: int
    out_today: int
    failed_today: int


def summary(session: Session, project_id: int, user_id: int, mode: str, tz_name: str, now: datetime | None = None) -> Summary:
    """The figures above the contacts list, 'today' being since local midnight."""
    unread = session.scalar(
        select(func.count()).select_from(Contact).where(
            Contact.project_id == project_id, Contact.last_incoming_id.is_not(None), unread_condition(project_id, user_id, mode)
        )
    )
    today = (Message.project_id == project_id, Message.created_at >= today_start(tz_name, now))
    counts = dict(
        session.execute(select(Message.direction, func.count()).where(*today).group_by(Message.direction)).all()
    )
    failed = session.scalar(
        select(func.count()).select_from(Message).where(*today, Message.status.in_(("failed", "undelivered")))
    )
    return Summary(int(unread or 0), int(counts.get("in", 0)), int(counts.get("out", 0)), int(failed or 0))


def phone_numbers(session: Session, project_id: int) -> list[tuple[str, str, int]]:
    """(number, contact name, contact id) for every number in a project, for the simulator."""
    rows = session.execute(
        select(PhoneNumber.e164, Contact.name, Contact.id)
        .join(Contact, Contact.id == PhoneNumber.contact_id)
        .where(PhoneNumber.project_id == project_id)
        .order_by(Contact.name, PhoneNumber.e164)
    )
    return [(r[0], r[1], r[2]) for r in rows]


# --- checked entry points: what the Contacts page calls -----------------------------------
#
# The functions above are internal (the chat, imports, worker, bench use them). These take the
# acting web user, check role and project with access.require, and work out the user's own
# unread state themselves (never another user's).


@dataclass(frozen=True)
class ContactPage:
    rows: list[ContactRow]
    total: int
    page: int  # 0-based, clamped to the last page
    unread: dict[int, int]  # unread count per contact id on this page, for the acting user


def overview(session: Session, actor: Actor, project_id: int, now: datetime | None = None) -> Summary:
    """The figures above the list, for the acting user."""

    require(session, actor, project_id, Action.VIEW_CONTACTS)
    mode = get_chat_settings(session, project_id).read_mode
    return summary(session, project_id, actor.user_id, mode, get_project(session, project_id).time_zone, now)


def browse(
    session: Session,
    actor: Actor,
    project_id: int,
    *,
    search: str | None = None,
    kind: str | None = None,
    unread_only: bool = False,
    sort: str = "name",
    page_size: int = 25,
    page: int = 0,
) -> ContactPage:
    """One page of the contacts list with the acting user's unread counts."""

    require(session, actor, project_id, Action.VIEW_CONTACTS)
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    unread_for = (actor.user_id, get_chat_settings(session, project_id).read_mode) if unread_only else None
    total = count_contacts(session, project_id, search=search, kind=kind, unread_only_for=unread_for)
    page = max(0, min(int(page), max(0, -(-total // page_size) - 1)))
    rows = _list_contacts(session, project_id, search=search, kind=kind, unread_only_for=unread_for, sort=sort,
                         limit=page_size, offset=page * page_size)
    return ContactPage(rows, total, page, unread_counts(session, project_id, actor.user_id, [r.id for r in rows]))
