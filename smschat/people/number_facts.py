"""What we know about a number beyond its digits, and the consent record.

A number is opted out (a STOP word, Twilio's 21610, an import), or a carrier error taught us a
fact about it: 21211 / 21614, not a valid mobile number; 30006, a landline or an unreachable
carrier. Either way nothing more is sent to it (`blocked_reason`, checked when a message is
queued and again just before the worker sends it), Contacts and the chat say so, and every
change is kept with its time, source and the message that caused it (`NumberEvent`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from smschat.accounts.access import Action, require
from smschat.accounts.actor import Actor
from smschat.accounts.projects import get_project
from smschat.chat.timefmt import format_timestamp
from smschat.errors import ValidationError
from smschat.models import Direction, Message, NumberEvent, PhoneNumber, WebUser, utcnow
from smschat.people.contacts import get_contact, primary_phone

OPTED_OUT, OPTED_IN = "opted_out", "opted_in"
INVALID, NOT_MOBILE, LANDLINE, CLEARED = "invalid", "not_mobile", "landline", "cleared"
REPLY, TWILIO, IMPORT, STAFF = "reply", "twilio", "import", "staff"

# Twilio's error codes that say something about the number, not about one message.
CODE_FACTS = {"21610": OPTED_OUT, "21211": INVALID, "21614": NOT_MOBILE, "30006": LANDLINE}

# What Contacts shows per number.
LABELS = {OPTED_OUT: "opted out", INVALID: "invalid number", NOT_MOBILE: "not a mobile number",
          LANDLINE: "landline"}


def label(opted_out: bool, fact: str | None) -> str:
    """The marker Contacts shows beside a number ("" when it can be texted)."""
    return LABELS[OPTED_OUT] if opted_out else LABELS.get(fact or "", "")


@dataclass(frozen=True)
class Blocked:
    """Why nothing is sent to a number: the code and words a refused send carries."""

    fact: str
    code: str
    text: str

    @property
    def label(self) -> str:
        return LABELS[self.fact]


# The codes are the carriers' own (Twilio's), so a refusal made here reads the same in the chat
# as one made by the gateway.
BLOCKS = {
    OPTED_OUT: Blocked(OPTED_OUT, "21610", "Not sent: the recipient has opted out (replied STOP)."),
    INVALID: Blocked(INVALID, "21211", "Not sent: Twilio said this is not a valid phone number (21211)."),
    NOT_MOBILE: Blocked(NOT_MOBILE, "21614", "Not sent: Twilio said this is not a mobile number (21614)."),
    LANDLINE: Blocked(LANDLINE, "30006",
                      "Not sent: the carrier said this is a landline or cannot be reached (30006)."),
}

# What staff can do about each, shown in the chat's banner.
ADVICE = {
    OPTED_OUT: "Nothing can be sent to it until the contact replies START.",
    INVALID: "Nothing is sent to it. Check the number with the contact and correct it in Contacts.",
    NOT_MOBILE: "Nothing is sent to it: it cannot receive SMS. Ask the contact for a mobile number.",
    LANDLINE: "Nothing is sent to it. If you know it can receive SMS now, allow sending again.",
}


def blocked_reason(session: Session, project_id: int, e164: str) -> Blocked | None:
    """Why nothing may be sent to this number now, or None."""
    return blocked_numbers(session, [(project_id, e164)]).get((project_id, e164))


def blocked_numbers(session: Session, wanted: list[tuple[int, str]]) -> dict[tuple[int, str], Blocked]:
    """Why nothing may be sent to each of many (project id, number) pairs, in one query: the
    blocked ones only."""
    if not wanted:
        return {}
    rows = session.execute(
        select(PhoneNumber.project_id, PhoneNumber.e164, PhoneNumber.opted_out, PhoneNumber.fact)
        # As (project, number) pairs: PostgreSQL then reads the unique (project_id, e164) index;
        # for a plain `e164 IN (...)` it picks the search's trigram index, ~40x slower.
        .where(tuple_(PhoneNumber.project_id, PhoneNumber.e164).in_(sorted(set(wanted))))
    )
    out = {}
    for row in rows:
        blocked = BLOCKS[OPTED_OUT] if row.opted_out else BLOCKS.get(row.fact)
        if blocked is not None:
            out[(row.project_id, row.e164)] = blocked
    return out


def record(session: Session, project_id: int, e164: str, change: str, source: str, detail: str = "", *,
           message_id: int | None = None, user_id: int | None = None, at: datetime | None = None) -> NumberEvent:
    event = NumberEvent(project_id=project_id, e164=e164, change=change, source=source, detail=detail[:200],
                        message_id=message_id, user_id=user_id, at=at or utcnow())
    session.add(event)
    session.flush()
    return event


def _phone(session: Session, project_id: int, e164: str) -> PhoneNumber | None:
    return session.scalar(
        select(PhoneNumber).where(PhoneNumber.project_id == project_id, PhoneNumber.e164 == e164)
        .with_for_update().execution_options(populate_existing=True)
    )


def set_consent(session: Session, project_id: int, e164: str, opted_out: bool, source: str, detail: str = "", *,
                message_id: int | None = None, user_id: int | None = None, at: datetime | None = None) -> bool:
    """Opt a number out (or back in) and keep it in the consent record. False when it already
    was (a repeated callback adds nothing). A number no contact owns has no state to keep, but
    what it said is still recorded."""
    phone = _phone(session, project_id, e164)
    if phone is not None:
        if phone.opted_out == opted_out:
            return False
        phone.opted_out = opted_out
    record(session, project_id, e164, OPTED_OUT if opted_out else OPTED_IN, source, detail,
           message_id=message_id, user_id=user_id, at=at)
    return True


def set_fact(session: Session, project_id: int, e164: str, fact: str | None, source: str, detail: str = "", *,
             message_id: int | None = None, user_id: int | None = None, at: datetime | None = None) -> bool:
    """Note (or, with None, clear) what a carrier taught about a contact's number."""
    phone = _phone(session, project_id, e164)
    if phone is None or phone.fact == fact:
        return False
    phone.fact = fact
    record(session, project_id, e164, fact or CLEARED, source, detail, message_id=message_id, user_id=user_id,
           at=at)
    return True


def note_error(session: Session, message: Message, code: str | None, *, at: datetime | None = None) -> None:
    """A send failed with `code` (Twilio's answer or a status callback): if the code is a fact
    about the number, keep it, so the next message is refused before it reaches Twilio."""
    fact = CODE_FACTS.get(str(code or "").strip())
    if fact is None or message.direction != Direction.OUT.value:
        return
    if fact == OPTED_OUT:
        set_consent(session, message.project_id, message.phone_number, True, TWILIO, str(code),
                    message_id=message.id, at=at)
    else:
        set_fact(session, message.project_id, message.phone_number, fact, TWILIO, str(code),
                 message_id=message.id, at=at)


def latest_event(session: Session, project_id: int, e164: str) -> NumberEvent | None:
    return session.scalar(
        select(NumberEvent).where(NumberEvent.project_id == project_id, NumberEvent.e164 == e164)
        .order_by(NumberEvent.id.desc()).limit(1)
    )


_PAST = {OPTED_OUT: "opted out", OPTED_IN: "opted back in", INVALID: "marked as an invalid number",
         NOT_MOBILE: "marked as not a mobile number", LANDLINE: "marked as a landline or unreachable",
         CLEARED: "allowed again"}


def describe(event: NumberEvent, tz_name: str, username: str | None = None) -> str:
    """`opted out 05:23pm 12/01/26 by replying STOP` (the seed's timestamp, project time zone)."""
    when = f"{_PAST.get(event.change, event.change)} {format_timestamp(event.at, tz_name)}"
    if event.source == REPLY:
        return f"{when} by replying {event.detail}"
    if event.source == TWILIO:
        return f"{when}: Twilio answered error {event.detail}"
    if event.source == IMPORT:
        return f"{when} by a contacts import"
    return f"{when} by {username or 'staff'}"


# --- checked entry points -------------------------------------------------------------------------


@dataclass(frozen=True)
class NumberStatus:
    """What the chat shows about the contact's number."""

    e164: str | None
    blocked: Blocked | None
    latest: str | None  # the consent record's latest line for the number, described

    @property
    def advice(self) -> str:
        return ADVICE[self.blocked.fact] if self.blocked else ""

    @property
    def can_allow_again(self) -> bool:
        """Staff may lift a carrier's fact (never an opt-out: only the contact can)."""
        return self.blocked is not None and self.blocked.fact != OPTED_OUT


def number_status(session: Session, actor: Actor, project_id: int, contact_id: int | str) -> NumberStatus:
    require(session, actor, project_id, Action.CHAT)
    phone = primary_phone(session, get_contact(session, project_id, contact_id))
    if phone is None:
        return NumberStatus(None, None, None)
    event = latest_event(session, project_id, phone.e164)
    latest = None
    if event is not None:
        username = session.scalar(select(WebUser.username).where(WebUser.id == event.user_id)) if event.user_id else None
        latest = describe(event, get_project(session, project_id).time_zone, username)
    return NumberStatus(phone.e164, blocked_reason(session, project_id, phone.e164), latest)


def allow_again(session: Session, actor: Actor, project_id: int, contact_id: int | str) -> str:
    """Lift a carrier's fact about the contact's number (staff know better: the landline was
    ported to a mobile, the carrier is reachable again). An opt-out stays: only START lifts it."""
    require(session, actor, project_id, Action.CHAT)
    phone = primary_phone(session, get_contact(session, project_id, contact_id))
    if phone is None:
        raise ValidationError("This contact has no phone number.")
    if not set_fact(session, project_id, phone.e164, None, STAFF, user_id=actor.user_id):
        return f"No carrier error holds {phone.e164} back."  # lifted already (by someone else, say)
    return f"Messages to {phone.e164} will be sent again."
