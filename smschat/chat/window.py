"""The chat window's service side: send, and read a conversation by id cursor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from smschat.accounts.access import Action, require
from smschat.accounts.actor import Actor
from smschat.accounts.projects import get_chat_settings, get_project
from smschat.chat import presence, reads
from smschat.chat.timefmt import format_timestamp, range_start
from smschat.errors import MessageNotFound
from smschat.messaging import deadlines, outbox
from smschat.models import Contact, Direction, Message, Project, Status, WebUser, Workflow
from smschat.people.contacts import (
    _list_contacts,
    display_name,
    get_contact,
    primary_phone,
)

SYSTEM_LABEL = "System"
DEFAULT_PAGE = 50
MAX_PAGE = 500


@dataclass(frozen=True)
class ChatLine:
    id: int
    sender: str
    body: str
    timestamp: str
    created_at: datetime
    direction: str
    status: str
    workflow: str
    error: str | None
    segments: int
    invalid_response: bool


def sender_label(message: Message, contact_name: str, sent_by: WebUser | None) -> str:
    """Contact name for incoming; the web user's first name (else username) for their chat
    messages; `System` for everything else."""
    if message.direction == Direction.IN.value:
        return contact_name
    if message.direction == Direction.NOTE.value:
        return f"Note by {sent_by.display_name if sent_by else 'a former user'}"
    if message.workflow == Workflow.CHAT.value and sent_by is not None:
        return sent_by.display_name
    return SYSTEM_LABEL


def send_chat_message(session: Session, project_id: int, contact_id: int, user_id: int, body: str) -> Message:
    project = get_project(session, project_id)
    contact = get_contact(session, project_id, contact_id)
    return outbox.enqueue(session, project, contact, body, workflow=Workflow.CHAT, sent_by_id=user_id)


def chat_title(session: Session, project_id: int, contact: Contact) -> str:
    return f"Chat - {display_name(contact, get_chat_settings(session, project_id))}"


def get_history(
    session: Session,
    project_id: int,
    contact_id: int,
    *,
    range_name: str = "All Time",
    after_id: int | None = None,
    before_id: int | None = None,
    limit: int = DEFAULT_PAGE,
    now: datetime | None = None,
) -> list[ChatLine]:
    """Messages of one conversation, oldest first.

    `after_id`: only messages newer than the cursor (polling); ids grow monotonically, so
    messages that share a timestamp are never missed. Without it: the newest `limit` messages
    of the range (before `before_id` to page back).
    """
    project: Project = get_project(session, project_id)
    contact = get_contact(session, project_id, contact_id)
    settings = get_chat_settings(session, project_id)
    name = display_name(contact, settings)
    limit = max(1, min(int(limit), MAX_PAGE))
    query = (
        select(Message, WebUser)
        .outerjoin(WebUser, WebUser.id == Message.sent_by_id)
        .where(Message.project_id == project_id, Message.contact_id == contact.id)
        .where(*survey_filter(settings.survey_traffic))
    )
    start = range_start(range_name, project.time_zone, now)
    if start is not None:
        query = query.where(Message.created_at >= start)
    if after_id is not None:
        query = query.where(Message.id > after_id).order_by(Message.id).limit(limit)
        rows = list(session.execute(query))
    else:
        if before_id is not None:
            query = query.where(Message.id < before_id)
        rows = list(session.execute(query.order_by(Message.id.desc()).limit(limit)))
        rows.reverse()
    return [_line(m, u, name, project.time_zone) for m, u in rows]


SURVEY_TRAFFIC = {
    "show_all": "Show all survey traffic",
    "hide_all": "Hide all survey traffic",
    "invalid_only": "Show only invalid survey responses",
}


def survey_filter(mode: str) -> list:
    """Conditions that apply the Survey Traffic setting to a history query."""
    is_survey = Message.workflow == Workflow.SURVEY.value
    if mode == "hide_all":
        return [~is_survey]
    if mode == "invalid_only":
        shown = (Message.direction == Direction.IN.value) & Message.invalid_response.is_(True)
        return [~is_survey | shown]
    return []


def latest_id(session: Session, project_id: int, contact_id: int) -> int:
    """The newest message id of a conversation (0 if none): where a new window starts counting."""
    return int(
        session.scalar(
            select(func.max(Message.id)).where(Message.project_id == project_id, Message.contact_id == contact_id)
        )
        or 0
    )


def count_since(session: Session, project_id: int, contact_id: int, after_id: int) -> int:
    """Messages both ways after `after_id`: the Message Counter of an open window (staff notes
    are no messages)."""
    return int(
        session.scalar(
            select(func.count()).select_from(Message).where(
                Message.project_id == project_id, Message.contact_id == contact_id, Message.id > after_id,
                Message.direction != Direction.NOTE.value,
            )
        )
        or 0
    )


def error_words(status: str, code: str | None, text: str | None) -> str | None:
    """What a line says after its status: the gateway's code and words; for an expired message
    its reason in plain words ("not sent: 26 hours late"), and whether a person cancelled it."""
    if status == Status.EXPIRED.value:
        words = text or "not sent: too late"
        return words + "; cancelled" if code == deadlines.CANCELLED_CODE else words
    return " ".join(p for p in (code and f"[{code}]", text) if p) or None


def _line(message: Message, user: WebUser | None, contact_name: str, tz: str) -> ChatLine:
    error = error_words(message.status, message.error_code, message.error_message)
    return ChatLine(
        id=message.id,
        sender=sender_label(message, contact_name, user),
        body=message.body,
        timestamp=format_timestamp(message.created_at, tz),
        created_at=message.created_at,
        direction=message.direction,
        status=message.status,
        workflow=message.workflow,
        error=error,
        segments=message.segments,
        invalid_response=message.invalid_response,
    )


def statuses(session: Session, project_id: int, message_ids: list[int]) -> dict[int, tuple[str, str | None]]:
    """Current status (and error) of messages already on screen, for the refresh."""
    if not message_ids:
        return {}
    rows = session.execute(
        select(Message.id, Message.status, Message.error_code, Message.error_message).where(
            Message.project_id == project_id, Message.id.in_(message_ids)
        )
    )
    return {r[0]: (r[1], error_words(r[1], r[2], r[3])) for r in rows}


def phone_thread(session: Session, project_id: int, e164: str, *, limit: int = 100) -> list[ChatLine]:
    """What the phone itself has seen: every message to or from one number, oldest first."""
    project = get_project(session, project_id)
    rows = list(
        session.execute(
            select(Message, WebUser)
            .outerjoin(WebUser, WebUser.id == Message.sent_by_id)
            .where(Message.project_id == project_id, Message.phone_number == e164)
            .order_by(Message.id.desc())
            .limit(limit)
        )
    )
    rows.reverse()
    return [_line(m, u, e164, project.time_zone) for m, u in rows]


# --- checked entry points: what the Chat page calls ---------------------------------------
#
# The functions above are internal (worker, webhooks, demo, bench call them). Every function
# below takes the acting web user first, checks role AND project with access.require, and
# checks that the contact is in that project, before it reads or writes anything. A contact
# of another project and a missing one get the same answer ("No such contact in this project.").


@dataclass(frozen=True)
class Window:
    """What a new chat window needs to open."""

    contact_id: int
    title: str
    counter_threshold: int | None
    template: str
    opened_at: int
    unread_after: int
    opted_out: bool  # the number replied STOP: nothing can be sent until START
    name: str = ""  # the contact's name as the title shows it ("Reply as <name>")


def _checked_contact(session: Session, actor: Actor, project_id: int, contact_id: int | str) -> Contact:
    require(session, actor, project_id, Action.CHAT)
    return get_contact(session, project_id, contact_id)


def open_window(session: Session, actor: Actor, project_id: int, contact_id: int | str) -> Window:
    contact = _checked_contact(session, actor, project_id, contact_id)
    settings = get_chat_settings(session, project_id)
    name = display_name(contact, settings)
    return Window(
        contact_id=contact.id,
        title=f"Chat - {name}",
        counter_threshold=settings.message_counter_threshold,
        template=settings.chat_template,
        opened_at=latest_id(session, project_id, contact.id),
        unread_after=reads.last_read_id(session, project_id, actor.user_id, contact.id),
        opted_out=bool((phone := primary_phone(session, contact)) and phone.opted_out),
        name=name,
    )


def find_contacts(session: Session, actor: Actor, project_id: int, search: str | None, *, limit: int = 50):
    """The contact picker of the Chat page (no contact in the address yet)."""

    require(session, actor, project_id, Action.CHAT)
    return _list_contacts(session, project_id, search=search, limit=limit)


def window_history(session: Session, actor: Actor, project_id: int, contact_id: int | str, **kwargs) -> list[ChatLine]:
    """`get_history` for the acting user (same keyword arguments)."""
    contact = _checked_contact(session, actor, project_id, contact_id)
    return get_history(session, project_id, contact.id, **kwargs)


def window_statuses(session: Session, actor: Actor, project_id: int, message_ids: list[int]) -> dict[int, tuple[str, str | None]]:
    require(session, actor, project_id, Action.CHAT)
    return statuses(session, project_id, message_ids)


def window_counter(session: Session, actor: Actor, project_id: int, contact_id: int | str, after_id: int) -> int:
    contact = _checked_contact(session, actor, project_id, contact_id)
    return count_since(session, project_id, contact.id, after_id)


def reset_counter(session: Session, actor: Actor, project_id: int, contact_id: int | str) -> int:
    """Where the Message Counter starts again (Reset)."""
    contact = _checked_contact(session, actor, project_id, contact_id)
    return latest_id(session, project_id, contact.id)


def read_up_to(session: Session, actor: Actor, project_id: int, contact_id: int | str, up_to_id: int) -> int:
    """The open window marks what it shows as read, for the acting user."""
    contact = _checked_contact(session, actor, project_id, contact_id)
    return reads.mark_read(session, project_id, actor.web_user_id(), contact.id, up_to_id)


def mark_unread(session: Session, actor: Actor, project_id: int, contact_id: int | str) -> None:
    contact = _checked_contact(session, actor, project_id, contact_id)
    reads.mark_unread(session, project_id, actor.web_user_id(), contact.id)


def viewing(session: Session, actor: Actor, project_id: int, contact_id: int | str, *, within_seconds: float = 10) -> list[str]:
    """Note that the acting user has this chat open; the others who have it open too."""
    contact = _checked_contact(session, actor, project_id, contact_id)
    user_id = actor.web_user_id()
    presence.touch(session, project_id, user_id, contact.id)
    return presence.others_viewing(session, project_id, user_id, contact.id, within_seconds=within_seconds)


def send(session: Session, actor: Actor, project_id: int, contact_id: int | str, body: str) -> Message:
    """Send a chat message as the acting user (the sender is never taken from the caller)."""
    contact = _checked_contact(session, actor, project_id, contact_id)
    return send_chat_message(session, project_id, contact.id, actor.web_user_id(), body)


def retry(session: Session, actor: Actor, project_id: int, message_id: int | str) -> Message:
    """Retry a failed, undelivered or unknown message of this project (the Retry button)."""
    require(session, actor, project_id, Action.CHAT)
    try:
        mid = int(message_id)
    except (TypeError, ValueError):
        raise MessageNotFound("No such message in this project.") from None
    return outbox.retry(session, project_id, mid)
