"""Who an automated message goes to: one contact, all mobile workers, all cases, or cases
whose property equals a value. Only contacts the contacts list shows (the seed's eligibility
rule) receive anything; opted-out numbers (and numbers a carrier error marked) are skipped
and counted."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from smschat.accounts.access import Action, require
from smschat.accounts.actor import Actor
from smschat.errors import ValidationError
from smschat.models import Contact, ContactKind, PhoneNumber
from smschat.people.contacts import (
    ContactRow,
    _eligible_phone,
    _list_contacts,
    get_contact,
)
from smschat.text import refuse_controls

TARGETS = {
    "contact": "One contact",
    "mobile_workers": "All mobile workers",
    "cases": "All cases",
    "case_property": "Cases with a property value",
}


def contact_choices(session: Session, actor: Actor, project_id: int, *, search: str | None = None,
                    limit: int = 500) -> list[ContactRow]:
    """The contacts an automation page offers as one recipient (the contacts list's rule)."""
    require(session, actor, project_id, Action.MANAGE_AUTOMATION)
    return _list_contacts(session, project_id, search=search, limit=limit)


def validate_target(session: Session, project_id: int, target: dict[str, Any]) -> dict[str, Any]:
    kind = (target or {}).get("kind")
    if kind not in TARGETS:
        raise ValidationError(f"Choose who receives it: {', '.join(TARGETS.values())}.")
    if kind == "contact":
        contact = get_contact(session, project_id, target.get("contact_id"))
        return {"kind": kind, "contact_id": contact.id}
    if kind == "case_property":
        prop = refuse_controls(str(target.get("property") or ""), "The case property").strip()
        value = refuse_controls(str(target.get("value") or ""), "The case property value").strip()
        if not prop or not value:
            raise ValidationError("A case property filter needs a property and a value.")
        return {"kind": kind, "property": prop, "value": value}
    return {"kind": kind}


def describe_target(session: Session, target: dict[str, Any]) -> str:
    kind = target.get("kind")
    if kind == "contact":
        contact = session.get(Contact, target.get("contact_id"))
        return f"Contact: {contact.name if contact else '(deleted)'}"
    if kind == "case_property":
        return f"Cases where {target['property']} = {target['value']}"
    return TARGETS.get(kind, str(kind))


def _held_back():
    """Numbers nothing is sent to: opted out, or marked by a carrier's error (number_facts)."""
    return or_(PhoneNumber.opted_out.is_(True), PhoneNumber.fact.is_not(None))


def _query(project_id: int, target: dict[str, Any]):
    first_phone = (
        select(func.min(PhoneNumber.id))
        .where(PhoneNumber.contact_id == Contact.id, _eligible_phone())
        .correlate(Contact)
        .scalar_subquery()
    )
    query = (
        select(Contact, PhoneNumber.e164, _held_back())
        .join(PhoneNumber, and_(PhoneNumber.id == first_phone))
        .where(Contact.project_id == project_id)
        .order_by(Contact.id)
    )
    kind = target.get("kind")
    if kind == "contact":
        query = query.where(Contact.id == target.get("contact_id"))
    elif kind == "mobile_workers":
        query = query.where(Contact.kind == ContactKind.MOBILE_WORKER.value)
    elif kind == "cases":
        query = query.where(Contact.kind == ContactKind.CASE.value)
    elif kind == "case_property":
        query = query.where(
            Contact.kind == ContactKind.CASE.value,
            Contact.case_properties[target["property"]].as_string() == target["value"],
        )
    else:
        raise ValidationError("Unknown recipients.")
    return query


def count_recipients(session: Session, project_id: int, target: dict[str, Any]) -> int:
    """How many would receive a message now (opted-out numbers excluded), counted in the database."""
    query = _query(project_id, target).where(~_held_back()).order_by(None)
    return int(session.scalar(query.with_only_columns(func.count())) or 0)


def recipients(session: Session, project_id: int, target: dict[str, Any], *, after_id: int | None = None,
               limit: int | None = None) -> tuple[list[tuple[Contact, str]], int, int | None]:
    """([(contact, number)], how many were skipped because their number opted out, the last
    contact id looked at). `after_id` / `limit`: one chunk of a large group, in contact id order."""
    query = _query(project_id, target)
    if after_id is not None:
        query = query.where(Contact.id > after_id)
    if limit is not None:
        query = query.limit(limit)
    out, skipped, last = [], 0, None
    for contact, e164, opted_out in session.execute(query):
        last = contact.id
        if opted_out:
            skipped += 1
        else:
            out.append((contact, e164))
    return out, skipped, last
