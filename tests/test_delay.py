"""Delay Automated SMS: window edges, a conversation going on and after it goes quiet,
chat never delayed, 7-day expiry; and the worker honouring it."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from smschat.accounts import projects
from smschat.automation import delay
from smschat.automation import runner as automation
from smschat.chat import window as chat
from smschat.gateways.loopback.sender import LoopbackGateway
from smschat.messaging import inbound, outbox, worker
from smschat.models import Message, Workflow


# The test project is in America/New_York; 2026-11-25 is a Wednesday (EST, UTC-5).
def local(hh, mm=0, day=25):
    return datetime(2026, 11, day, hh, mm, tzinfo=ZoneInfo("America/New_York")).astimezone(UTC)


RULE = {"enabled": True, "conversation_minutes": 10,
        "windows": [{"day": "wed", "start": "09:00", "end": "17:00"}, {"day": "every", "start": "20:00", "end": None}]}


@pytest.fixture
def rule(session, project):
    projects.get_chat_settings(session, project.id).delay_automated_sms = RULE
    session.commit()
    return RULE


@pytest.mark.parametrize("at, inside", [
    (local(8, 59), False), (local(9, 0), True), (local(16, 59), True), (local(17, 0), False),
    (local(19, 59), False), (local(20, 0), True), (local(23, 59), True),
    (local(10, 0, day=26), False),  # Thursday: only the every-day window
])
def test_window_edges_start_inclusive_end_exclusive_in_local_time(at, inside):
    assert delay.in_window(RULE, "America/New_York", at) is inside


def test_a_disabled_rule_has_no_window():
    assert not delay.in_window({"enabled": False, "windows": RULE["windows"]}, "America/New_York", local(10))


def _reminder(session, project, marie, at):
    return delay.enqueue_automated(session, project, marie, "Your visit is tomorrow", workflow=Workflow.REMINDER,
                                   phone_number="+17033996500", now=at)


def test_an_automated_message_waits_during_a_conversation_and_goes_when_it_is_quiet(session, project, marie, rule):
    inbound.receive_sms(session, project, "+17033996500", "hello, a question", received_at=local(10, 0))
    message = _reminder(session, project, marie, local(10, 5))
    assert message.next_attempt_at == local(10, 6)  # held at once: the contact wrote 5 minutes ago
    assert outbox.claim_batch(session, "w", now=local(10, 5, )) == []
    session.commit()
    # The chat says why the System message is still queued.
    line = chat.get_history(session, project.id, marie.id)[-1]
    assert (line.status, line.error) == ("queued", delay.HELD_REASON)
    # Still talking at 10:09: held again a minute on.
    assert automation.run_due(session, local(10, 6))["held"] == 1
    inbound.receive_sms(session, project, "+17033996500", "one more thing", received_at=local(10, 8))
    assert automation.run_due(session, local(10, 9))["held"] == 1
    assert automation.run_due(session, local(10, 10))["held"] == 1
    # Quiet for 10 minutes after 10:08 -> not held at 10:18; the worker may claim it.
    assert automation.run_due(session, local(10, 18))["held"] == 0
    assert outbox.claim_batch(session, "w", now=local(10, 18)) == [message.id]


def test_outside_the_window_nothing_waits(session, project, marie, rule):
    inbound.receive_sms(session, project, "+17033996500", "hello", received_at=local(17, 0))
    message = _reminder(session, project, marie, local(17, 1))
    assert message.next_attempt_at is None
    assert automation.run_due(session, local(17, 1))["held"] == 0


def test_survey_answers_and_keywords_are_not_a_conversation(session, project, marie, rule):
    reply = inbound.receive_sms(session, project, "+17033996500", "42", received_at=local(10, 0)).message
    reply.workflow = Workflow.SURVEY.value
    session.flush()
    assert _reminder(session, project, marie, local(10, 2)).next_attempt_at is None


def test_chat_messages_are_never_delayed(session, project, marie, agent, rule):
    inbound.receive_sms(session, project, "+17033996500", "hello", received_at=local(10, 0))
    message = chat.send_chat_message(session, project.id, marie.id, agent.id, "Hi marie")
    message.created_at = local(10, 1)
    session.flush()
    assert automation.run_due(session, local(10, 1))["held"] == 0
    assert outbox.claim_batch(session, "w", now=local(10, 1)) == [message.id]


def test_a_message_held_for_7_days_ends_expired_with_a_visible_reason(session, project, marie, rule):
    message = _reminder(session, project, marie, local(10, 0))
    week = timedelta(days=7)  # Wednesday again, one week later
    inbound.receive_sms(session, project, "+17033996500", "still chatting", received_at=local(9, 58) + week)
    assert automation.run_due(session, local(9, 59) + week)["held"] == 1
    assert automation.run_due(session, local(10, 0) + week)["expired"] == 1
    assert (message.status, message.error_code) == ("expired", "delay-expired")
    [line, _] = chat.get_history(session, project.id, marie.id, after_id=message.id - 1)
    assert line.sender == "System" and "held by Delay Automated SMS for more than 7 days" in line.error


def test_the_worker_holds_and_later_sends(session, db_url, project, marie, rule):
    now = datetime.now(UTC)
    # A window around now, whatever time the test runs.
    projects.get_chat_settings(session, project.id).delay_automated_sms = {
        "enabled": True, "conversation_minutes": 5, "windows": [{"day": "every", "start": "00:00", "end": None}]}
    inbound.receive_sms(session, project, "+17033996500", "hello")
    message = _reminder(session, project, marie, now)
    session.commit()
    assert worker.run_once(LoopbackGateway(), url=db_url) == 0
    session.expire_all()
    held = session.get(Message, message.id)
    assert held.status == "queued" and held.next_attempt_at > now
