"""The real `twilio` client, driven by the worker, against a local fake Twilio API.

The worker runs on a ManualClock: backoffs and the sender's pace are waited out at once, and
the rate is checked on the clock's own times, so no test here waits on the real clock (only
the Twilio client's own HTTP timeout is real)."""

from datetime import timedelta
from itertools import pairwise

import pytest
from sqlalchemy import func, select, update

from smschat.chat import window as chat
from smschat.config import get_settings
from smschat.errors import ConfigError
from smschat.gateways import get_gateway
from smschat.gateways.twilio.check import check_settings
from smschat.gateways.twilio.errors import ADVICE
from smschat.gateways.twilio.fake import twilio_error
from smschat.messaging import outbox, ratelimit, worker
from smschat.models import Message, utcnow
from smschat.people import contacts

from .conftest import PUBLIC_URL, TWILIO_SID
from .waiting import wait_until


def _send(session, project, agent, contact, body="Did you complete your supervisions today?"):
    message = chat.send_chat_message(session, project.id, contact.id, agent.id, body)
    session.commit()
    return message.id


class _Timed:
    """The configured gateway, noting the clock's time as each send starts."""

    def __init__(self, clock, starts):
        self.gateway, self.clock, self.starts = get_gateway(), clock, starts
        self.name, self.rate_limited = self.gateway.name, self.gateway.rate_limited

    def sender_key(self, sms):
        return self.gateway.sender_key(sms)

    def send(self, sms):
        self.starts.append((sms.body, self.clock.monotonic()))
        return self.gateway.send(sms)


def _drain(clock, rounds=1):
    gateway = get_gateway()
    for _ in range(rounds):
        worker.run_once(gateway, clock=clock)


def _drain_until_sent(session, clock, count, starts=None, rounds=500):
    """Run worker rounds as the worker's loop does (an empty round idles until the next
    message falls due) until `count` messages went out."""
    gateway = _Timed(clock, [] if starts is None else starts)
    poll = get_settings().worker_poll_seconds
    for _ in range(rounds):
        if not worker.run_once(gateway, clock=clock):
            clock.sleep(worker.idle_seconds(poll, clock=clock))
        session.rollback()
        if session.scalar(select(func.count()).select_from(Message).where(Message.status == "sent")) >= count:
            return
    raise AssertionError(f"fewer than {count} messages went out in {rounds} rounds")


def _message(session, mid):
    session.rollback()
    return session.get(Message, mid, populate_existing=True)


def test_a_chat_message_goes_out_through_twilio_with_a_status_callback(twilio_env, fake_twilio, session, project, agent, marie, clock):
    mid = _send(session, project, agent, marie, "Did you complete your supervisions today? " * 4)
    _drain(clock)
    [seen] = fake_twilio.requests
    assert seen.account == TWILIO_SID
    assert seen.form["To"] == "+17033996500"
    assert seen.form["From"] == "+15005550006"  # the project's sender number
    assert seen.form["Body"].startswith("Did you complete")
    assert seen.form["StatusCallback"] == f"{PUBLIC_URL}/twilio/status"
    msg = _message(session, mid)
    assert msg.status == "sent" and msg.gateway == "twilio"
    assert msg.gateway_message_id.startswith("SM") and msg.segments == 2


def test_a_messaging_service_replaces_the_sender_number(twilio_env, fake_twilio, session, project, agent, marie, monkeypatch, clock):
    monkeypatch.setenv("TWILIO_MESSAGING_SERVICE_SID", "MG" + "1" * 32)
    get_settings.cache_clear()
    _send(session, project, agent, marie)
    _drain(clock)
    [seen] = fake_twilio.requests
    assert seen.form["MessagingServiceSid"] == "MG" + "1" * 32 and "From" not in seen.form


@pytest.mark.parametrize(
    "code,text",
    [
        (21211, "The 'To' number +17033996500 is not a valid phone number."),
        (21610, "Attempt to send to unsubscribed recipient"),
        (21614, "'To' number is not a valid mobile number"),
        (21408, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number"),
    ],
)
def test_a_permanent_error_fails_at_once_and_the_chat_shows_why(twilio_env, fake_twilio, session, project, agent, marie, code, text, clock):
    fake_twilio.answer_next(twilio_error(400, code, text))
    mid = _send(session, project, agent, marie)
    _drain(clock, rounds=3)
    assert len(fake_twilio.requests) == 1  # never retried
    msg = _message(session, mid)
    shown = f"{text} — {ADVICE[str(code)]}"  # Twilio's words, then what staff can do
    assert (msg.status, msg.error_code, msg.error_message, msg.attempts) == ("failed", str(code), shown, 1)
    [line] = chat.get_history(session, project.id, marie.id)
    assert line.status == "failed" and line.error == f"[{code}] {shown}"


def test_too_many_requests_is_retried_with_backoff_then_sent(twilio_env, fake_twilio, session, project, agent, marie, clock):
    fake_twilio.answer_next(twilio_error(429, 20429, "Too Many Requests"))
    mid = _send(session, project, agent, marie)
    _drain(clock)
    msg = _message(session, mid)
    assert (msg.status, msg.error_code) == ("queued", "20429") and msg.next_attempt_at > msg.created_at
    _drain_until_sent(session, clock, 1)  # after the backoff, and the sender's next slot
    msg = _message(session, mid)
    assert (msg.status, msg.attempts, msg.error_code) == ("sent", 2, None)
    assert len(fake_twilio.requests) == 2


def test_a_server_error_forever_is_retried_up_to_the_cap_then_failed(twilio_env, fake_twilio, session, project, agent, marie, monkeypatch, clock):
    monkeypatch.setenv("SMSCHAT_MAX_SEND_ATTEMPTS", "3")
    get_settings.cache_clear()
    project.rate_limit = 0  # the retries are under test here, not the sender's pace
    fake_twilio.answer_next(*[twilio_error(500, None, "Internal Server Error")] * 10)
    mid = _send(session, project, agent, marie)
    for _ in range(6):
        _drain(clock)
        clock.sleep(0.06)
    msg = _message(session, mid)
    assert (msg.status, msg.attempts, msg.error_code) == ("failed", 3, "500")
    assert len(fake_twilio.requests) == 3


def test_a_read_timeout_is_never_resent_and_is_found_in_twilios_list(twilio_env, fake_twilio, session, project, agent, marie, clock):
    fake_twilio.delay = 1.5  # the client gives up after 1 s; Twilio makes the message anyway
    mid = _send(session, project, agent, marie)
    _drain(clock)
    msg = _message(session, mid)
    assert (msg.status, msg.attempts) == ("unknown", 1) and "ReadTimeout" in msg.error_message
    wait_until(lambda: len(fake_twilio.messages) == 1, 10, "Twilio to make the message")
    clock.sleep(get_settings().reconcile_every_seconds)
    _drain(clock, rounds=3)
    msg = _message(session, mid)
    assert (msg.status, msg.error_message) == ("sent", None)
    assert msg.gateway_message_id == fake_twilio.messages[0]["sid"]
    assert len(fake_twilio.requests) == 1  # sent exactly once


def test_a_reset_after_sending_is_unknown_then_found(twilio_env, fake_twilio, session, project, agent, marie, clock):
    fake_twilio.fail_next("reset")
    mid = _send(session, project, agent, marie)
    _drain(clock)
    assert _message(session, mid).status == "unknown"
    _drain(clock)  # the next round looks it up
    msg = _message(session, mid)
    assert (msg.status, msg.gateway_message_id) == ("sent", fake_twilio.messages[0]["sid"])
    assert len(fake_twilio.requests) == 1


def test_a_lost_send_twilio_never_made_says_retry_is_safe_after_the_grace_period(
        twilio_env, fake_twilio, session, project, agent, marie, clock):
    mid = _send(session, project, agent, marie)
    _drain(clock)
    fake_twilio.messages.clear()  # as if the request never reached Twilio
    session.rollback()
    session.execute(update(Message).where(Message.id == mid).values(status="unknown", gateway_message_id=None,
                                                                    error_message="lost"))
    session.commit()
    _drain(clock)
    assert _message(session, mid).error_message == "lost"  # not found yet: asked again later
    clock.sleep(get_settings().reconcile_grace_seconds)
    _drain(clock)
    msg = _message(session, mid)
    assert (msg.status, msg.error_message) == ("unknown", "Twilio has no record of this message; Retry is safe.")
    [line] = chat.get_history(session, project.id, marie.id)
    assert line.status == "unknown" and "Retry is safe" in line.error
    assert len(fake_twilio.requests) == 1  # never re-sent by itself


def test_a_refused_connection_is_retried_since_nothing_reached_twilio(twilio_env, session, project, agent, marie, monkeypatch, clock):
    from .conftest import free_port

    monkeypatch.setenv("SMSCHAT_TWILIO_API_URL", f"http://127.0.0.1:{free_port()}")
    get_settings.cache_clear()
    mid = _send(session, project, agent, marie)
    _drain(clock)
    msg = _message(session, mid)
    assert msg.status == "queued" and "Connection refused" in msg.error_message


def test_nothing_goes_to_a_number_that_opted_out_after_the_message_was_queued(twilio_env, fake_twilio, session, project, agent, marie, clock):
    mid = _send(session, project, agent, marie)
    marie.phone_numbers[0].opted_out = True
    session.commit()
    _drain(clock)
    assert fake_twilio.requests == []
    msg = _message(session, mid)
    assert msg.status == "failed" and "opted out" in msg.error_message


def test_the_sender_rate_is_kept_in_segments(twilio_env, fake_twilio, session, project, agent, marie, clock):
    project.rate_limit = 2.0  # segments per second
    others = []
    for i in range(3):
        c = contacts.create_contact(session, project, "case", f"case {i}")
        contacts.register_phone(session, project, c, f"+1703399660{i}")
        others.append(c)
    session.commit()
    _send(session, project, agent, others[0], "x" * 400)  # 3 segments: the next waits 1.5 s
    _send(session, project, agent, others[1], "short")
    _send(session, project, agent, others[2], "short")
    starts = []
    _drain_until_sent(session, clock, 3, starts)
    assert len(fake_twilio.requests) == 3
    # The rate spaces the starts of the sends, on the worker's clock: 3 segments, then 1, each
    # with the margin kept under the rate.
    times = [at for _, at in starts]
    slower = 1 + get_settings().rate_margin
    assert [round(b - a, 3) for a, b in pairwise(times)] == [round(1.5 * slower, 3), round(0.5 * slower, 3)]


def test_a_busy_sender_does_not_hold_up_another_senders_messages(twilio_env, fake_twilio, session, project, agent, clock):
    from smschat.accounts import projects

    other = projects.create_project(session, "other", "Other", sender_numbers=["+15005550007"])
    busy = []
    for i in range(4):
        c = contacts.create_contact(session, project, "case", f"case {i}")
        contacts.register_phone(session, project, c, f"+1703399660{i}")
        busy.append(c)
    quiet = contacts.create_contact(session, other, "case", "quiet")
    contacts.register_phone(session, other, quiet, "+14155550100")
    session.commit()
    for c in busy:  # four messages from the first sender (1 segment/s), queued first
        _send(session, project, agent, c, f"to {c.name}")
    outbox.enqueue(session, other, quiet, "from the other sender", workflow="chat")
    session.commit()
    starts = []
    _drain_until_sent(session, clock, 5, starts)
    arrivals = dict(starts)
    senders = {r.form["Body"]: r.form["From"] for r in fake_twilio.requests}
    first = min(arrivals.values())
    # The other sender's message went out at once, not after the first sender's backlog...
    assert arrivals["from the other sender"] - first < 0.9
    assert senders["from the other sender"] == "+15005550007"
    # ...and the first sender still kept its pace: one message a second, never faster.
    busy_times = sorted(t for body, t in arrivals.items() if body.startswith("to case"))
    assert len(busy_times) == 4
    assert all(b - a >= 1.0 for a, b in pairwise(busy_times))


def test_reservations_space_sends_by_segments_across_workers(session, project):
    now = utcnow()
    first = ratelimit.reserve(session, "+15005550006", 3, 1.0, now=now)
    second = ratelimit.reserve(session, "+15005550006", 1, 1.0, now=now)
    other_sender = ratelimit.reserve(session, "+15005550007", 1, 1.0, now=now)
    assert (first, second - now, other_sender) == (now, timedelta(seconds=3), now)
    later = now + timedelta(seconds=60)  # an idle sender does not bank credit
    assert ratelimit.reserve(session, "+15005550006", 1, 1.0, now=later) == later


def test_messages_to_one_contact_leave_in_order(twilio_env, fake_twilio, session, project, agent, marie, clock):
    fake_twilio.answer_next(twilio_error(503, None, "Service Unavailable"))
    ids = [_send(session, project, agent, marie, f"message {i}") for i in range(4)]
    _drain_until_sent(session, clock, 4)
    assert fake_twilio.bodies() == [f"message {i}" for i in range(4)]
    assert {_message(session, mid).status for mid in ids} == {"sent"}


@pytest.mark.parametrize(
    "env,variable",
    [
        ({"TWILIO_ACCOUNT_SID": ""}, "TWILIO_ACCOUNT_SID"),
        ({"TWILIO_ACCOUNT_SID": "SK123"}, "TWILIO_ACCOUNT_SID"),
        ({"TWILIO_AUTH_TOKEN": ""}, "TWILIO_AUTH_TOKEN"),
        ({"SMSCHAT_PUBLIC_URL": ""}, "SMSCHAT_PUBLIC_URL"),
        ({"SMSCHAT_TWILIO_API_URL": "localhost:9"}, "SMSCHAT_TWILIO_API_URL"),
        ({"TWILIO_MESSAGING_SERVICE_SID": "PN123"}, "TWILIO_MESSAGING_SERVICE_SID"),
    ],
)
def test_a_missing_or_contradictory_setting_names_the_variable(twilio_env, monkeypatch, env, variable):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    with pytest.raises(ConfigError, match=variable):
        check_settings(get_settings())


def test_a_message_queued_before_the_projects_numbers_changed_goes_from_a_current_number(
        twilio_env, fake_twilio, session, project, agent, marie, clock):
    project.sender_numbers = ["+15005550006"]
    session.commit()
    mid = _send(session, project, agent, marie, "Queued before the change")
    assert _message(session, mid).sender == "+15005550006"
    project = session.get(type(project), project.id)
    project.sender_numbers = ["+15005550009"]
    session.commit()
    _drain(clock)
    [seen] = fake_twilio.requests
    assert seen.form["From"] == "+15005550009"
    message = _message(session, mid)
    assert (message.status, message.sender) == ("sent", "+15005550009")
    # The contact stays on the new number from now on.
    after = _send(session, project, agent, marie, "After the change")
    assert _message(session, after).sender == "+15005550009"
