"""The consent record as a CSV file: every opt-out and opt-in of the project's numbers (and
every fact a carrier error taught about one), oldest first, with its time in the project's
time zone, source, and the message that caused it. Cells pass the formula guard; each
download is audited like a message log export."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from smschat.accounts import audit
from smschat.accounts.access import Action, require
from smschat.accounts.actor import Actor
from smschat.accounts.projects import get_project
from smschat.log.spreadsheet import csv_bytes
from smschat.models import Contact, Message, NumberEvent, PhoneNumber, WebUser
from smschat.people.number_facts import CLEARED, IMPORT, LANDLINE, LABELS, OPTED_IN, REPLY, STAFF, TWILIO

HEADER = ("Time", "Phone Number", "Contact Name", "Change", "Source", "Detail", "Message", "Web user")
CHANGES = {**LABELS, OPTED_IN: "opted in", LANDLINE: "landline or unreachable", CLEARED: "allowed again"}
SOURCES = {REPLY: "reply", TWILIO: "Twilio error", IMPORT: "contacts import", STAFF: "staff"}


def consent_rows(session: Session, project_id: int) -> list[tuple]:
    tz = ZoneInfo(get_project(session, project_id).time_zone)
    phone, user = aliased(PhoneNumber), aliased(WebUser)
    query = (
        select(NumberEvent, Contact.name, Message.body, user.username)
        .outerjoin(phone, (phone.project_id == NumberEvent.project_id) & (phone.e164 == NumberEvent.e164))
        .outerjoin(Contact, Contact.id == phone.contact_id)
        .outerjoin(Message, Message.id == NumberEvent.message_id)
        .outerjoin(user, user.id == NumberEvent.user_id)
        .where(NumberEvent.project_id == project_id)
        .order_by(NumberEvent.id)
    )
    return [
        (e.at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %z"), e.e164, name or "", CHANGES.get(e.change, e.change),
         SOURCES.get(e.source, e.source), e.detail, body or "", username or "")
        for e, name, body, username in session.execute(query)
    ]


def consent_csv(session: Session, actor: Actor, project_id: int, *, username: str | None = None) -> bytes:
    """The file **Download the consent record (CSV)** hands out, and its audit row."""

    require(session, actor, project_id, Action.EXPORT)
    rows = consent_rows(session, project_id)
    audit.record(session, audit.EXPORT, user_id=actor.user_id, username=username, project_id=project_id,
                 detail={"what": "consent record", "format": "csv", "rows": len(rows),
                         **({"via": "command line"} if actor.operator else {})})
    return csv_bytes(HEADER, rows)
