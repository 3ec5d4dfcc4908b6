"""Many sends in flight, with real worker processes against the fake Twilio API over HTTP:
exactly once through a kill, the sender rate under a CPU hog, first in first out per contact,
sticky sender numbers, a slow sender beside a healthy one."""

import subprocess
import sys
from collections import Counter, defaultdict

import pytest
from sqlalchemy import select

from smschat.accounts import projects
from smschat.messaging import outbox
from smschat.models import Message, PhoneNumber

from .queueing import most_in_any_second
from .queueing import people as people_with_numbers
from .queueing import queue_chat
from .test_faults_worker import _settled, _start_worker, _statuses, _wait

pytestmark = pytest.mark.timeout(180)


def _send_everything(session, tmp_path) -> None:
    """A real worker process until every message is sent."""
    proc = _start_worker(tmp_path, "worker")
    try:
        _wait(lambda: all(m.status == "sent" for m in _statuses(session).values()), 90, "everything sent")
    finally:
        _stop(proc)


def _stop(proc):
    proc.terminate()
    proc.wait(20)


def test_fifty_in_flight_then_sigkill_nothing_is_sent_twice(
        twilio_env, fake_twilio, session, project, agent, monkeypatch, tmp_path):
    monkeypatch.setenv("SMSCHAT_SEND_LEASE_SECONDS", "5")
    monkeypatch.setenv("SMSCHAT_WORKER_POLL_SECONDS", "0.1")
    monkeypatch.setenv("SMSCHAT_RECONCILE_EVERY_SECONDS", "0.2")
    monkeypatch.setenv("SMSCHAT_RECONCILE_GRACE_SECONDS", "3")
    project.rate_limit = 0  # no limit: 50 requests leave at once
    people = people_with_numbers(session, project, 60)
    queue_chat(session, project, agent, people, per_contact=1)
    fake_twilio.latency = 3.0
    first = _start_worker(tmp_path, "first")
    try:
        _wait(lambda: fake_twilio._active >= 50, 30, "50 requests in flight")
    finally:
        first.kill()
        first.wait(10)
    fake_twilio.latency = 0.05
    second = _start_worker(tmp_path, "second")
    try:
        _wait(lambda: all(_settled(m) for m in _statuses(session).values()), 90, "every message to be settled")
    finally:
        _stop(second)
    messages = list(_statuses(session).values())
    made = Counter(m["body"] for m in fake_twilio.messages)
    assert made and max(made.values()) == 1, "a message went out twice"
    sent = [m for m in messages if m.status == "sent"]
    # The 50 in flight were made by Twilio after the kill: found in its list, each sent once.
    assert sorted(m.body for m in sent) == sorted(made)
    assert {m.gateway_message_id for m in sent} == {m["sid"] for m in fake_twilio.messages}
    assert all(m.status == "unknown" and "Retry is safe" in m.error_message for m in messages if m not in sent)
    assert len(sent) >= 50


def test_the_rate_limit_holds_under_a_cpu_hog(twilio_env, fake_twilio, session, project, agent, monkeypatch, tmp_path):
    monkeypatch.setenv("SMSCHAT_WORKER_POLL_SECONDS", "0.1")
    project.sender_numbers = ["+15005550006", "+15005550007"]
    project.rate_limit = 5.0
    people = people_with_numbers(session, project, 50)
    queue_chat(session, project, agent, people, per_contact=1)
    fake_twilio.latency, fake_twilio.jitter = 0.2, 0.05
    # The hogs take every idle cycle, one per core.
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        _send_everything(session, tmp_path)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait(10)
    departures = defaultdict(list)
    session.expire_all()
    for message in session.scalars(select(Message).where(Message.project_id == project.id)):
        departures[message.sender].append(message.sent_at.timestamp())
    assert {s: len(t) for s, t in departures.items()} == {
        s: sum(1 for r in fake_twilio.requests if r.form["From"] == s) for s in ("+15005550006", "+15005550007")}
    # Never over the limit in any second, measured when the requests left (the time the worker
    # records as sent): the fake API in this process reads arrivals on a starved loop.
    assert all(most_in_any_second(times) <= 5 for times in departures.values())


def test_first_in_first_out_per_contact_under_concurrency(
        twilio_env, fake_twilio, session, project, agent, monkeypatch, tmp_path):
    monkeypatch.setenv("SMSCHAT_WORKER_POLL_SECONDS", "0.1")
    project.rate_limit = 0
    people = people_with_numbers(session, project, 20)
    queue_chat(session, project, agent, people, per_contact=5)
    fake_twilio.latency, fake_twilio.jitter = 0.1, 0.09  # answers come back out of order
    _send_everything(session, tmp_path)
    per_contact = defaultdict(list)
    for seen in fake_twilio.requests:
        name, k = seen.form["Body"].rsplit(" #", 1)
        per_contact[name].append((int(k), seen.arrived, seen.at))
    assert len(per_contact) == 20
    most_at_once = 0
    for seen in per_contact.values():
        assert [k for k, _, _ in seen] == list(range(5))
        # A contact's next message left only after the previous one's answer came back.
        assert all(nxt[1] > prev[2] for prev, nxt in zip(seen, seen[1:], strict=False))
    for seen in fake_twilio.requests:
        most_at_once = max(most_at_once, sum(1 for o in fake_twilio.requests if o.arrived <= seen.arrived < o.at))
    assert most_at_once >= 10  # while many contacts' messages were in flight together


def test_a_contact_stays_on_one_sender_number_and_new_contacts_spread(
        twilio_env, fake_twilio, session, project, agent, monkeypatch, tmp_path):
    monkeypatch.setenv("SMSCHAT_WORKER_POLL_SECONDS", "0.1")
    numbers = ["+15005550006", "+15005550007", "+15005550008"]
    project.sender_numbers = numbers
    project.rate_limit = 0
    people = people_with_numbers(session, project, 30)
    queue_chat(session, project, agent, people, per_contact=3)
    _send_everything(session, tmp_path)
    used = defaultdict(set)
    for seen in fake_twilio.requests:
        used[seen.form["To"]].add(seen.form["From"])
    assert all(len(froms) == 1 for froms in used.values())
    spread = Counter(next(iter(froms)) for froms in used.values())
    assert set(spread) == set(numbers) and min(spread.values()) >= 3
    stored = dict(session.execute(select(PhoneNumber.e164, PhoneNumber.sender)).all())
    assert {to: next(iter(froms)) for to, froms in used.items()} == stored
    assert {m.sender for m in session.scalars(select(Message))} == set(numbers)


def test_a_slow_sender_never_delays_another_sender(twilio_env, fake_twilio, session, project, agent, monkeypatch, tmp_path):
    monkeypatch.setenv("SMSCHAT_WORKER_POLL_SECONDS", "0.1")
    other = projects.create_project(session, "other", "Other", sender_numbers=["+15005550007"])
    project.rate_limit = other.rate_limit = 10.0
    session.commit()
    slow = people_with_numbers(session, project, 10)
    quick = people_with_numbers(session, other, 10, prefix="+1415666")
    queue_chat(session, project, agent, slow, per_contact=1)
    for c in quick:
        outbox.enqueue(session, other, c, f"{c.name} #0", workflow="chat")
    session.commit()
    fake_twilio.sender_latency["+15005550006"] = 4.0
    _send_everything(session, tmp_path)
    answered = defaultdict(list)
    for seen in fake_twilio.requests:
        answered[seen.form["From"]].append(seen.at)
    # The healthy sender's ten (one second at its rate) were all answered before the slow
    # sender's first answer.
    assert max(answered["+15005550007"]) < min(answered["+15005550006"])


def test_sigterm_stops_claiming_and_records_what_was_in_flight(
        twilio_env, fake_twilio, session, project, agent, monkeypatch, tmp_path):
    monkeypatch.setenv("SMSCHAT_WORKER_POLL_SECONDS", "0.1")
    monkeypatch.setenv("SMSCHAT_WORKER_CONCURRENCY", "10")
    project.rate_limit = 0
    people = people_with_numbers(session, project, 40)
    queue_chat(session, project, agent, people, per_contact=1)
    fake_twilio.latency = 0.8  # under the client's 1 s timeout
    proc = _start_worker(tmp_path, "worker")
    try:
        _wait(lambda: fake_twilio._active >= 10, 30, "10 requests in flight")
        proc.terminate()
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    messages = list(_statuses(session).values())
    sent = {m.body for m in messages if m.status == "sent"}
    # What was in flight finished and was recorded; the rest went back to the queue untouched.
    assert sent == {m["body"] for m in fake_twilio.messages} and len(sent) >= 10
    assert {m.status for m in messages if m.body not in sent} <= {"queued"}
    assert all(m.attempts == 0 for m in messages if m.status == "queued")
