"""Worker throughput: queued chat messages sent through the real `twilio` client to a local
fake Twilio API (no rate limit), by one and by two worker processes, on SQLite and PostgreSQL,
beside the bare client calling the same fake API in a loop (no database at all).

    python bench/bench_worker.py [--messages 2000] [--backends sqlite,postgres]
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import time

import httpx
from common import ROOT, scratch_database
from generate import generate
from report import report
from sqlalchemy import func, select

from smschat.config import reload_settings
from smschat.db import session_scope
from smschat.gateways import OutgoingSms
from smschat.gateways.twilio.sender import TwilioGateway
from smschat.messaging import outbox
from smschat.models import Contact, Message, PhoneNumber, Project

SENDER = "+15005550006"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fake_twilio() -> tuple[subprocess.Popen, str]:
    port = _port()
    proc = subprocess.Popen([sys.executable, "-m", "smschat.gateways.twilio.fake", str(port)], cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(base, timeout=0.5)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    return proc, base


def _queue(url: str, project_id: int, n: int) -> None:
    with session_scope(url) as s:
        project = s.get(Project, project_id)
        project.sender_numbers, project.rate_limit = [SENDER], 0.0  # 0: no rate limit
        people = list(s.scalars(select(Contact).join(PhoneNumber, PhoneNumber.contact_id == Contact.id)
                                .where(Contact.project_id == project_id).limit(500)))
        for i in range(n):
            outbox.enqueue(s, project, random.choice(people), f"Reminder {i}: submit your weekly report", workflow="chat")


def _pending(url: str) -> int:
    with session_scope(url, readonly=True) as s:
        return s.scalar(select(func.count()).select_from(Message).where(Message.status.in_(("queued", "sending"))))


def _workers(url: str, env: dict, n_workers: int, n: int) -> float:
    procs = [subprocess.Popen([sys.executable, "-m", "smschat", "worker"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(n_workers)]
    started = time.perf_counter()
    try:
        while _pending(url):
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(10)
    with session_scope(url, readonly=True) as s:
        sent = s.scalar(select(func.count()).select_from(Message).where(Message.status == "sent"))
    assert sent >= n, f"only {sent} of {n} sent"
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    fake, api = _fake_twilio()
    env = {**os.environ, "SMSCHAT_GATEWAY": "twilio", "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
           "TWILIO_AUTH_TOKEN": "bench", "SMSCHAT_PUBLIC_URL": "https://sms.example.org",
           "SMSCHAT_TWILIO_API_URL": api, "SMSCHAT_WORKER_POLL_SECONDS": "0.05"}
    rows = []
    try:
        os.environ.update(env)
        gateway = TwilioGateway.from_settings(reload_settings())
        sms = OutgoingSms(message_id=0, to="+17033996500", body="Reminder: submit your weekly report", sender=SENDER)
        gateway.send(sms)
        started = time.perf_counter()
        for _ in range(500):
            assert gateway.send(sms).ok
        bare = 500 / (time.perf_counter() - started)
        print(f"bare twilio client: {bare:,.0f} messages/s")
        for backend in args.backends.split(","):
            for n_workers in (1, 2):
                with scratch_database(backend) as url:
                    g = generate(url, contacts=2_000, messages=0)
                    _queue(url, g.project_id, args.messages)
                    rate = _workers(url, {**env, "SMSCHAT_DATABASE_URL": url}, n_workers, args.messages)
                print(f"{backend}, {n_workers} worker(s): {rate:,.0f} messages/s")
                rows.append({"figure": f"worker sends, {n_workers} process(es) ({rate:,.0f}/s)", "backend": backend,
                             "value": round(1000 / rate, 2), "unit": "ms per message (1/rate)",
                             "baseline": round(1000 / bare, 2)})
    finally:
        fake.terminate()
        fake.wait(10)
    print("baseline: the bare twilio client posting to the same fake API in a loop, no database "
          "(ratio < 1: the outbox's share: claim, lease, record, per message)")
    report("worker", rows)


if __name__ == "__main__":
    main()
