"""Worker throughput: queued chat messages sent through the real `twilio` client to a local
fake Twilio API (no rate limit), by one and by two worker processes, on SQLite and PostgreSQL,
beside the bare client calling the same fake API in a loop (no database at all).

With the fake answering in 200 ms +/- 50 ms, like Twilio's Messages API (one worker process,
SMSCHAT_WORKER_CONCURRENCY as set, 50 by default):
  (a) ten sender numbers at 10 segments/s plus one messaging service at 100/s: the share of
      the total limit reached while every sender has work, and the most requests any sender
      made in any 1-second window as they left the worker (its recorded `sent_at`; never over
      the limit) and as the fake API read them;
  (b) no limit: the rate with 50 and with 200 in flight, against the same worker with a fake
      that answers at once;
  (c) one sender whose requests time out beside a healthy one at 10/s: the healthy sender's
      rate against it alone.
Each reports the worker's peak memory (VmHWM).

    python bench/bench_worker.py [--messages 2000] [--backends sqlite,postgres] [--scenarios throughput,a,b,c]
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
from smschat.models import Contact, Message, PhoneNumber, Project  # noqa: F401

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
    parser.add_argument("--scenarios", default="throughput,a,b,c")
    parser.add_argument("--seconds", type=float, default=12.0, help="length of the latency scenarios")
    args = parser.parse_args()
    scenarios = args.scenarios.split(",")
    if "throughput" not in scenarios:
        latency_scenarios(args, scenarios)
        return
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
    if set(scenarios) & {"a", "b", "c"}:
        rows += latency_scenarios(args, scenarios, show=False)
    report("worker", rows)


# --- under real API latency -----------------------------------------------------------------

NUMBERS = [f"+150055501{i:02d}" for i in range(10)]
SERVICE = "MG" + "5" * 32


def _peak_kib(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


CPU: dict[str, float] = {}  # the last worker's CPU seconds (load-independent cost)
RUNS: list[int] = []


def _run_worker(url: str, env: dict, done) -> tuple[float, int]:
    """One worker process until `done()`; returns (seconds, its peak memory in KiB)."""
    RUNS.append(len(RUNS) + 1)
    log = open(f"/tmp/smschat-bench-worker-{RUNS[-1]}.log", "w")  # one per run, to look into a slow one
    proc = subprocess.Popen([sys.executable, "-m", "smschat", "worker"], cwd=ROOT,
                            env={**env, "SMSCHAT_DATABASE_URL": url}, stdout=log, stderr=subprocess.STDOUT)
    started = time.perf_counter()
    try:
        while not done():
            if proc.poll() is not None:
                raise RuntimeError(f"the worker exited ({proc.returncode}): see {log.name}")
            time.sleep(0.1)
        CPU["last"] = _cpu_seconds(proc.pid)
        return time.perf_counter() - started, _peak_kib(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)


def _departures(url: str) -> dict[str, list[float]]:
    """Per sender, when each request left (the worker records it as the message's sent time):
    the rate limit is kept there; the fake API reads them later, on a loop sharing the CPU."""
    with session_scope(url, readonly=True) as s:
        rows = s.execute(select(Message.sender, Message.sent_at).where(Message.sent_at.is_not(None))).all()
    out: dict[str, list[float]] = {}
    for sender, at in rows:
        out.setdefault(sender, []).append(at.timestamp())
    return out


def _window_max(times: list[float]) -> int:
    times, best, j = sorted(times), 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - 1.0:
            j += 1
        best = max(best, i - j + 1)
    return best


def _people(url: str, n: int) -> tuple[int, list[str]]:
    g = generate(url, contacts=n, messages=0)
    with session_scope(url, readonly=True) as s:
        numbers = list(s.scalars(select(PhoneNumber.e164).where(PhoneNumber.project_id == g.project_id)
                                 .order_by(PhoneNumber.id)))
    return g.project_id, numbers


def _enqueue(url: str, project_id: int, numbers: list[str], senders: list[str], rate: float) -> None:
    with session_scope(url) as s:
        project = s.get(Project, project_id)
        project.sender_numbers, project.rate_limit = senders, rate
        for i, number in enumerate(numbers):
            outbox.enqueue(s, project, None, f"Reminder {i}: submit your weekly report", workflow="reminder",
                           phone_number=number)


def _second_project(url: str, senders: list[str], rate: float) -> int:
    from smschat.accounts import projects

    with session_scope(url) as s:
        p = projects.create_project(s, "service", "Service")
        p.sender_numbers, p.rate_limit = senders, rate  # a messaging service SID is one sender
        s.flush()
        return p.id


def latency_scenarios(args, scenarios: list[str], show: bool = True) -> list[dict]:
    from smschat.gateways.twilio.fake import FakeTwilio

    fake = FakeTwilio(latency=0.2, jitter=0.05)
    api = fake.start(_port())
    env = {**os.environ, "SMSCHAT_GATEWAY": "twilio", "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
           "TWILIO_AUTH_TOKEN": "bench", "SMSCHAT_PUBLIC_URL": "https://sms.example.org",
           "SMSCHAT_TWILIO_API_URL": api, "SMSCHAT_TWILIO_TIMEOUT_SECONDS": "2"}
    env.pop("TWILIO_MESSAGING_SERVICE_SID", None)
    rows = []
    try:
        for backend in args.backends.split(","):
            if "a" in scenarios:
                rows.append(_scenario_a(backend, fake, env, args.seconds))
            if "b" in scenarios:
                rows.append(_scenario_b(backend, fake, env, args.seconds))
            if "c" in scenarios:
                rows.append(_scenario_c(backend, fake, env, args.seconds))
    finally:
        fake.stop()
    if show:
        report("worker_latency", rows)
    return rows


def _reset(fake, latency: float = 0.2) -> None:
    fake.requests.clear()
    fake.messages.clear()
    fake.sender_latency.clear()
    fake.latency = latency
    FAKE_SINCE[0] = time.monotonic()


# The fake notes a request when it answers: one a previous run left hanging (scenario c's
# 30 s sender) would land in the next run's list, so each run reads only what arrived since.
FAKE_SINCE = [0.0]


def _seen(fake) -> list:
    return [r for r in fake.requests if r.arrived >= FAKE_SINCE[0]]


def _scenario_a(backend: str, fake, env: dict, seconds: float) -> dict:
    per_second = 200  # 10 numbers x 10/s + one messaging service at 100/s
    n = int(100 * seconds)
    with scratch_database(backend) as url:
        pid, numbers = _people(url, n)
        _enqueue(url, pid, numbers, NUMBERS, 10.0)
        _enqueue(url, _second_project(url, [SERVICE], 100.0), numbers, [SERVICE], 100.0)
        _reset(fake)
        elapsed, peak = _run_worker(url, env, lambda: _pending(url) == 0)
        departed = _departures(url)
    arrived: dict[str, list[float]] = {}
    for seen in _seen(fake):
        arrived.setdefault(seen.form.get("MessagingServiceSid") or seen.form["From"], []).append(seen.arrived)
    start = min(min(t) for t in departed.values())
    end = min(max(t) for t in departed.values())  # while every sender still had work
    reached = sum(1 for t in departed.values() for x in t if start <= x <= end) / (end - start)
    over = {k: _window_max(v) for k, v in departed.items()}
    worst_number = max(v for k, v in over.items() if k != SERVICE)
    seen = {k: _window_max(v) for k, v in arrived.items()}
    print(f"{backend} (a): {reached:,.1f} of {per_second}/s ({reached / per_second:.1%}); most in any second, "
          f"as they left: numbers {worst_number} (limit 10), service {over.get(SERVICE)} (limit 100); as the fake "
          f"API read them: {max(v for k, v in seen.items() if k != SERVICE)}, {seen.get(SERVICE)}; "
          f"peak memory {peak / 1024:.0f} MiB; {2 * n} messages in {elapsed:.1f} s, worker CPU "
          f"{CPU['last'] * 1000 / (2 * n):.1f} ms per message", flush=True)
    return {"figure": f"(a) 10 numbers at 10/s + service at 100/s, 200 ms API ({reached:,.0f}/s; max/s "
                      f"{worst_number}, {over.get(SERVICE)}; peak {peak / 1024:.0f} MiB)",
            "backend": backend, "value": round(1000 / reached, 2), "unit": "ms per message (1/rate)",
            "baseline": round(1000 / per_second, 2)}


def _unlimited_rate(url: str, pid: int, numbers: list[str], fake, env: dict, latency: float) -> tuple[float, int]:
    _enqueue(url, pid, numbers, [SENDER], 0.0)
    _reset(fake, latency)
    _, peak = _run_worker(url, env, lambda: _pending(url) == 0)
    times = sorted(seen.arrived for seen in _seen(fake))
    gaps = sorted((b - a, a - times[0]) for a, b in zip(times, times[1:], strict=False))[-3:]
    print(f"  latency {latency * 1000:.0f} ms: worker CPU {CPU['last'] * 1000 / len(numbers):.1f} ms per message; "
          f"{len(times)} requests for {len(numbers)} messages in {times[-1] - times[0]:.1f} s; longest gaps "
          + ", ".join(f"{g:.2f} s at {at:.1f} s" for g, at in reversed(gaps)), flush=True)
    return (len(times) - 1) / (times[-1] - times[0]), peak


# (b) again with this many in flight: at the default 50, a 200 ms API caps any sender at
# 50 / 0.2 s = 250/s (Little's law), below what one worker does against an API answering at once.
WIDE = 200


def _scenario_b(backend: str, fake, env: dict, seconds: float) -> dict:
    n = int(200 * seconds)
    with scratch_database(backend) as url:
        pid, numbers = _people(url, n)
        zero, _ = _unlimited_rate(url, pid, numbers, fake, env, 0.0)
        slow, peak = _unlimited_rate(url, pid, numbers, fake, env, 0.2)
        wide, wide_peak = _unlimited_rate(url, pid, numbers, fake, {**env, "SMSCHAT_WORKER_CONCURRENCY": str(WIDE)},
                                          0.2)
    print(f"{backend} (b): no limit, 200 ms API: {slow:,.0f}/s with 50 in flight ({slow / 250:.0%} of their "
          f"ceiling, 250/s), {wide:,.0f}/s with {WIDE} in flight, against {zero:,.0f}/s at once ({wide / zero:.0%}); "
          f"peak memory {peak / 1024:.0f} / {wide_peak / 1024:.0f} MiB", flush=True)
    return {"figure": f"(b) no limit, 200 ms API, {WIDE} in flight ({wide:,.0f}/s; 50 in flight: {slow:,.0f}/s; "
                      f"peak {wide_peak / 1024:.0f} MiB)", "backend": backend,
            "value": round(1000 / wide, 2), "unit": "ms per message (1/rate)", "baseline": round(1000 / zero, 2),
            "note": "baseline: the same worker, API answering at once"}


def _healthy_rate(url: str, fake, env: dict, sick: bool) -> tuple[float, int]:
    _reset(fake)
    if sick:
        fake.sender_latency[NUMBERS[1]] = 30.0  # every request times out (client timeout 2 s)
    _, peak = _run_worker(url, env, lambda: sum(1 for r in _seen(fake) if r.form["From"] == NUMBERS[0]) >= 100)
    times = sorted(r.arrived for r in _seen(fake) if r.form["From"] == NUMBERS[0])
    return (len(times) - 1) / (times[-1] - times[0]), peak


def _scenario_c(backend: str, fake, env: dict, seconds: float) -> dict:
    rates = {}
    for sick in (False, True):
        with scratch_database(backend) as url:
            pid, numbers = _people(url, 400)
            healthy = _second_project(url, [NUMBERS[0]], 10.0)
            _enqueue(url, healthy, numbers[:200], [NUMBERS[0]], 10.0)
            _enqueue(url, pid, numbers[200:] if sick else [], [NUMBERS[1]], 10.0)
            rates[sick], peak = _healthy_rate(url, fake, env, sick)
    loss = 1 - rates[True] / rates[False]
    print(f"{backend} (c): healthy sender {rates[True]:.2f}/s beside one timing out, {rates[False]:.2f}/s alone "
          f"(loses {loss:.1%}); peak memory {peak / 1024:.0f} MiB", flush=True)
    return {"figure": f"(c) healthy sender beside one timing out ({rates[True]:.2f}/s, loses {loss:.1%})",
            "backend": backend, "value": round(1000 / rates[True], 2), "unit": "ms per message (1/rate)",
            "baseline": round(1000 / rates[False], 2)}


if __name__ == "__main__":
    main()
