"""Messages that are too late are not sent: a worker stopped for a simulated day, on an injected clock."""

from datetime import UTC, datetime, timedelta

import pytest

from smschat.accounts.actor import OPERATOR, Actor
from smschat.automation import delay
from smschat.chat import settings
from smschat.chat import window as chat
from smschat.clock import ManualClock
from smschat.gateways.loopback.sender import LoopbackGateway
from smschat.messaging import deadlines, later, outbox, stuck, worker
from smschat.models import AuditEvent, ChatSettings, Message, SettingsChange, Workflow

T0 = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # 10:00 in the project's New York


class Recording(LoopbackGateway):
    """The loopback gateway, remembering every message id it was handed."""

    def __init__(self):
        super().__init__()
        self.handed: list[int] = []

    def send(self, sms):
        self.handed.append(sms.message_id)
        return super().send(sms)


def _queue(session, project, contact, body, workflow, at, **kw) -> Message:
    if workflow == Workflow.CHAT:
        message = outbox.enqueue(session, project, contact, body, workflow=workflow, created_at=at, **kw)
    else:
        message = delay.enqueue_automated(session, project, contact, body, workflow=workflow,
                                          phone_number=contact.phone_numbers[0].e164, now=at, **kw)
    session.commit()
    return message


def _fresh(session, message_id) -> Message:
    session.expire_all()
    return session.get(Message, message_id)


def test_after_a_day_stopped_the_reminder_expires_and_the_chat_message_goes(db_url, session, project, marie):
    reminder = _queue(session, project, marie, "Your clinic visit is at 10 am today", Workflow.REMINDER, T0)
    chat_msg = _queue(session, project, marie, "Did you get the forms?", Workflow.CHAT, T0 + timedelta(hours=10))
    assert reminder.expires_at == T0 + timedelta(hours=6) and chat_msg.expires_at == T0 + timedelta(hours=34)
    gateway = Recording()
    # The worker comes back 26 hours later.
    assert worker.run_once(gateway, url=db_url, clock=ManualClock(T0 + timedelta(hours=26))) == 1
    assert gateway.handed == [chat_msg.id]
    r = _fresh(session, reminder.id)
    assert (r.status, r.error_message, r.sent_at) == ("expired", "not sent: 26 hours late", None)
    assert _fresh(session, chat_msg.id).status == "delivered"
    # Final: never sent later by itself.
    assert worker.run_once(gateway, url=db_url, clock=ManualClock(T0 + timedelta(days=3))) == 0
    assert gateway.handed == [chat_msg.id] and _fresh(session, reminder.id).status == "expired"
    # The chat window says why, in plain words.
    lines = {line.id: line for line in chat.get_history(session, project.id, marie.id, now=T0 + timedelta(days=3))}
    assert (lines[reminder.id].status, lines[reminder.id].error) == ("expired", "not sent: 26 hours late")


def test_an_expired_message_holds_back_nothing_behind_it_to_the_same_number(db_url, session, project, marie):
    late = _queue(session, project, marie, "yesterday's news", Workflow.BROADCAST, T0)
    fresh = _queue(session, project, marie, "today's chat", Workflow.CHAT, T0 + timedelta(hours=25))
    ids = outbox.claim_batch(session, "w", now=T0 + timedelta(hours=25, minutes=1))
    session.rollback()
    assert ids == [fresh.id] and late.id not in ids


def test_never_never_expires_and_a_message_claimed_just_before_its_deadline_goes(db_url, session, project, marie):
    settings.update_settings(session, OPERATOR, project.id,
                             {"deadline_broadcast": "never"}, now=T0)
    session.commit()
    forever = _queue(session, project, marie, "standing notice", Workflow.BROADCAST, T0)
    assert forever.expires_at is None
    gateway = Recording()
    assert worker.run_once(gateway, url=db_url, clock=ManualClock(T0 + timedelta(days=20))) == 1
    assert _fresh(session, forever.id).status == "delivered"
    # A reminder whose deadline is one second away when the worker claims it is sent.
    t1 = T0 + timedelta(days=21)
    just = _queue(session, project, marie, "in time", Workflow.REMINDER, t1)
    assert worker.run_once(gateway, url=db_url, clock=ManualClock(t1 + timedelta(hours=6, seconds=-1))) == 1
    assert _fresh(session, just.id).status == "delivered" and gateway.handed == [forever.id, just.id]


def _expired(db_url, session, project, marie) -> tuple[Message, Recording]:
    message = _queue(session, project, marie, "Your clinic visit is at 10 am today", Workflow.REMINDER, T0)
    gateway = Recording()
    worker.run_once(gateway, url=db_url, clock=ManualClock(T0 + timedelta(hours=26)))
    assert _fresh(session, message.id).status == "expired" and gateway.handed == []
    return message, gateway


def test_send_anyway_sends_it_exactly_once_and_is_audited(db_url, session, project, sam, marie):
    message, gateway = _expired(db_url, session, project, marie)
    now = T0 + timedelta(hours=27)
    rows = {r.id: r for r in stuck.stuck_messages(session, Actor.web(sam.id), project.id, now=now)}
    assert rows[message.id].expired and "26 hours late" in rows[message.id].reason
    done = stuck.send_anyway(session, Actor.web(sam.id), project.id, [message.id, message.id], now=now)
    session.commit()
    assert (done.done, done.words) == ([message.id], "Queued again 1 message.")
    m = _fresh(session, message.id)
    assert (m.status, m.expires_at) == ("queued", None)
    # Twice is once: it is not expired any more.
    assert stuck.send_anyway(session, Actor.web(sam.id), project.id, [message.id], now=now).done == []
    session.rollback()
    # No deadline now: a worker a week later still sends it, once.
    for days in (7, 8):
        worker.run_once(gateway, url=db_url, clock=ManualClock(now + timedelta(days=days)))
    assert gateway.handed == [message.id] and _fresh(session, message.id).status == "delivered"
    [event] = session.query(AuditEvent).filter_by(action=stuck.SENT_ANYWAY).all()
    assert (event.username, event.detail) == ("sam", {"message_ids": [message.id]})


def test_cancel_ends_it_for_good_and_is_audited(db_url, session, project, sam, marie):
    message, gateway = _expired(db_url, session, project, marie)
    now = T0 + timedelta(hours=27)
    done = stuck.cancel_expired(session, Actor.web(sam.id), project.id, [message.id], now=now)
    session.commit()
    assert done.words == "Cancelled 1 message."
    assert message.id not in {r.id for r in stuck.stuck_messages(session, Actor.web(sam.id), project.id, now=now)}
    # Cancelled: Send anyway no longer takes it, and no worker sends it.
    assert stuck.send_anyway(session, Actor.web(sam.id), project.id, [message.id], now=now).done == []
    session.rollback()
    worker.run_once(gateway, url=db_url, clock=ManualClock(now + timedelta(days=1)))
    m = _fresh(session, message.id)
    assert (m.status, gateway.handed) == ("expired", [])
    assert chat.error_words(m.status, m.error_code, m.error_message) == "not sent: 26 hours late; cancelled"
    [event] = session.query(AuditEvent).filter_by(action=stuck.CANCELLED).all()
    assert event.detail == {"message_ids": [message.id]}


def test_a_late_status_callback_does_not_move_expired(db_url, session, project, marie):
    message, _ = _expired(db_url, session, project, marie)
    m = _fresh(session, message.id)
    m.gateway_message_id = "SM-late"
    session.commit()
    for status in ("queued", "sent", "delivered", "failed", "undelivered"):
        outbox.apply_status_update(session, "SM-late", status, now=T0 + timedelta(days=2))
        session.commit()
        assert _fresh(session, message.id).status == "expired"
    # A carrier's own "expired" (its validity period) is undelivered, never our final `expired`.
    assert outbox.normalize_status("expired") == "undelivered"


def test_bulk_retry_leaves_an_expired_message_alone(db_url, session, project, sam, marie):
    message, _ = _expired(db_url, session, project, marie)
    done = stuck.retry_stuck(session, Actor.web(sam.id), project.id, [message.id], now=T0 + timedelta(hours=27))
    assert done.retried == [] and _fresh(session, message.id).status == "expired"


def test_quiet_hours_do_not_count_against_the_deadline(db_url, session, project, marie):
    settings.update_settings(session, OPERATOR, project.id, {"quiet_hours": "21:00-07:00"}, now=T0)
    session.commit()
    at = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)  # 22:00 in New York: quiet until 07:00 (12:00 UTC)
    message = _queue(session, project, marie, "Clinic tomorrow", Workflow.REMINDER, at)
    later.hold_for_quiet_hours(session, at)
    session.commit()
    m = _fresh(session, message.id)
    assert m.not_before == datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    assert (m.due_at, m.expires_at) == (m.not_before, m.not_before + timedelta(hours=6))


def test_a_reminder_fired_late_counts_from_its_slot(session, project, marie):
    slot = T0
    message = delay.enqueue_automated(session, project, marie, "visit", workflow=Workflow.REMINDER,
                                      phone_number="+17033996500", now=slot + timedelta(hours=5), meant_for=slot)
    assert (message.due_at, message.expires_at) == (slot, slot + timedelta(hours=6))


@pytest.mark.parametrize("raw, stored, words", [("never", 0, "Never"), ("Never", 0, "Never"), ("0", 0, "Never"),
                                                ("12", 12, "12 hours"), (" 48 h ", 48, "48 hours"), (720, 720, "720 hours")])
def test_deadline_settings_take_whole_hours_or_never_and_are_audited(session, project, sam, raw, stored, words):
    changed = settings.update_settings(session, Actor.web(sam.id), project.id, {"deadline_reminder": raw}, now=T0)
    session.commit()
    assert changed == ["deadline_reminder"] and session.get(ChatSettings, project.id).deadline_reminder == stored
    [row] = settings.settings_history(session, Actor.web(sam.id), project.id)
    assert (row.setting, row.old_value, row.new_value) == ("Reminder deadline (hours)", "6 hours", words)
    assert session.query(SettingsChange).one().new_value == str(stored)


@pytest.mark.parametrize("raw", ["", "1.5", "-3", "721", "tomorrow", "6 days", None])
def test_a_bad_deadline_gets_a_one_line_error_and_changes_nothing(session, project, sam, raw):
    with pytest.raises(settings.SettingsInvalid) as err:
        settings.update_settings(session, Actor.web(sam.id), project.id,
                                 {"deadline_chat": "12", "deadline_reminder": raw}, now=T0)
    assert list(err.value.errors) == ["deadline_reminder"]
    assert "\n" not in err.value.errors["deadline_reminder"]
    assert err.value.errors["deadline_reminder"].startswith("Whole hours from 1 to 720, or never")
    session.rollback()
    cs = session.get(ChatSettings, project.id)
    assert (cs.deadline_chat, cs.deadline_reminder) == (None, None)
    assert session.query(SettingsChange).count() == 0
    assert settings.current_settings(session, project.id)["deadline_reminder"] == deadlines.DEFAULT_HOURS["reminder"][1]


def test_the_log_counts_filters_and_exports_expired(db_url, session, project, sam, marie, tmp_path):
    import csv

    from smschat.log import exports, messagelog
    from smschat.log.messagelog import LogFilter

    message, _ = _expired(db_url, session, project, marie)
    analyst = Actor.web(sam.id)
    filt = LogFilter(statuses=("expired",))
    assert messagelog.count(session, analyst, project.id, filt) == 1
    assert messagelog.count(session, analyst, project.id, LogFilter(statuses=("failed",))) == 0
    result = exports.write_export(session, analyst, project.id, filt, "csv", tmp_path / "log.csv")
    with open(result.path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert result.rows == 1 and [r["Status"] for r in rows] == ["expired"]
    assert rows[0]["Message"] == "Your clinic visit is at 10 am today"
    charts = messagelog.charts(session, analyst, project.id, LogFilter())
    assert [(ok, n) for _, ok, n, _ in charts.delivery] == [(0, 1)]  # an outcome, not delivered


def test_a_message_in_flight_past_its_deadline_still_holds_the_next_one_back(db_url, session, project, marie):
    first = _queue(session, project, marie, "in time", Workflow.REMINDER, T0)
    second = _queue(session, project, marie, "next", Workflow.CHAT, T0 + timedelta(minutes=1))
    assert outbox.claim_batch(session, "w", now=T0 + timedelta(hours=6, seconds=-1)) == [first.id]
    session.commit()
    # Claimed in time, not answered yet when the deadline passes: the next one waits for it.
    assert outbox.claim_batch(session, "w", now=T0 + timedelta(hours=6, seconds=1)) == []
    session.rollback()
    assert _fresh(session, second.id).status == "queued"
