"""Getting contacts in: one at a time, or a CSV file (type, name, phone, case properties...)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from smschat.accounts.access import Action, require
from smschat.accounts.actor import Actor
from smschat.accounts.projects import get_project
from smschat.errors import SmsChatError, ValidationError
from smschat.models import Contact, ContactKind, PhoneNumber, Project
from smschat.people import verification
from smschat.people.contacts import (
    create_contact,
    get_contact,
    parse_kind,
    primary_phone,
    register_phone,
)
from smschat.people.number_facts import IMPORT, set_consent
from smschat.people.phones import to_e164
from smschat.text import clean

REQUIRED = ("type", "name", "phone")
# Columns about a mobile worker; every other column of a case row is a case property.
WORKER_COLUMNS = ("username", "first_name", "verified")
# Optional for every row: yes opts the number out (kept in the consent record, source "import").
# A no never opts a number back in: only the contact's own START does.
OPTED_OUT_COLUMN = "opted_out"
YES = ("1", "yes", "true", "y")
MAX_ROWS = 200_000


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def summary(self) -> str:
        text = f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"
        return text + (f", {len(self.errors)} rows with errors" if self.errors else "")


def add_contact(
    session: Session, actor: Actor, project_id: int, kind: str, name: str, phone: str, *,
    username: str | None = None, first_name: str | None = None, case_properties: dict | None = None,
    send_verification: bool = False,
) -> Contact:
    """Add one mobile worker or case with its number; optionally ask a worker to verify it."""
    require(session, actor, project_id, Action.MANAGE_CONTACTS)
    project = get_project(session, project_id)
    contact = create_contact(session, project, kind, name, username=username, first_name=first_name,
                             case_properties=case_properties)
    number = register_phone(session, project, contact, phone)
    if send_verification and contact.kind == ContactKind.MOBILE_WORKER.value:
        verification.start(session, project, contact, number)
    return contact


def start_verification(session: Session, actor: Actor, project_id: int, contact_id: int):
    """Send the welcome question to a mobile worker's unverified number."""

    require(session, actor, project_id, Action.MANAGE_CONTACTS)
    project = get_project(session, project_id)
    contact = get_contact(session, project_id, contact_id)
    phone = primary_phone(session, contact)
    if contact.kind != ContactKind.MOBILE_WORKER.value or phone is None:
        raise ValidationError("Only a mobile worker with a phone number can be verified.")
    if phone.verified:
        raise ValidationError(f"{phone.e164} is already verified.")
    return verification.start(session, project, contact, phone)


def unverified_workers(session: Session, actor: Actor, project_id: int, limit: int = 200) -> list[tuple[int, str, str]]:
    require(session, actor, project_id, Action.MANAGE_CONTACTS)
    rows = session.execute(
        select(Contact.id, Contact.name, PhoneNumber.e164)
        .join(PhoneNumber, PhoneNumber.contact_id == Contact.id)
        .where(Contact.project_id == project_id, Contact.kind == ContactKind.MOBILE_WORKER.value,
               PhoneNumber.verified.is_(False))
        .order_by(Contact.name)
        .limit(limit)
    )
    return [tuple(r) for r in rows]


def import_csv(session: Session, actor: Actor, project_id: int, text: str | Iterable[str]) -> ImportReport:
    """Import rows; a bad row is reported with its line number and the others still import.

    A row is matched to an existing contact by its phone number, so importing the same
    file again changes nothing. The command line imports as the operator.
    """
    require(session, actor, project_id, Action.MANAGE_CONTACTS)
    project = get_project(session, project_id)
    reader = csv.DictReader(io.StringIO(text) if isinstance(text, str) else text)
    headers = [clean(h).strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in headers]
    if missing:
        raise ValidationError(f"The file needs the columns {', '.join(REQUIRED)}; missing: {', '.join(missing)}.")
    reader.fieldnames = headers
    report = ImportReport()
    for index, raw in enumerate(reader):
        line = reader.line_num
        if index >= MAX_ROWS:
            report.errors.append((line, f"Stopped: at most {MAX_ROWS:,} rows per file."))
            break
        # The one rule for stored text (smschat.text), before anything reads the row.
        row = {k: clean(v if isinstance(v, str) else "").strip() for k, v in raw.items() if k}
        try:
            with session.begin_nested():
                outcome = _import_row(session, project, row, actor.user_id)
            setattr(report, outcome, getattr(report, outcome) + 1)
        except SmsChatError as exc:
            report.errors.append((line, str(exc)))
    return report


def _import_row(session: Session, project: Project, row: dict[str, str], user_id: int | None) -> str:
    outcome = _import_contact(session, project, row)
    if row.get(OPTED_OUT_COLUMN, "").lower() in YES:
        e164 = to_e164(row.get("phone", ""), project.default_region)
        if set_consent(session, project.id, e164, True, IMPORT, OPTED_OUT_COLUMN, user_id=user_id):
            return "updated" if outcome == "unchanged" else outcome
    return outcome


def _import_contact(session: Session, project: Project, row: dict[str, str]) -> str:
    kind = parse_kind(row.get("type", ""))
    name = row.get("name", "")
    if not name:
        raise ValidationError("The name is empty.")
    e164 = to_e164(row.get("phone", ""), project.default_region)
    if kind is ContactKind.CASE:
        props = {k: v for k, v in row.items() if k not in (*REQUIRED, *WORKER_COLUMNS, OPTED_OUT_COLUMN) and v != ""}
        props["name"] = name
        extra = {"case_properties": props}
    else:
        extra = {"username": row.get("username") or None, "first_name": row.get("first_name") or None}
    verified = kind is ContactKind.MOBILE_WORKER and row.get("verified", "").lower() in YES
    existing = session.scalar(
        select(Contact).join(PhoneNumber, PhoneNumber.contact_id == Contact.id)
        .where(PhoneNumber.project_id == project.id, PhoneNumber.e164 == e164)
    )
    if existing is None:
        contact = create_contact(session, project, kind, name, **extra)
        register_phone(session, project, contact, e164, verified=verified)
        return "created"
    if existing.kind != kind.value:
        raise ValidationError(f"{e164} is already in use by another contact.")
    wanted = {"name": name, **extra}
    changed = {k: v for k, v in wanted.items() if getattr(existing, k) != v}
    if verified:
        phone = session.scalar(select(PhoneNumber).where(PhoneNumber.project_id == project.id, PhoneNumber.e164 == e164))
        if not phone.verified:
            register_phone(session, project, existing, e164, verified=True)
            changed["verified"] = True
    for k, v in changed.items():
        if k != "verified":
            setattr(existing, k, v)
    session.flush()
    return "updated" if changed else "unchanged"
