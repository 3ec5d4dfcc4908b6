"""SQLAlchemy 2.0 typed models. The schema itself comes only from Alembic migrations."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both backends (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class Role(enum.StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ANALYST = "analyst"
    ADMIN = "admin"


class ContactKind(enum.StrEnum):
    MOBILE_WORKER = "mobile_worker"
    CASE = "case"


class Direction(enum.StrEnum):
    IN = "in"
    OUT = "out"
    NOTE = "note"  # a staff note in the thread: never sent


class Workflow(enum.StrEnum):
    CHAT = "chat"
    REMINDER = "reminder"
    BROADCAST = "broadcast"
    KEYWORD = "keyword"
    SURVEY = "survey"
    VERIFICATION = "verification"
    DEFAULT = "default"
    NOTE = "note"


class Status(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    UNKNOWN = "unknown"
    EXPIRED = "expired"  # past its deadline before it was sent: never sent by itself (smschat.messaging.deadlines)
    RECEIVED = "received"  # inbound messages
    NOTE = "note"  # staff notes: never queued, so no worker claims one


class Project(Base):
    __tablename__ = "project"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    default_region: Mapped[str] = mapped_column(String(2), default="US")
    sender_numbers: Mapped[list[str]] = mapped_column(JSON, default=list)
    help_text: Mapped[str] = mapped_column(Text, default="")
    # Per sender, in SMS segments per second (1 suits a long code).
    rate_limit: Mapped[float] = mapped_column(Float, default=1.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Per SMS segment, e.g. "$0.0079" (smschat.messaging.pricing); None: no cost estimates.
    price_per_segment: Mapped[str | None] = mapped_column(String(32), nullable=True, default=None)


class WebUser(Base):
    __tablename__ = "web_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    first_name: Mapped[str] = mapped_column(String(150), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Accounts are global, admin rights per project: only a site admin may change an account
    # that also belongs to a project the acting admin does not administer.
    is_site_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="user")

    @property
    def display_name(self) -> str:
        return self.first_name or self.username


class Membership(Base):
    """A web user's role in one project."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "project_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_user.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))

    user: Mapped[WebUser] = relationship(back_populates="memberships")
    project: Mapped[Project] = relationship()


class Contact(Base):
    __tablename__ = "contact"
    __table_args__ = (
        Index("ix_contact_project_name", "project_id", "name"),
        Index("ix_contact_project_kind", "project_id", "kind"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(255))
    username: Mapped[str | None] = mapped_column(String(150))
    first_name: Mapped[str | None] = mapped_column(String(150))
    case_properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Kept up to date by every message written (outbox.enqueue, inbound.receive_sms), so the
    # contacts list shows activity and unread state without scanning the messages.
    last_message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_incoming_id: Mapped[int | None] = mapped_column(BigInteger)
    # Waiting replies (smschat/chat/inbox.py): the first incoming message nobody has answered
    # yet (NULL when none waits), and the one web user the conversation is assigned to.
    waiting_since_id: Mapped[int | None] = mapped_column(BigInteger)
    waiting_since_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("web_user.id", ondelete="SET NULL"))

    phone_numbers: Mapped[list[PhoneNumber]] = relationship(
        back_populates="contact", order_by="PhoneNumber.id"
    )


Index("ix_contact_project_lname", Contact.project_id, func.lower(Contact.name), Contact.id)
Index("ix_contact_project_last_incoming", Contact.project_id, Contact.last_incoming_id)
Index("ix_contact_project_recent", Contact.project_id, func.coalesce(Contact.last_message_id, 0))
_WAITING = "waiting_since_id IS NOT NULL"
Index("ix_contact_waiting", Contact.project_id, Contact.waiting_since_id,
      sqlite_where=text(_WAITING), postgresql_where=text(_WAITING))
Index("ix_contact_waiting_assignee", Contact.project_id, Contact.assignee_id, Contact.waiting_since_id,
      sqlite_where=text(_WAITING), postgresql_where=text(_WAITING))


class PhoneNumber(Base):
    __tablename__ = "phone_number"
    __table_args__ = (
        UniqueConstraint("project_id", "e164"),
        # A number is two-way in at most one project.
        Index(
            "ux_phone_number_two_way",
            "e164",
            unique=True,
            sqlite_where=text("two_way"),
            postgresql_where=text("two_way"),
        ),
        Index("ix_phone_number_e164", "e164"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )
    e164: Mapped[str] = mapped_column(String(20))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    two_way: Mapped[bool] = mapped_column(Boolean, default=False)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The project sender number this contact stays on (sticky), so replies land in one thread.
    sender: Mapped[str | None] = mapped_column(String(64))
    # What a carrier error taught us (smschat.people.number_facts): NULL, "invalid",
    # "not_mobile" or "landline". Nothing is sent to the number while it is set.
    fact: Mapped[str | None] = mapped_column(String(20))

    contact: Mapped[Contact] = relationship(back_populates="phone_numbers")


class Message(Base):
    __tablename__ = "message"
    __table_args__ = (
        Index("ix_message_conversation", "project_id", "contact_id", "id"),
        Index("ix_message_project_created", "project_id", "created_at"),
        Index("ix_message_outbox", "status", "next_attempt_at"),
        Index("ix_message_phone", "project_id", "phone_number", "id"),
        Index("ix_message_unknown_sender", "project_id", "direction", "id",
              sqlite_where=text("contact_id IS NULL"), postgresql_where=text("contact_id IS NULL")),
        Index("ix_message_broadcast", "broadcast_id", "status",
              sqlite_where=text("broadcast_id IS NOT NULL"), postgresql_where=text("broadcast_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    # NULL for a message from a number no contact owns ("unknown senders").
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"))
    phone_number: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str] = mapped_column(String(4))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12))
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error_code: Mapped[str | None] = mapped_column(String(20))
    error_message: Mapped[str | None] = mapped_column(Text)
    segments: Mapped[int] = mapped_column(Integer, default=1)
    encoding: Mapped[str] = mapped_column(String(5), default="GSM-7")
    workflow: Mapped[str] = mapped_column(String(20), default=Workflow.DEFAULT.value)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("web_user.id", ondelete="SET NULL"))
    gateway: Mapped[str | None] = mapped_column(String(20))
    gateway_message_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    survey_session_id: Mapped[int | None] = mapped_column(BigId)
    invalid_response: Mapped[bool] = mapped_column(Boolean, default=False)
    # The broadcast that queued this message (its progress counts these rows).
    broadcast_id: Mapped[int | None] = mapped_column(Integer)
    # Outbox bookkeeping.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set the moment a worker hands the message to the gateway: an expired claim without it
    # was never sent and goes back to the queue; with it, the outcome is `unknown`.
    send_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What it was sent from (a number, or a messaging service SID): an `unknown` send is
    # looked up in the gateway's message list by it.
    sender: Mapped[str | None] = mapped_column(String(64))
    # When the lookup of an `unknown` send settled (found, or no record after the grace period).
    reconciled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Send later: the time a person chose (NULL for a message sent at once).
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Not before this instant (a chosen time, or moved on by quiet hours). Unlike a backoff, a
    # message waiting for it holds back no message behind it to the same number.
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Messages that are too late (smschat.messaging.deadlines): when it was meant to leave
    # (moved on by a deliberate hold), and after when it is not sent (NULL: never too late).
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    contact: Mapped[Contact | None] = relationship()
    sent_by: Mapped[WebUser | None] = relationship()


class ReadMarker(Base):
    """How far one web user has read one conversation. Moves forward only."""

    __tablename__ = "read_marker"
    __table_args__ = (UniqueConstraint("project_id", "user_id", "contact_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("web_user.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )
    last_read_message_id: Mapped[int] = mapped_column(BigInteger, default=0)
    marked_unread: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChatSettings(Base):
    __tablename__ = "chat_settings"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), primary_key=True
    )
    case_name_display: Mapped[str] = mapped_column(String(100), default="name")
    message_counter_threshold: Mapped[int | None] = mapped_column(Integer)
    delay_automated_sms: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    survey_traffic: Mapped[str] = mapped_column(String(20), default="show_all")
    read_mode: Mapped[str] = mapped_column(String(20), default="per_user")
    chat_template: Mapped[str] = mapped_column(String(50), default="Default")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # "21:00-07:00" (local; may cross midnight): no scheduled or automated SMS then. NULL: off.
    quiet_hours: Mapped[str | None] = mapped_column(String(11))
    # Hours after which a queued message of that kind is not sent (NULL: the default, 0: never).
    deadline_chat: Mapped[int | None] = mapped_column(Integer)
    deadline_reminder: Mapped[int | None] = mapped_column(Integer)
    deadline_broadcast: Mapped[int | None] = mapped_column(Integer)
    deadline_survey: Mapped[int | None] = mapped_column(Integer)
    deadline_verification: Mapped[int | None] = mapped_column(Integer)
    deadline_keyword: Mapped[int | None] = mapped_column(Integer)
    deadline_default: Mapped[int | None] = mapped_column(Integer)


class SettingsChange(Base):
    """Audit trail of chat settings: who changed what, when, old -> new."""

    __tablename__ = "settings_change"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("web_user.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    field: Mapped[str] = mapped_column(String(50))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)


class WebSession(Base):
    """A browser login, so every tab of one browser shares it (the cookie holds the token)."""

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_user.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginThrottle(Base):
    """One login budget (an account, an account from one address, or one remembered browser):
    attempts reserved in the current window, and when the last one was made."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class LoginDevice(Base):
    """A browser that logged in as this user (the `smschat_device` cookie; only its hash)."""

    __tablename__ = "login_device"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEvent(Base):
    """Logins, failed logins, settings changes, exports, user changes: who, what, when."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_action_username_at", "action", "username", "at"),
        Index("ix_audit_event_action_address_at", "action", "address", "at"),
        Index("ix_audit_event_project_at", "project_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("web_user.id", ondelete="SET NULL"))
    username: Mapped[str | None] = mapped_column(String(150))
    address: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ChatPresence(Base):
    """Who has which chat open right now (refreshed by each poll of an open window)."""

    __tablename__ = "chat_presence"
    __table_args__ = (UniqueConstraint("project_id", "user_id", "contact_id"),
                      Index("ix_chat_presence_contact_seen", "project_id", "contact_id", "seen_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("web_user.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SenderSlot(Base):
    """When a sender may next send: workers reserve segments here, so the rate holds across workers."""

    __tablename__ = "sender_slot"

    sender: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_free_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StatusReport(Base):
    """A delivery report that arrived before the worker recorded the gateway's message id.

    The worker applies it (forward-only) as soon as the id is recorded, so no report is lost.
    """

    __tablename__ = "status_report"

    gateway_message_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(12))
    error_code: Mapped[str | None] = mapped_column(String(20))
    error_message: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- automated traffic (issue 7) ------------------------------------------------------------


class Survey(Base):
    """An SMS survey: ordered questions, each {text, kind: text|number|choice, min, max, choices}."""

    __tablename__ = "survey"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # How many times one question is asked in all (first ask + re-asks after invalid answers).
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    timeout_minutes: Mapped[int] = mapped_column(Integer, default=60)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SurveySession(Base):
    """One contact taking one survey: open -> completed | timed_out | too_many_invalid | replaced."""

    __tablename__ = "survey_session"
    __table_args__ = (
        Index("ix_survey_session_contact_status", "contact_id", "status"),
        Index("ix_survey_session_status_expires", "status", "expires_at"),
        Index("ix_survey_session_survey", "survey_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    phone_number: Mapped[str] = mapped_column(String(20))
    origin: Mapped[str] = mapped_column(String(20))  # keyword | broadcast | reminder | manual
    status: Mapped[str] = mapped_column(String(20), default="open")
    question_index: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Keyword(Base):
    """An inbound message whose first word is `keyword` gets `reply`, or starts `survey_id`."""

    __tablename__ = "keyword"
    __table_args__ = (UniqueConstraint("project_id", "keyword"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    keyword: Mapped[str] = mapped_column(String(50))  # upper case
    reply: Mapped[str] = mapped_column(Text, default="")
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("survey.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reminder(Base):
    """A message (or a survey) to a group, once or on a recurring local-time schedule."""

    __tablename__ = "reminder"
    __table_args__ = (Index("ix_reminder_due", "active", "next_due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("survey.id", ondelete="SET NULL"))
    target: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    schedule: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The next slot to fire (UTC); NULL once a schedule has no slot left.
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_slot_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A large group goes out in chunks: the last contact id done for the slot under way.
    cursor_contact_id: Mapped[int | None] = mapped_column(BigInteger)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("web_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Broadcast(Base):
    """One message (or survey) to a group, now or at a time: scheduled -> sending -> sent."""

    __tablename__ = "broadcast"
    __table_args__ = (Index("ix_broadcast_due", "status", "send_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("survey.id", ondelete="SET NULL"))
    target: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    send_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    skipped_opted_out: Mapped[int] = mapped_column(Integer, default=0)
    # Large groups go out in chunks (one per worker round): the last contact id done so far.
    cursor_contact_id: Mapped[int | None] = mapped_column(BigInteger)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("web_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NumberEvent(Base):
    """The consent record: every opt-out and opt-in of a number, and every fact a carrier
    error taught about it, with its time, source and the message that caused it."""

    __tablename__ = "number_event"
    __table_args__ = (Index("ix_number_event_number", "project_id", "e164", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    e164: Mapped[str] = mapped_column(String(20))
    # "opted_out", "opted_in", "invalid", "not_mobile", "landline", "cleared"
    change: Mapped[str] = mapped_column(String(20))
    # "reply" (STOP / START words), "twilio" (an error code), "import", "staff"
    source: Mapped[str] = mapped_column(String(20))
    # The keyword replied, the error code, the import's word for it.
    detail: Mapped[str] = mapped_column(String(200), default="")
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("web_user.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# A claim takes each sender's queued messages oldest first: only queued rows are in it.
_QUEUED = "status = 'queued' AND direction = 'out'"
Index("ix_message_queued_sender", Message.sender, Message.id,
      sqlite_where=text(_QUEUED), postgresql_where=text(_QUEUED))
# The sweep of messages past their deadline (smschat.messaging.deadlines) reads only those.
Index("ix_message_queued_expires", Message.expires_at,
      sqlite_where=text(_QUEUED + " AND expires_at IS NOT NULL"),
      postgresql_where=text(_QUEUED + " AND expires_at IS NOT NULL"))

# The stuck-messages page: one project's messages that did not get through, oldest first.
UNDELIVERED = "status IN ('failed', 'undelivered', 'unknown', 'expired')"
Index("ix_message_undelivered", Message.project_id, Message.id,
      sqlite_where=text(UNDELIVERED), postgresql_where=text(UNDELIVERED))


# --- staff tools (issue 17) -----------------------------------------------------------------


class QuickReply(Base):
    """A project's canned text for the chat, with placeholders ({first_name} {name} {project})."""

    __tablename__ = "quick_reply"
    __table_args__ = (UniqueConstraint("project_id", "title"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("web_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
