"""Stuck messages: what is listed, in what words, and what Retry may do with it."""

from datetime import UTC, datetime, timedelta

import pytest

from smschat.accounts import projects
from smschat.accounts.actor import Actor
from smschat.clock import ManualClock
from smschat.gateways.loopback.sender import LoopbackGateway
from smschat.messaging import stuck, worker
from smschat.models import AuditEvent, Direction, Message, Status, Workflow
from smschat.people import contacts

NOW = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)


def _out(session, project, contact, body, status, *, minutes_ago=60, code=None, error=None, **columns) -> Message:
    message = Message(project_id=project.id, contact_id=contact.id, phone_number=contact.phone_numbers[0].e164,
                      direction=Direction.OUT.value, body=body, status=status, workflow=Workflow.CHAT.value,
                      error_code=code, error_message=error, created_at=NOW - timedelta(minutes=minutes_ago),
                      **columns)
    session.add(message)
    session.flush()
    return message


@pytest.fixture
def outbox(session, project, marie):
    """One message of each kind, to marie and to contacts of their own (FIFO per number)."""
    people = {}
    for name in ("ann", "ben", "cat", "dan", "eve", "fay", "gus", "hal", "ian", "jo"):
        c = contacts.create_contact(session, project, "case", name)
        contacts.register_phone(session, project, c, f"+1617555{len(people):04d}")
        people[name] = c
    session.flush()
    m = {
        "opted_out": _out(session, project, people["ann"], "a", "failed", code="21610", error="opted out"),
        "handset_off": _out(session, project, people["ben"], "b", "undelivered", code="30003",
                            error="Unreachable destination handset"),
        "landline": _out(session, project, people["cat"], "c", "undelivered", code="30006", error="Landline"),
        "unknown": _out(session, project, people["dan"], "d", "unknown", error="The worker stopped"),
        "outage": _out(session, project, people["eve"], "e", "failed", error="ConnectError", attempts=8),
        "old_queued": _out(session, project, people["fay"], "f", "queued", minutes_ago=20),
        "stuck_sending": _out(session, project, people["gus"], "g", "sending", minutes_ago=30,
                              status_at=NOW - timedelta(minutes=30), claimed_by="w-dead"),
        # Not stuck: fresh, on purpose, done, incoming.
        "fresh": _out(session, project, people["hal"], "h", "queued", minutes_ago=5),
        "scheduled": _out(session, project, people["ian"], "i", "queued", minutes_ago=120,
                          scheduled_for=NOW + timedelta(hours=2), not_before=NOW + timedelta(hours=2),
                          next_attempt_at=NOW + timedelta(hours=2)),
        "delivered": _out(session, project, people["jo"], "j", "delivered"),
    }
    session.add(Message(project_id=project.id, contact_id=marie.id, phone_number="+17033996500",
                        direction=Direction.IN.value, body="hi", status=Status.RECEIVED.value,
                        created_at=NOW - timedelta(hours=3)))
    other = projects.create_project(session, "else", "Elsewhere")
    lost = contacts.create_contact(session, other, "case", "zed")
    contacts.register_phone(session, other, lost, "+16175559999")
    session.flush()
    _out(session, other, lost, "z", "failed", error="nope")
    session.commit()
    return m


def test_the_page_lists_every_stuck_message_with_its_reason_and_what_to_do(session, project, sam, outbox):
    rows = {r.id: r for r in stuck.stuck_messages(session, Actor.web(sam.id), project.id, now=NOW)}
    by_name = {name: rows.get(m.id) for name, m in outbox.items()}
    assert {n for n, r in by_name.items() if r} == {"opted_out", "handset_off", "landline", "unknown", "outage",
                                                     "old_queued", "stuck_sending"}
    assert stuck.stuck_count(session, Actor.web(sam.id), project.id, now=NOW) == 7
    assert by_name["opted_out"].reason == "The contact replied STOP." and by_name["opted_out"].retry == ""
    assert by_name["handset_off"].reason == "The phone was off or out of reach." and by_name["handset_off"].retry == "bulk"
    assert by_name["landline"].retry == "" and "mobile number" in by_name["landline"].what_to_do
    assert by_name["unknown"].retry == "confirm" and "may have been sent" in by_name["unknown"].reason
    assert by_name["outage"].retry == "bulk" and "after every retry" in by_name["outage"].reason
    assert (by_name["old_queued"].age, by_name["old_queued"].retry) == ("20 min", "bulk")
    assert "worker is running" in by_name["old_queued"].what_to_do
    assert by_name["stuck_sending"].retry == "" and by_name["stuck_sending"].reason == \
        "A worker took it 30 min ago and has not answered."
    assert by_name["outage"].age == "1 h 0 min" and by_name["outage"].timestamp == "09:00am 12/03/26"
    assert [r.id for r in rows.values()] == sorted(rows)  # oldest first


def test_bulk_retry_takes_only_the_safe_ones_and_is_audited(session, db_url, project, sam, outbox):
    every = [m.id for m in outbox.values()]
    done = stuck.retry_stuck(session, Actor.web(sam.id), project.id, every, now=NOW)
    session.commit()
    safe = {outbox[n].id for n in ("handset_off", "outage", "old_queued")}
    assert set(done.retried) == safe and set(done.skipped) == set(every) - safe
    assert done.words.startswith("Retried 3 messages.")
    session.expire_all()
    assert session.get(Message, outbox["handset_off"].id).status == "queued"
    assert session.get(Message, outbox["unknown"].id).status == "unknown"
    assert session.get(Message, outbox["opted_out"].id).status == "failed"
    [event] = session.query(AuditEvent).filter_by(action=stuck.RETRIED).all()
    assert (event.username, sorted(event.detail["message_ids"])) == ("sam", sorted(safe))
    # The worker sends them (and the fresh queued message).
    clock = ManualClock(NOW)
    assert worker.run_once(LoopbackGateway(), url=db_url, clock=clock) == 4
    session.commit()
    session.expire_all()
    assert {session.get(Message, i).status for i in safe} == {"delivered"}
    assert stuck.stuck_count(session, Actor.web(sam.id), project.id, now=NOW) == 4


def test_an_unknown_message_is_retried_only_once_a_person_confirms_it(session, project, sam, outbox):
    sam_, unknown = Actor.web(sam.id), outbox["unknown"].id
    assert stuck.retry_stuck(session, sam_, project.id, [unknown], now=NOW).retried == []
    assert session.get(Message, unknown).status == "unknown"
    done = stuck.retry_stuck(session, sam_, project.id, [unknown], confirmed=[unknown], now=NOW)
    assert done.retried == [unknown] and session.get(Message, unknown).status == "queued"
    [event] = session.query(AuditEvent).filter_by(action=stuck.RETRIED).all()
    assert event.detail == {"message_ids": [unknown], "confirmed_unknown": [unknown]}
    # Confirming a message that is not unknown retries nothing unsafe.
    landline = outbox["landline"].id
    assert stuck.retry_stuck(session, sam_, project.id, [landline], confirmed=[landline], now=NOW).retried == []


def test_another_projects_or_a_missing_message_is_left_alone(session, project, sam, outbox):
    other = session.query(Message).filter(Message.project_id != project.id).one()
    done = stuck.retry_stuck(session, Actor.web(sam.id), project.id, [other.id, 99999, "x"], now=NOW)
    assert (done.retried, done.skipped) == ([], sorted([other.id, 99999]))
    assert session.get(Message, other.id).status == "failed"


def test_the_threshold_comes_from_the_settings(session, project, sam, outbox, monkeypatch):
    from smschat.config import reload_settings

    monkeypatch.setenv("SMSCHAT_STUCK_AFTER_MINUTES", "60")
    reload_settings()
    try:
        ids = {r.id for r in stuck.stuck_messages(session, Actor.web(sam.id), project.id, now=NOW)}
    finally:
        monkeypatch.delenv("SMSCHAT_STUCK_AFTER_MINUTES")
        reload_settings()
    assert outbox["old_queued"].id not in ids and outbox["stuck_sending"].id not in ids
    assert outbox["unknown"].id in ids


@pytest.mark.parametrize("minutes,words", [(0, "0 min"), (59, "59 min"), (61, "1 h 1 min"), (60 * 50, "2 d 2 h")])
def test_ages_in_plain_words(minutes, words):
    assert stuck.age_words(timedelta(minutes=minutes)) == words
