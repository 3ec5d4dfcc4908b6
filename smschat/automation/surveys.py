"""SMS surveys: ordered questions asked one at a time, each answer validated.

A session is open until the last question is answered (`completed`), an answer stays invalid
after `max_attempts` asks (`too_many_invalid`), no answer comes for `timeout_minutes`
(`timed_out`, set by the worker), or another survey starts for the contact (`replaced`).
An invalid answer is flagged `invalid_response` on its message (what *Survey Traffic: show
only invalid survey responses* shows) and the question is asked again with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from smschat.accounts.access import Action, require
from smschat.accounts.actor import Actor
from smschat.accounts.projects import get_project, owned
from smschat.automation import delay
from smschat.errors import ValidationError
from smschat.log.spreadsheet import csv_bytes
from smschat.messaging.segments import validate_body
from smschat.models import (
    Contact,
    Message,
    Project,
    Survey,
    SurveySession,
    Workflow,
    utcnow,
)
from smschat.people.contacts import get_contact, primary_phone
from smschat.text import clean as clean_text

KINDS = {"text": "Free text", "number": "Number", "choice": "Multiple choice"}
OPEN = "open"
STATUS_LABELS = {"open": "open", "completed": "completed", "timed_out": "timed out",
                 "too_many_invalid": "stopped: too many invalid answers", "replaced": "replaced by another survey"}


def validate_questions(questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    clean = []
    for n, q in enumerate(questions or [], 1):
        text = clean_text(str(q.get("text") or "")).strip()
        kind = q.get("kind") or "text"
        if not text:
            raise ValidationError(f"Question {n} has no text.")
        if kind not in KINDS:
            raise ValidationError(f"Question {n}: unknown kind {kind!r}; use text, number or choice.")
        item: dict[str, Any] = {"text": text, "kind": kind}
        if kind == "number":
            for bound in ("min", "max"):
                value = q.get(bound)
                if value not in (None, ""):
                    try:
                        item[bound] = float(value)
                    except (TypeError, ValueError):
                        raise ValidationError(f"Question {n}: {bound} must be a number.") from None
            if "min" in item and "max" in item and item["min"] > item["max"]:
                raise ValidationError(f"Question {n}: min is greater than max.")
        if kind == "choice":
            choices = [c for c in (clean_text(str(c)).strip() for c in q.get("choices") or []) if c]
            if len(choices) < 2:
                raise ValidationError(f"Question {n}: a multiple choice question needs at least two choices.")
            item["choices"] = choices
        validate_body(question_text(item))
        clean.append(item)
    if not clean:
        raise ValidationError("A survey needs at least one question.")
    return clean


def question_text(q: dict[str, Any]) -> str:
    if q["kind"] == "choice":
        return f"{q['text']} Reply " + ", ".join(f"{i} for {c}" for i, c in enumerate(q["choices"], 1))
    return q["text"]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def check_answer(q: dict[str, Any], body: str) -> tuple[bool, Any, str]:
    """(valid, value to store, reason when invalid)."""
    text = (body or "").strip()
    if not text:
        return False, None, "Please answer."
    if q["kind"] == "number":
        try:
            value = float(text.replace(",", "."))
        except ValueError:
            return False, None, "Please answer with a number."
        low, high = q.get("min"), q.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            span = f"between {_number(low)} and {_number(high)}" if low is not None and high is not None else (
                f"at least {_number(low)}" if low is not None else f"at most {_number(high)}")
            return False, None, f"Please answer with a number {span}."
        return True, _number(value), ""
    if q["kind"] == "choice":
        choices = q["choices"]
        if text.isdigit() and 1 <= int(text) <= len(choices):
            return True, choices[int(text) - 1], ""
        for c in choices:
            if c.lower() == text.lower():
                return True, c, ""
        return False, None, f"Please reply with a number from 1 to {len(choices)}."
    return True, text, ""


@dataclass(frozen=True)
class SurveyRow:
    id: int
    name: str
    questions: int
    max_attempts: int
    timeout_minutes: int
    sessions: int
    completed: int


def create_survey(session: Session, actor: Actor, project_id: int, name: str,
                  questions: list[dict[str, Any]], *, max_attempts: int = 3, timeout_minutes: int = 60) -> Survey:
    require(session, actor, project_id, Action.MANAGE_AUTOMATION)
    name = clean_text(name or "").strip()
    if not name:
        raise ValidationError("A survey needs a name.")
    if session.scalar(select(Survey.id).where(Survey.project_id == project_id, Survey.name == name)):
        raise ValidationError(f"A survey {name!r} already exists.")
    if not 1 <= int(max_attempts) <= 10:
        raise ValidationError("A question is asked 1 to 10 times.")
    if not 1 <= int(timeout_minutes) <= 7 * 24 * 60:
        raise ValidationError("The timeout is between 1 minute and 7 days.")
    survey = Survey(project_id=project_id, name=name, questions=validate_questions(questions),
                    max_attempts=int(max_attempts), timeout_minutes=int(timeout_minutes))
    session.add(survey)
    session.flush()
    return survey


def _get_survey(session: Session, project_id: int, survey_id: int) -> Survey:
    """Internal (unchecked, an ORM object): pages read a survey through survey_detail."""
    return owned(session, Survey, project_id, survey_id, "survey")


@dataclass(frozen=True)
class SurveyDetail:
    id: int
    name: str
    questions: list[dict[str, Any]]  # as validate_questions stores them (text, kind, choices, min, max)
    max_attempts: int
    timeout_minutes: int


def survey_detail(session: Session, actor: Actor, project_id: int, survey_id: int) -> SurveyDetail:
    """One survey of the project as the Surveys page shows it (its questions)."""
    require(session, actor, project_id, Action.MANAGE_AUTOMATION)
    survey = _get_survey(session, project_id, survey_id)
    return SurveyDetail(survey.id, survey.name, [dict(q) for q in survey.questions], survey.max_attempts,
                        survey.timeout_minutes)


def list_surveys(session: Session, actor: Actor, project_id: int) -> list[SurveyRow]:
    require(session, actor, project_id, Action.MANAGE_AUTOMATION)
    counts = {
        sid: (total, done)
        for sid, total, done in session.execute(
            select(SurveySession.survey_id, func.count(),
                   func.count().filter(SurveySession.status == "completed"))
            .where(SurveySession.project_id == project_id).group_by(SurveySession.survey_id)
        )
    }
    return [
        SurveyRow(s.id, s.name, len(s.questions), s.max_attempts, s.timeout_minutes, *counts.get(s.id, (0, 0)))
        for s in session.scalars(select(Survey).where(Survey.project_id == project_id).order_by(Survey.name))
    ]


def open_session(session: Session, contact_id: int, now: datetime | None = None, *,
                 lock: bool = False) -> SurveySession | None:
    """The contact's open, unexpired session. `lock`: two answers arriving at once (two webhook
    replicas on PostgreSQL) are handled one after the other, never both against one question."""
    now = now or utcnow()
    query = (
        select(SurveySession)
        .where(SurveySession.contact_id == contact_id, SurveySession.status == OPEN, SurveySession.expires_at > now)
        .order_by(SurveySession.id.desc()).limit(1)
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalar(query)


def _ask(session: Session, project: Project, contact: Contact, sess: SurveySession, survey: Survey, now: datetime,
         prefix: str = "", **columns: Any) -> Message:
    text = question_text(survey.questions[sess.question_index])
    return delay.enqueue_automated(session, project, contact, f"{prefix} {text}".strip(), workflow=Workflow.SURVEY,
                                   phone_number=sess.phone_number, now=now, survey_session_id=sess.id, **columns)


def start_survey(session: Session, project: Project, contact: Contact, survey: Survey, *, origin: str,
                 phone_number: str, now: datetime | None = None, **columns: Any) -> SurveySession:
    """Open a session and ask the first question (any open session of the contact ends)."""
    now = now or utcnow()
    session.execute(
        update(SurveySession)
        .where(SurveySession.contact_id == contact.id, SurveySession.status == OPEN)
        .values(status="replaced", ended_at=now)
        .execution_options(synchronize_session=False)
    )
    sess = SurveySession(project_id=project.id, survey_id=survey.id, contact_id=contact.id, phone_number=phone_number,
                         origin=origin, status=OPEN, question_index=0, attempts=1, answers={}, started_at=now,
                         expires_at=now + timedelta(minutes=survey.timeout_minutes))
    session.add(sess)
    session.flush()
    _ask(session, project, contact, sess, survey, now, **columns)
    return sess


def handle_answer(session: Session, project: Project, contact: Contact, sess: SurveySession, message: Message,
                  now: datetime | None = None) -> None:
    """One inbound message answers the session's current question."""
    now = now or utcnow()
    survey = session.get(Survey, sess.survey_id)
    message.workflow = Workflow.SURVEY.value
    message.survey_session_id = sess.id
    q = survey.questions[sess.question_index]
    ok, value, reason = check_answer(q, message.body)
    sess.expires_at = now + timedelta(minutes=survey.timeout_minutes)
    if not ok:
        message.invalid_response = True
        if sess.attempts >= survey.max_attempts:
            sess.status, sess.ended_at = "too_many_invalid", now
        else:
            sess.attempts += 1
            _ask(session, project, contact, sess, survey, now, prefix=f"Sorry, that is not a valid answer. {reason}")
        session.flush()
        return
    sess.answers = {**(sess.answers or {}), str(sess.question_index): value}  # a new dict: JSON change tracked
    sess.question_index += 1
    sess.attempts = 1
    if sess.question_index >= len(survey.questions):
        sess.status, sess.ended_at = "completed", now
    else:
        _ask(session, project, contact, sess, survey, now)
    session.flush()


def expire_sessions(session: Session, now: datetime | None = None) -> int:
    """Open sessions nobody answered in time become `timed_out`."""
    now = now or utcnow()
    result = session.execute(
        update(SurveySession)
        .where(SurveySession.status == OPEN, SurveySession.expires_at <= now)
        .values(status="timed_out", ended_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def export_rows(session: Session, actor: Actor, project_id: int, survey_id: int) -> tuple[list[str], list[list[Any]]]:
    """(columns, rows): one row per session, one column per question (the answers as stored)."""
    require(session, actor, project_id, Action.MANAGE_AUTOMATION)
    survey = _get_survey(session, project_id, survey_id)
    columns = ["Session", "Contact", "Phone Number", "Started (UTC)", "Status", "Started by"] + [
        f"Q{i}: {q['text']}" for i, q in enumerate(survey.questions, 1)]
    rows = []
    for sess, name in session.execute(
        select(SurveySession, Contact.name).join(Contact, Contact.id == SurveySession.contact_id)
        .where(SurveySession.survey_id == survey.id).order_by(SurveySession.id)
    ):
        answers = sess.answers or {}
        rows.append([sess.id, name, sess.phone_number, sess.started_at.strftime("%Y-%m-%d %H:%M"),
                     STATUS_LABELS.get(sess.status, sess.status), sess.origin]
                    + [answers.get(str(i), "") for i in range(len(survey.questions))])
    return columns, rows


def export_csv(session: Session, actor: Actor, project_id: int, survey_id: int) -> bytes:
    """The answers table as a CSV file (what **Download answers (CSV)** hands out), formula-guarded."""

    columns, rows = export_rows(session, actor, project_id, survey_id)
    return csv_bytes(columns, rows)


def start_for_contact(session: Session, actor: Actor, project_id: int, survey_id: int, contact_id: int) -> SurveySession:
    """A supervisor starts a survey for one contact by hand."""

    require(session, actor, project_id, Action.MANAGE_AUTOMATION)
    contact = get_contact(session, project_id, contact_id)
    phone = primary_phone(session, contact)
    if phone is None or phone.opted_out:
        raise ValidationError(f"{contact.name} has no number that can receive SMS.")
    return start_survey(session, get_project(session, project_id), contact, _get_survey(session, project_id, survey_id),
                        origin="manual", phone_number=phone.e164)


