"""Carrier errors as facts about numbers, and the consent record.

21610 (the recipient unsubscribed) in Twilio's answer to a real worker process, or in a signed
status callback to the real webhooks app, opts the number out; 21211 / 21614 / 30006 mark it;
either way the next message is refused before it is queued or sent, and the consent record
says when, why and which message caused it."""

import csv
import io
import os
import subprocess
import sys

import httpx
import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from smschat.accounts import audit
from smschat.accounts.actor import OPERATOR, Actor
from smschat.chat import window as chat
from smschat.errors import NumberBlocked, OptedOut
from smschat.gateways.twilio.fake import twilio_error
from smschat.log import consent
from smschat.messaging import inbound, outbox
from smschat.models import AuditEvent, Message, NumberEvent, PhoneNumber, Status
from smschat.people import contacts, imports, number_facts

from .conftest import PUBLIC_URL, ROOT, TWILIO_TOKEN
from .waiting import wait_until

pytestmark = pytest.mark.timeout(120)

MARIE = "+17033996500"


def _phone(session, e164=MARIE):
    session.rollback()
    session.expire_all()
    return session.scalar(select(PhoneNumber).where(PhoneNumber.e164 == e164))


def _events(session):
    session.rollback()
    return list(session.scalars(select(NumberEvent).order_by(NumberEvent.id)))


def _worker(tmp_path):
    log = open(tmp_path / "worker.log", "w")
    return subprocess.Popen([sys.executable, "-m", "smschat", "worker"], cwd=ROOT, env=os.environ.copy(),
                            stdout=log, stderr=subprocess.STDOUT)


def _status(session, message_id):
    session.rollback()
    session.expire_all()
    return session.get(Message, message_id).status


def _signed_status(base, form):
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC_URL + "/twilio/status", form)
    return httpx.post(base + "/twilio/status", data=form, headers={"X-Twilio-Signature": signature})


def test_21610_in_the_answer_and_in_a_callback_marks_the_number(
        twilio_env, fake_twilio, webhook_server, session, project, agent, marie, tmp_path):
    # Twilio answers the first message with 21610: a real worker process sends it.
    bob = contacts.create_contact(session, project, "case", "bob")
    contacts.register_phone(session, project, bob, "+17035550101")
    session.commit()
    fake_twilio.answer_next(twilio_error(400, 21610, "Attempt to send to unsubscribed recipient"))
    first = chat.send_chat_message(session, project.id, marie.id, agent.id, "Clinic moved to Friday").id
    to_bob = chat.send_chat_message(session, project.id, bob.id, agent.id, "Clinic moved to Friday").id
    session.commit()
    worker = _worker(tmp_path)
    try:
        wait_until(lambda: _status(session, first) == "failed" and _status(session, to_bob) == "sent", 60,
                   "the worker to record both answers")
    finally:
        worker.terminate()
        worker.wait(10)
    assert _phone(session).opted_out
    [event] = _events(session)
    assert (event.e164, event.change, event.source, event.detail, event.message_id) == (
        MARIE, "opted_out", "twilio", "21610", first)
    # The next message is refused before anything is queued, in the chat's words.
    with pytest.raises(OptedOut, match="opted out"):
        chat.send_chat_message(session, project.id, marie.id, agent.id, "Are you there?")
    session.rollback()

    # A status callback with ErrorCode 21610 does the same for the other number.
    session.get(Message, to_bob).gateway_message_id = "SMbob"
    session.commit()
    form = {"MessageSid": "SMbob", "MessageStatus": "failed", "ErrorCode": "21610"}
    assert _signed_status(webhook_server, form).status_code == 200
    assert _signed_status(webhook_server, form).status_code == 200  # Twilio retries: recorded once
    assert _phone(session, "+17035550101").opted_out
    events = _events(session)
    assert [(e.e164, e.change, e.source, e.message_id) for e in events[1:]] == [
        ("+17035550101", "opted_out", "twilio", to_bob)]
    line = chat.get_history(session, project.id, bob.id)[-1]
    assert line.status == "failed" and line.error.startswith("[21610] The recipient has opted out")
    assert "START" in line.error  # Twilio's words, then what staff can do


def test_a_number_that_opts_out_after_queueing_is_refused_by_the_worker_without_calling_twilio(
        twilio_env, fake_twilio, session, project, agent, marie, clock):
    from smschat.gateways import get_gateway
    from smschat.messaging import worker

    mid = chat.send_chat_message(session, project.id, marie.id, agent.id, "Reminder").id
    session.commit()
    number_facts.set_fact(session, project.id, MARIE, number_facts.LANDLINE, number_facts.TWILIO, "30006")
    session.commit()
    worker.run_once(get_gateway(), clock=clock)
    assert fake_twilio.requests == []
    session.expire_all()
    msg = session.get(Message, mid)
    assert (msg.status, msg.error_code) == ("failed", "30006") and "landline" in msg.error_message


@pytest.mark.parametrize(("code", "fact", "label", "past"), [
    ("21211", "invalid", "invalid number", "marked as an invalid number"),
    ("21614", "not_mobile", "not a mobile number", "marked as not a mobile number"),
    ("30006", "landline", "landline", "marked as a landline or unreachable"),
])
def test_carrier_errors_mark_the_number_and_staff_can_allow_it_again(session, project, agent, marie, code, fact, label,
                                                                      past):
    message = outbox.enqueue(session, project, marie, "Hello", workflow="chat")
    outbox.claim_batch(session, "w1")
    from smschat.gateways import SendResult

    outbox.record_send_result(session, message.id, SendResult.failure(code, "Twilio's words", retryable=False))
    session.commit()
    assert _phone(session).fact == fact
    me = Actor.web(agent.id)
    page = contacts.browse(session, me, project.id)
    assert [number_facts.label(r.opted_out, r.fact) for r in page.rows] == [label]
    status = number_facts.number_status(session, me, project.id, marie.id)
    assert status.blocked.fact == fact and status.can_allow_again
    assert status.latest.startswith(past) and status.latest.endswith(f": Twilio answered error {code}")
    with pytest.raises(NumberBlocked, match=code):
        chat.send(session, me, project.id, marie.id, "Still there?")
    session.rollback()
    # A broadcast skips the number (counted with the opted-out ones).
    from smschat.automation import groups

    assert groups.count_recipients(session, project.id, {"kind": "mobile_workers"}) == 0

    assert number_facts.allow_again(session, me, project.id, marie.id).startswith("Messages to")
    session.commit()
    assert _phone(session).fact is None
    assert chat.send(session, me, project.id, marie.id, "Still there?").status == Status.QUEUED.value
    session.commit()
    assert [(e.change, e.source, e.user_id) for e in _events(session)] == [
        (fact, "twilio", None), ("cleared", "staff", agent.id)]


def test_stop_and_start_are_kept_with_their_message_and_the_chat_shows_the_latest(session, project, agent, marie):
    from datetime import UTC, datetime

    stop = inbound.receive_sms(session, project, MARIE, " stop ",
                               received_at=datetime(2026, 12, 1, 22, 23, tzinfo=UTC)).message
    session.commit()
    me = Actor.web(agent.id)
    status = number_facts.number_status(session, me, project.id, marie.id)
    # The seed's timestamp, in the project's time zone (New York: 5:23 pm).
    assert status.latest == "opted out 05:23pm 12/01/26 by replying STOP"
    assert status.blocked.fact == "opted_out" and not status.can_allow_again
    # Staff cannot lift an opt-out: only the contact's START does.
    assert number_facts.allow_again(session, me, project.id, marie.id).startswith("No carrier error")
    assert _phone(session).opted_out
    start = inbound.receive_sms(session, project, MARIE, "START").message
    session.commit()
    status = number_facts.number_status(session, me, project.id, marie.id)
    assert status.blocked is None and status.latest.startswith("opted back in ") and status.latest.endswith(
        "by replying START")
    assert [(e.change, e.source, e.detail, e.message_id) for e in _events(session)] == [
        ("opted_out", "reply", "STOP", stop.id), ("opted_in", "reply", "START", start.id)]
    # YES from a number that never opted out is an ordinary reply: nothing recorded.
    inbound.receive_sms(session, project, MARIE, "yes")
    session.commit()
    assert len(_events(session)) == 2


def test_an_import_with_an_opted_out_column_opts_numbers_out_and_never_back_in(session, project, sam):
    me = Actor.web(sam.id)
    text = "type,name,phone,opted_out\ncase,Ana,+254700000001,yes\ncase,Ben,+254700000002,\n"
    report = imports.import_csv(session, me, project.id, text)
    session.commit()
    assert (report.created, report.errors) == (2, [])
    assert _phone(session, "+254700000001").opted_out and not _phone(session, "+254700000002").opted_out
    ana = session.scalar(select(PhoneNumber).where(PhoneNumber.e164 == "+254700000001")).contact
    assert "opted_out" not in ana.case_properties
    # Again: unchanged. And "no" does not opt Ana back in: only her START does.
    again = imports.import_csv(session, me, project.id, text.replace(",yes", ",no").replace("Ben,+254700000002,",
                                                                                            "Ben,+254700000002,yes"))
    session.commit()
    assert (again.unchanged, again.updated) == (1, 1)
    assert _phone(session, "+254700000001").opted_out and _phone(session, "+254700000002").opted_out
    assert [(e.e164, e.change, e.source, e.user_id) for e in _events(session)] == [
        ("+254700000001", "opted_out", "import", sam.id), ("+254700000002", "opted_out", "import", sam.id)]


def test_the_consent_record_csv_is_guarded_and_audited(session, project, sam):
    evil = contacts.create_contact(session, project, "case", "=HYPERLINK(\"http://x\")")
    contacts.register_phone(session, project, evil, "+17035550102")
    session.commit()
    inbound.receive_sms(session, project, "+17035550102", "STOP")
    session.commit()
    data = consent.consent_csv(session, Actor.web(sam.id), project.id, username="sam")
    session.commit()
    rows = list(csv.reader(io.StringIO(data.decode())))
    assert rows[0] == list(consent.HEADER)
    [row] = rows[1:]
    assert row[1:] == ["+17035550102", "'=HYPERLINK(\"http://x\")", "opted out", "reply", "STOP", "STOP", ""]
    assert row[0][-5:] in ("-0500", "-0400")  # the project's time zone (New York)
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == audit.EXPORT)).one()
    assert (event.username, event.detail["what"], event.detail["rows"]) == ("sam", "consent record", 1)
    # The command line's export is audited as such.
    consent.consent_csv(session, OPERATOR, project.id)
    session.commit()
    assert session.scalars(select(AuditEvent.detail).where(AuditEvent.action == audit.EXPORT)
                           .order_by(AuditEvent.id)).all()[-1]["via"] == "command line"
