"""Broadcasts: now or at a time, to a group; progress counted from the messages."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from smschat.accounts.actor import Actor
from smschat.automation import broadcasts, surveys
from smschat.automation import runner as automation
from smschat.errors import ValidationError
from smschat.gateways.loopback.sender import LoopbackGateway
from smschat.messaging import worker
from smschat.models import Message, PhoneNumber, SurveySession, utcnow
from smschat.people import contacts


@pytest.fixture
def cases(session, project):
    out = []
    for name, number, village in [("Grace", "+254712345678", "Kisumu"), ("Peter", "+265991234567", "Zomba"),
                                  ("Aisha", "+221771234567", "Kisumu")]:
        c = contacts.create_contact(session, project, "case", name, case_properties={"village": village})
        contacts.register_phone(session, project, c, number)
        out.append(c)
    session.scalar(select(PhoneNumber).where(PhoneNumber.e164 == "+221771234567")).opted_out = True
    session.commit()
    return out


def test_send_now_queues_one_message_per_recipient_and_skips_opted_out(session, db_url, project, sam, cases):
    b = broadcasts.create_broadcast(session, Actor.web(sam.id), project.id, "Clinic", "The clinic is closed on Friday.",
                                    {"kind": "cases"})
    session.commit()
    [row] = broadcasts.list_broadcasts(session, Actor.web(sam.id), project.id)
    assert (row.status, row.recipients, row.queued, row.sent, row.failed, row.skipped_opted_out) == (
        "sent", 2, 2, 0, 0, 1)
    session.rollback()  # end the read transaction: see what the worker wrote
    assert worker.run_once(LoopbackGateway(), url=db_url) == 2
    session.rollback()
    [row] = broadcasts.list_broadcasts(session, Actor.web(sam.id), project.id)
    assert (row.queued, row.sent, row.failed) == (0, 2, 0)
    assert {m.workflow for m in session.scalars(select(Message).where(Message.broadcast_id == b.id))} == {"broadcast"}


def test_a_scheduled_broadcast_goes_out_when_due_and_can_be_cancelled_before(session, project, sam, cases):
    now = utcnow()
    later = broadcasts.create_broadcast(session, Actor.web(sam.id), project.id, "Later", "Vaccination day Saturday",
                                        {"kind": "case_property", "property": "village", "value": "Zomba"},
                                        send_at=now + timedelta(hours=1), now=now)
    gone = broadcasts.create_broadcast(session, Actor.web(sam.id), project.id, "Gone", "x", {"kind": "cases"},
                                       send_at=now + timedelta(hours=1), now=now)
    broadcasts.cancel(session, Actor.web(sam.id), project.id, gone.id)
    assert automation.run_due(session, now + timedelta(minutes=59))["broadcasts"] == 0
    assert automation.run_due(session, now + timedelta(hours=1))["broadcasts"] == 1
    assert later.status == "sent" and later.recipients == 1
    assert [m.phone_number for m in session.scalars(select(Message).where(Message.broadcast_id == later.id))] == [
        "+265991234567"]
    with pytest.raises(ValidationError):
        broadcasts.cancel(session, Actor.web(sam.id), project.id, later.id)


def test_a_broadcast_can_start_a_survey(session, project, sam, cases):
    survey = surveys.create_survey(session, Actor.web(sam.id), project.id, "Feedback",
                                   [{"text": "Rate the clinic from 1 to 5", "kind": "number", "min": 1, "max": 5}])
    b = broadcasts.create_broadcast(session, Actor.web(sam.id), project.id, "Feedback", "", {"kind": "cases"}, survey_id=survey.id)
    sessions = list(session.scalars(select(SurveySession)))
    assert {s.origin for s in sessions} == {"broadcast"} and len(sessions) == 2
    messages = list(session.scalars(select(Message).where(Message.broadcast_id == b.id)))
    assert {(m.workflow, m.body) for m in messages} == {("survey", "Rate the clinic from 1 to 5")}
    assert all(m.survey_session_id for m in messages)


def test_a_large_group_goes_out_in_chunks_one_per_worker_round(session, project, sam, cases, monkeypatch):
    for i in range(5):
        c = contacts.create_contact(session, project, "case", f"Extra {i}")
        contacts.register_phone(session, project, c, f"+2547199900{i:02d}")
    monkeypatch.setattr(broadcasts, "CHUNK", 3)
    now = utcnow()
    b = broadcasts.create_broadcast(session, Actor.web(sam.id), project.id, "Big", "Hello all", {"kind": "cases"}, now=now)
    # 8 cases, one opted out: 3 looked at by the page's own transaction, the rest by the worker.
    assert (b.status, b.recipients + b.skipped_opted_out) == ("sending", 3)
    assert automation.run_due(session, now)["broadcasts"] == 1
    assert automation.run_due(session, now)["broadcasts"] == 1
    assert (b.status, b.recipients, b.skipped_opted_out) == ("sent", 7, 1)
    assert automation.run_due(session, now)["broadcasts"] == 0
    phones = [m.phone_number for m in session.scalars(select(Message).where(Message.broadcast_id == b.id))]
    assert len(phones) == len(set(phones)) == 7
