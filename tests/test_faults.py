"""Faults: duplicated and concurrent deliveries, a database that is away for a moment."""

import shutil
import sqlite3
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from smschat import db as dbmod
from smschat.chat import window as chat
from smschat.config import reload_settings
from smschat.messaging import worker
from smschat.models import Message
from smschat.web.webhooks import create_app

from .conftest import free_port
from .test_worker import RecordingGateway
from .waiting import wait_until


def _count(session):
    session.rollback()
    return session.scalar(select(func.count()).select_from(Message))


def test_the_same_inbound_webhook_delivered_5_times_at_once_is_stored_once(webhook_server, session, project, marie):
    form = {"project": "test", "From": "+17033996500", "Body": "once", "MessageSid": "LBdup"}
    with ThreadPoolExecutor(5) as pool:
        codes = list(pool.map(lambda _: httpx.post(f"{webhook_server}/loopback/inbound", data=form).status_code, range(5)))
    assert sorted(codes) == [200, 200, 200, 200, 201]
    assert _count(session) == 1


def test_two_users_sending_at_once_and_two_workers_lose_nothing_and_keep_order(session, db_url, project, agent, marie):
    from smschat.accounts import auth

    sam = auth.create_user(session, "sam", "long enough pw", project=project, role="supervisor")
    session.commit()

    def send(user_id, tag):
        for i in range(25):
            with dbmod.session_scope(db_url) as s:
                chat.send_chat_message(s, project.id, marie.id, user_id, f"{tag}{i:02d}")

    gateway = RecordingGateway()
    done = threading.Event()

    def drain():
        wid = worker.worker_id()
        while True:
            sent = worker.run_once(gateway, wid=wid, url=db_url, batch_size=5)
            if not sent and done.is_set() and worker.run_once(gateway, wid=wid, url=db_url) == 0:
                return

    senders = [threading.Thread(target=send, args=(u, t)) for u, t in ((agent.id, "a"), (sam.id, "s"))]
    workers = [threading.Thread(target=drain) for _ in range(2)]
    for t in senders + workers:
        t.start()
    for t in senders:
        t.join(timeout=120)
    done.set()
    for t in workers:
        t.join(timeout=120)

    assert max(Counter(sms.message_id for sms in gateway.sent).values()) == 1
    assert len(gateway.sent) == 50 == _count(session)
    # The order marie receives them in is the order they were queued in (ids grow monotonically).
    assert [sms.message_id for sms in gateway.sent] == sorted(sms.message_id for sms in gateway.sent)


def test_webhook_answers_503_while_sqlite_is_locked_and_writes_nothing(tmp_path, monkeypatch, sqlite_template):
    import uvicorn

    path = tmp_path / "locked.db"
    shutil.copy(sqlite_template, path)
    monkeypatch.setenv("SMSCHAT_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("SMSCHAT_SQLITE_BUSY_TIMEOUT_MS", "300")
    reload_settings()
    with dbmod.session_scope() as s:
        from smschat.accounts import projects

        projects.create_project(s, "test", "Test")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: httpx.get(f"{base}/healthz", timeout=1) is not None, 5, "the webhooks server to answer",
               ignoring=(httpx.HTTPError,))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        r = httpx.post(f"{base}/loopback/inbound", data={"project": "test", "From": "+17033996500", "Body": "x"})
        assert r.status_code == 503
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    # Twilio retries; now it goes through, once.
    r = httpx.post(f"{base}/loopback/inbound", data={"project": "test", "From": "+17033996500", "Body": "x"})
    assert r.status_code == 201
    with dbmod.session_scope(readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 1
    server.should_exit = True
    thread.join(timeout=10)
    dbmod.dispose_engines()
    reload_settings()


def test_webhook_and_health_answer_503_when_postgres_is_unreachable(monkeypatch):
    import uvicorn

    monkeypatch.setenv("SMSCHAT_DATABASE_URL", f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere")
    reload_settings()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                health = httpx.get(f"{base}/healthz", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        assert health.status_code == 503
        r = httpx.post(f"{base}/loopback/inbound", data={"project": "test", "From": "+17033996500", "Body": "x"}, timeout=10)
        assert r.status_code == 503
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        dbmod.dispose_engines()
        reload_settings()


def test_worker_keeps_going_when_the_database_is_briefly_locked(session, db_url, project, agent, marie, monkeypatch,
                                                                caplog):
    if not dbmod.is_sqlite(db_url):
        pytest.skip("the lock is a SQLite one; PostgreSQL outages are covered by the webhook test above")
    monkeypatch.setenv("SMSCHAT_SQLITE_BUSY_TIMEOUT_MS", "200")
    monkeypatch.setenv("SMSCHAT_WORKER_POLL_SECONDS", "0.05")
    reload_settings()
    dbmod.dispose_engines()
    msg = chat.send_chat_message(session, project.id, marie.id, agent.id, "after the outage")
    session.commit()
    path = db_url.removeprefix("sqlite:///")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    gateway = RecordingGateway()
    stop = threading.Event()
    runner = threading.Thread(target=worker.run_forever, kwargs={"gateway": gateway, "stop": stop, "url": db_url})
    runner.start()
    try:
        # Several rounds fail while the lock is held (the worker logs each, counting them).
        wait_until(lambda: any("(3 in a row)" in r.getMessage() for r in caplog.records), 30,
                   "three failed worker rounds while locked")
        assert gateway.sent == []
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    wait_until(lambda: gateway.sent, 10, "the message sent once the lock is gone")
    stop.set()
    runner.join(timeout=10)
    assert [sms.message_id for sms in gateway.sent] == [msg.id]
    reload_settings()
