"""Faults of the send path, with real processes: a worker killed mid-batch, Twilio away."""

import os
import signal
import subprocess
import sys
from collections import Counter, defaultdict

import pytest
from sqlalchemy import select

from smschat.models import Message

from . import queueing
from .conftest import ROOT
from .queueing import queue_chat
from .waiting import wait_until

pytestmark = pytest.mark.timeout(120)


def _contacts(session, project, n):
    project.rate_limit = 10.0  # segments per second, so the test waits on faults, not on the rate
    return queueing.people(session, project, n, name="patient")



def _start_worker(tmp_path, name):
    log = open(tmp_path / f"{name}.log", "w")
    return subprocess.Popen([sys.executable, "-m", "smschat", "worker"], cwd=ROOT, env=os.environ.copy(),
                            stdout=log, stderr=subprocess.STDOUT)


def _wait(predicate, timeout, what):
    wait_until(predicate, timeout, what, interval=0.1)


def _statuses(session):
    session.rollback()
    session.expire_all()
    return {m.id: m for m in session.scalars(select(Message).where(Message.direction == "out"))}


def _received_in_order(fake, people, per_contact):
    """Every body Twilio accepted at most once, and in queue order per contact."""
    accepted = fake.bodies()
    assert max(Counter(accepted).values()) == 1, "a message went out twice"
    per_contact_seen = defaultdict(list)
    for body in accepted:
        name, k = body.rsplit(" #", 1)
        per_contact_seen[name].append(int(k))
    for seen in per_contact_seen.values():
        assert seen == sorted(seen), "a contact received a later message first"
    return accepted


def _settled(m) -> bool:
    """Sent, or failed, or `unknown` after the look-up in Twilio's list settled it."""
    return m.status in ("sent", "failed") or (m.status == "unknown" and m.reconciled_at is not None)


def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(
        twilio_env, fake_twilio, session, project, agent, monkeypatch, tmp_path):
    monkeypatch.setenv("SMSCHAT_SEND_LEASE_SECONDS", "5")
    monkeypatch.setenv("SMSCHAT_WORKER_POLL_SECONDS", "0.1")
    monkeypatch.setenv("SMSCHAT_RECONCILE_EVERY_SECONDS", "0.2")
    monkeypatch.setenv("SMSCHAT_RECONCILE_GRACE_SECONDS", "2")
    people = _contacts(session, project, 3)
    queue_chat(session, project, agent, people, per_contact=4)
    fake_twilio.delay = 0.3
    first = _start_worker(tmp_path, "first")
    try:
        _wait(lambda: len(fake_twilio.requests) >= 4, 30, "the first sends")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    second = _start_worker(tmp_path, "second")
    try:
        _wait(lambda: all(_settled(m) for m in _statuses(session).values()), 60, "every message to be settled")
    finally:
        second.terminate()
        second.wait(10)
    messages = _statuses(session).values()
    accepted = _received_in_order(fake_twilio, people, 4)
    by_status = Counter(m.status for m in messages)
    assert set(by_status) <= {"sent", "unknown"} and sum(by_status.values()) == 12
    # What was in flight at the kill (one per contact at most) was looked up in Twilio's list:
    # every message Twilio made is `sent` with its id, once; the others say Retry is safe.
    assert by_status["unknown"] <= 3
    assert sorted(m.body for m in messages if m.status == "sent") == sorted(accepted)
    assert {m.gateway_message_id for m in messages if m.status == "sent"} == {m["sid"] for m in fake_twilio.messages}
    assert all("Retry is safe" in m.error_message for m in messages if m.status == "unknown")


def test_twilio_away_for_a_while_then_back_everything_goes_out_in_order(
        twilio_env, fake_twilio, session, project, agent, monkeypatch, tmp_path):
    monkeypatch.setenv("SMSCHAT_WORKER_POLL_SECONDS", "0.1")
    monkeypatch.setenv("SMSCHAT_RETRY_BASE_SECONDS", "0.2")
    monkeypatch.setenv("SMSCHAT_RETRY_CAP_SECONDS", "1")
    monkeypatch.setenv("SMSCHAT_MAX_SEND_ATTEMPTS", "30")
    people = _contacts(session, project, 2)
    fake_twilio.down()
    queue_chat(session, project, agent, people, per_contact=3)
    proc = _start_worker(tmp_path, "worker")
    try:
        _wait(lambda: len(fake_twilio.requests) >= 6, 30, "attempts while Twilio is away")
        assert {m.status for m in _statuses(session).values()} <= {"queued", "sending"}
        fake_twilio.up()
        _wait(lambda: all(m.status == "sent" for m in _statuses(session).values()), 60, "everything to go out")
    finally:
        proc.terminate()
        proc.wait(10)
    assert len(_received_in_order(fake_twilio, people, 3)) == 6
