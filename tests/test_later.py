"""Send later and quiet hours: scheduled chat messages go when due (DST-correct, in the project's
time zone), quiet hours move scheduled and automated messages to the next allowed minute and
say so, and opt-out is checked at the time of sending. The worker runs on a ManualClock."""

from datetime import UTC, date, datetime, time

import pytest

from smschat.accounts import projects
from smschat.accounts.actor import Actor
from smschat.automation import delay
from smschat.chat import settings
from smschat.chat import window as chat
from smschat.clock import ManualClock
from smschat.errors import MessageNotFound, OptedOut, ValidationError
from smschat.gateways.loopback.sender import LoopbackGateway
from smschat.messaging import inbound, later, worker
from smschat.models import AuditEvent, Message

NY = "America/New_York"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _run(db_url, clock) -> int:
    return worker.run_once(LoopbackGateway(), url=db_url, clock=clock)


def _get(session, message_id) -> Message:
    session.commit()  # a new snapshot: the worker wrote in its own transactions
    session.expire_all()
    return session.get(Message, message_id)


def _quiet(session, project, text="21:00-07:00") -> None:
    projects.get_chat_settings(session, project.id).quiet_hours = text
    session.commit()


def test_a_scheduled_message_waits_for_its_time_then_the_worker_sends_it(session, db_url, project, agent, marie):
    clock = ManualClock(utc(2026, 12, 3, 15, 0))  # 10:00am in New York
    done = later.schedule_message(session, Actor.web(agent.id), project.id, marie.id, "Clinic at 5",
                                  date(2026, 12, 3), time(17, 0), now=clock.now())
    session.commit()
    assert done.scheduled_for == utc(2026, 12, 3, 22, 0) and done.note == "Scheduled for 05:00pm 12/03/26."
    # In the thread: a queued message whose status line says when it goes.
    [line] = chat.get_history(session, project.id, marie.id, now=clock.now())
    assert (line.sender, line.status, line.error) == ("Amy", "queued", "Scheduled for 05:00pm 12/03/26.")
    [waiting] = later.scheduled_messages(session, Actor.web(agent.id), project.id, marie.id, now=clock.now())
    assert waiting.when == "scheduled for 05:00pm 12/03/26" and waiting.local_time == time(17, 0)

    clock.advance(7 * 3600 - 60)  # 04:59pm
    assert _run(db_url, clock) == 0
    clock.advance(60)
    assert _run(db_url, clock) == 1
    sent = _get(session, done.message_id)
    assert (sent.status, sent.error_message, sent.sent_at) == ("delivered", None, utc(2026, 12, 3, 22, 0))
    assert later.scheduled_messages(session, Actor.web(agent.id), project.id, marie.id, now=clock.now()) == []


def test_a_message_waiting_for_its_time_holds_back_nothing_sent_after_it(session, db_url, project, agent, marie):
    clock = ManualClock(utc(2026, 12, 3, 15, 0))
    later.schedule_message(session, Actor.web(agent.id), project.id, marie.id, "Tomorrow's reminder",
                           date(2026, 12, 4), time(9, 0), now=clock.now())
    live = chat.send(session, Actor.web(agent.id), project.id, marie.id, "Right now")
    session.commit()
    assert _run(db_url, clock) == 1
    assert _get(session, live.id).status == "delivered"


@pytest.mark.parametrize("day,wall,expected,words", [
    # Spring forward in New York: 02:00 -> 03:00 on March 8, 2026. 02:30 does not exist.
    (date(2026, 3, 8), time(2, 30), utc(2026, 3, 8, 7, 30), "02:30am on 03/08/26 does not exist"),
    # The day after the change: 09:00 is 09:00 EDT, one hour less after UTC than the day before.
    (date(2026, 3, 9), time(9, 0), utc(2026, 3, 9, 13, 0), ""),
    (date(2026, 3, 7), time(9, 0), utc(2026, 3, 7, 14, 0), ""),
    # Fall back: 01:30 on November 1, 2026 happens twice: the first one (EDT) unless asked.
    (date(2026, 11, 1), time(1, 30), utc(2026, 11, 1, 5, 30), "01:30am happens twice on 11/01/26"),
])
def test_scheduling_across_a_dst_change_is_in_local_time_and_explained(session, project, agent, marie,
                                                                        day, wall, expected, words):
    done = later.schedule_message(session, Actor.web(agent.id), project.id, marie.id, "Hi", day, wall,
                                  now=utc(2026, 3, 1, 12, 0))
    assert done.scheduled_for == expected == done.sends_at
    if words:
        assert words in done.note
    else:
        assert done.note.startswith("Scheduled for") and "exist" not in done.note and "twice" not in done.note


def test_the_second_of_a_repeated_local_time_can_be_chosen(session, project, agent, marie):
    done = later.schedule_message(session, Actor.web(agent.id), project.id, marie.id, "Hi", date(2026, 11, 1),
                                  time(1, 30), second=True, now=utc(2026, 10, 1))
    assert done.scheduled_for == utc(2026, 11, 1, 6, 30)
    assert "the second one, EST" in done.note


def test_a_message_scheduled_in_the_spring_gap_is_sent_at_0330_new_time(session, db_url, project, agent, marie):
    clock = ManualClock(utc(2026, 3, 8, 6, 0))  # 01:00am EST
    done = later.schedule_message(session, Actor.web(agent.id), project.id, marie.id, "Night shift", date(2026, 3, 8),
                                  time(2, 30), now=clock.now())
    session.commit()
    clock.advance(89 * 60)  # 07:29 UTC = 03:29am EDT
    assert _run(db_url, clock) == 0
    clock.advance(60)
    assert _run(db_url, clock) == 1
    assert _get(session, done.message_id).sent_at == utc(2026, 3, 8, 7, 30)


def test_quiet_hours_move_a_scheduled_message_to_their_end_and_say_so(session, db_url, project, agent, marie):
    _quiet(session, project)
    clock = ManualClock(utc(2026, 12, 3, 15, 0))
    done = later.schedule_message(session, Actor.web(agent.id), project.id, marie.id, "Late note",
                                  date(2026, 12, 3), time(22, 30), now=clock.now())
    session.commit()
    assert done.scheduled_for == utc(2026, 12, 4, 3, 30) and done.sends_at == utc(2026, 12, 4, 12, 0)
    assert "inside quiet hours: it will be sent at 07:00am 12/04/26" in done.note
    [line] = chat.get_history(session, project.id, marie.id, now=clock.now())
    assert line.error == "Scheduled for 10:30pm 12/03/26; Held by quiet hours until 07:00am 12/04/26."
    clock.advance(21 * 3600 - 60)  # 06:59am the next morning
    assert _run(db_url, clock) == 0
    clock.advance(60)
    assert _run(db_url, clock) == 1
    assert _get(session, done.message_id).sent_at == utc(2026, 12, 4, 12, 0)


def test_quiet_hours_set_after_scheduling_hold_the_message_when_it_falls_due(session, db_url, project, agent, marie):
    clock = ManualClock(utc(2026, 12, 3, 15, 0))
    done = later.schedule_message(session, Actor.web(agent.id), project.id, marie.id, "Late note",
                                  date(2026, 12, 3), time(22, 30), now=clock.now())
    session.commit()
    _quiet(session, project)
    clock.advance(12 * 3600 + 30 * 60)  # 10:30pm: due, but quiet
    assert _run(db_url, clock) == 0
    held = _get(session, done.message_id)
    assert held.status == "queued" and held.next_attempt_at == utc(2026, 12, 4, 12, 0)
    assert held.error_message.endswith("Held by quiet hours until 07:00am 12/04/26.")


def test_quiet_hours_hold_automated_messages_but_never_live_chat(session, db_url, project, agent, marie):
    _quiet(session, project)
    clock = ManualClock(utc(2026, 12, 4, 4, 0))  # 11:00pm local
    reminder = delay.enqueue_automated(session, project, marie, "Weekly meeting tomorrow", workflow="reminder",
                                       phone_number="+17033996500", now=clock.now())
    live = chat.send(session, Actor.web(agent.id), project.id, marie.id, "Are you still up?")
    session.commit()
    assert _run(db_url, clock) == 1  # the chat message only, at once
    assert _get(session, live.id).status == "delivered"
    held = _get(session, reminder.id)
    assert held.status == "queued" and held.error_message == "Held by quiet hours until 07:00am 12/04/26."
    [first, _] = chat.get_history(session, project.id, marie.id, now=clock.now())
    assert first.sender == "System" and first.error == "Held by quiet hours until 07:00am 12/04/26."
    clock.advance(8 * 3600)  # 07:00am
    assert _run(db_url, clock) == 1
    sent = _get(session, reminder.id)
    assert (sent.status, sent.error_message, sent.sent_at) == ("delivered", None, utc(2026, 12, 4, 12, 0))


@pytest.mark.parametrize("at,until", [
    (utc(2026, 12, 3, 1, 59), None),  # 08:59pm: not yet
    (utc(2026, 12, 3, 2, 0), utc(2026, 12, 3, 12, 0)),  # 09:00pm: quiet until 07:00am (start inclusive)
    (utc(2026, 12, 3, 11, 59), utc(2026, 12, 3, 12, 0)),  # 06:59am
    (utc(2026, 12, 3, 12, 0), None),  # 07:00am: allowed (end exclusive)
    # The night clocks jump forward (March 8): 21:00 EST -> 07:00 EDT is 9 hours.
    (utc(2026, 3, 8, 2, 0), utc(2026, 3, 8, 11, 0)),
    # The night clocks go back (November 1): 21:00 EDT -> 07:00 EST is 11 hours.
    (utc(2026, 11, 1, 1, 0), utc(2026, 11, 1, 12, 0)),
])
def test_quiet_hours_across_midnight_and_dst_changes(at, until):
    assert later.quiet_until(later.parse_quiet_hours("21:00-07:00"), NY, at) == until


def test_quiet_hours_ending_inside_the_spring_gap_end_at_the_change():
    # 00:00-02:30 on March 8: 02:30 never shows on the clock; 03:00 EDT is the first minute after.
    assert later.quiet_until(later.parse_quiet_hours("00:00-02:30"), NY, utc(2026, 3, 8, 6, 30)) == utc(2026, 3, 8, 7, 0)


def test_quiet_hours_setting_is_validated_and_off_by_default(session, project, sam):
    assert settings.load_settings(session, Actor.web(sam.id), project.id)["quiet_hours"] == ""
    with pytest.raises(settings.SettingsInvalid) as error:
        settings.update_settings(session, Actor.web(sam.id), project.id, {"quiet_hours": "21:00-21:00"})
    assert "must differ" in error.value.errors["quiet_hours"]
    changed = settings.update_settings(session, Actor.web(sam.id), project.id, {"quiet_hours": " 21:00 - 7:00 "})
    assert changed == ["quiet_hours"]
    [row] = settings.settings_history(session, Actor.web(sam.id), project.id)
    assert (row.setting, row.old_value, row.new_value) == ("Quiet hours", "Off", "21:00-07:00")


def test_a_number_that_opts_out_before_the_time_is_never_sent_to(session, db_url, project, agent, marie):
    clock = ManualClock(utc(2026, 12, 3, 15, 0))
    done = later.schedule_message(session, Actor.web(agent.id), project.id, marie.id, "See you at 5",
                                  date(2026, 12, 3), time(17, 0), now=clock.now())
    session.commit()
    inbound.receive_sms(session, project, "+17033996500", "STOP", received_at=clock.now())
    session.commit()
    clock.advance(7 * 3600)
    _run(db_url, clock)
    message = _get(session, done.message_id)
    assert (message.status, message.error_code, message.sent_at, message.gateway_message_id) == (
        "failed", "21610", None, None)
    # Scheduling to an opted-out number is refused at once.
    with pytest.raises(OptedOut):
        later.schedule_message(session, Actor.web(agent.id), project.id, marie.id, "Again",
                               date(2026, 12, 4), time(9, 0), now=clock.now())


def test_edit_and_cancel_until_the_message_goes_out(session, db_url, project, agent, sam, marie):
    clock = ManualClock(utc(2026, 12, 3, 15, 0))
    amy, sam_ = Actor.web(agent.id), Actor.web(sam.id)
    first = later.schedule_message(session, amy, project.id, marie.id, "Clinic at 5", date(2026, 12, 3), time(17, 0),
                                   now=clock.now())
    second = later.schedule_message(session, amy, project.id, marie.id, "Bring the card", date(2026, 12, 3),
                                    time(18, 0), now=clock.now())
    session.commit()
    # Another web user on the same contact edits it: text and time.
    edited = later.edit_scheduled(session, sam_, project.id, first.message_id, "Clinic at 4 ł", date(2026, 12, 3),
                                  time(16, 0), now=clock.now())
    assert edited.scheduled_for == utc(2026, 12, 3, 21, 0)
    message = _get(session, first.message_id)
    assert (message.body, message.encoding, message.sent_by_id) == ("Clinic at 4 ł", "UCS-2", agent.id)
    assert later.cancel_scheduled(session, amy, project.id, second.message_id, now=clock.now()) == \
        "Cancelled the message scheduled for 06:00pm 12/03/26."
    session.commit()
    assert session.get(Message, second.message_id) is None
    assert [line.body for line in chat.get_history(session, project.id, marie.id, now=clock.now())] == ["Clinic at 4 ł"]
    assert session.get(type(marie), marie.id).last_message_id == first.message_id
    actions = [e.action for e in session.query(AuditEvent).order_by(AuditEvent.id) if "sched" in e.action]
    assert actions == ["message_scheduled", "message_scheduled", "schedule_changed", "schedule_cancelled"]
    # In the past, or empty: refused, nothing changes.
    with pytest.raises(ValidationError, match="has already passed"):
        later.edit_scheduled(session, amy, project.id, first.message_id, "x", date(2026, 12, 3), time(9, 0),
                             now=clock.now())
    with pytest.raises(ValidationError):
        later.schedule_message(session, amy, project.id, marie.id, "  ", date(2026, 12, 4), time(9, 0), now=clock.now())
    session.rollback()
    clock.advance(6 * 3600)
    assert _run(db_url, clock) == 1
    with pytest.raises(ValidationError, match="already gone out"):
        later.cancel_scheduled(session, amy, project.id, first.message_id, now=clock.now())
    with pytest.raises(MessageNotFound):
        later.cancel_scheduled(session, amy, project.id, second.message_id, now=clock.now())
