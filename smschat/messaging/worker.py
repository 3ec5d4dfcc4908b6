"""The send loop: claim queued messages, send many at once through the gateway, record the outcome.

One dispatcher thread owns the database work, in short transactions: hand over what is due,
record the answers that came back, claim more (each sender what fits its next second). A
bounded pool of threads makes the HTTP requests (SMSCHAT_WORKER_CONCURRENCY in flight). The
sending thread holds its request until it fits the sender's limit in every one-second window
of departures (`Pacer`), and that moment is recorded as the message's `sent_at`. Answers that
were lost are looked up in the gateway's records by a background thread (`reconcile`).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select

from smschat.automation import runner as automation
from smschat.clock import SYSTEM, Clock
from smschat.config import get_settings
from smschat.db import get_engine, is_sqlite, session_scope
from smschat.gateways import Gateway, OutgoingSms, SendResult, get_gateway
from smschat.gateways.base import find_lost
from smschat.messaging import deadlines, outbox, ratelimit
from smschat.models import Message, Project
from smschat.people.number_facts import blocked_numbers

log = logging.getLogger("smschat.worker")

# A send whose sender slot is further off than this goes back to the queue until then.
MAX_RATE_WAIT_SECONDS = 0.5
# How much of a sender's time one worker holds claimed at once.
HORIZON_SECONDS = 1.0
# Requests handed to a sending thread this long before their slot: the thread waits out the
# rest itself, so the database step never makes a departure late.
LOOKAHEAD_SECONDS = 0.05
# How long answers may wait to be recorded together (a contact's next message waits on it).
RECORD_BATCH_SECONDS = 0.02


# While a worker holds work, it claims at most this often (it holds about a second of each
# sender's messages, so a claim is rarely urgent; each costs the send loop a few milliseconds).
CLAIM_SECONDS = 0.1
# How often a claim also looks for messages whose sender is no longer one of their project's
# numbers (a query that reads the whole queue).
STRAYS_SECONDS = 1.0


# SQLite has one writer: the worker's threads take turns here instead of meeting in SQLite's
# busy handler, which sleeps up to 100 ms at a time and would make departures late.
_SQLITE_WRITES = threading.Lock()


@contextmanager
def writing(url: str | None):
    """A write transaction; on SQLite, one of this process's threads at a time."""
    if not is_sqlite(get_engine(url)):
        with session_scope(url) as session:
            yield session
        return
    with _SQLITE_WRITES, session_scope(url) as session:
        yield session


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Pacer:
    """One sender's departures in this process. `take` holds a request until it may leave:
    not before its slot, and never more than the sender's limit in any one-second window of
    departures (each request uses `seconds` of the sender's time, segments x (1 + margin) /
    rate, so one second holds `1 + margin` of it). A request that leaves late does not push
    every later one back: the window, not the previous departure, decides."""

    WINDOW = 1.0
    # The next may leave this fraction of the previous one's time after it, so a late start
    # catches up without a burst.
    SMOOTH = 0.5

    def __init__(self, clock: Clock, margin: float = 0.0):
        self.clock = clock
        self.capacity = (1 + margin) * self.WINDOW + 1e-9
        self.lock = threading.Lock()
        self.recent: deque[tuple[float, float]] = deque()  # (departed, seconds), on clock.monotonic()
        self.next_at = float("-inf")  # the earliest the next request may leave

    def take(self, seconds: float, not_before: float) -> float:
        """Returns the departure (on clock.monotonic()) as this pacer recorded it."""
        with self.lock:
            while True:
                at = max(self.next_at, not_before, self._window_allows(seconds))
                wait = at - self.clock.monotonic()
                if wait <= 0:
                    break
                self.clock.sleep(wait)
            departed = self.clock.monotonic()
            self.recent.append((departed, seconds))
            self.next_at = departed + self.SMOOTH * seconds
            return departed

    def _window_allows(self, seconds: float) -> float:
        """The earliest time a request of `seconds` fits in the window with those before it
        (one larger than the whole window leaves once the window is empty)."""
        mono = self.clock.monotonic()
        while self.recent and self.recent[0][0] <= mono - self.WINDOW:
            self.recent.popleft()
        used = sum(s for _, s in self.recent) + seconds
        at = float("-inf")
        for departed, s in self.recent:
            if used <= self.capacity:
                break
            used -= s
            at = departed + self.WINDOW + 1e-6  # once that one is out of the window
        return at


@dataclass
class Job:
    sms: OutgoingSms
    sender: str
    seconds: float  # of the sender's time this send takes (segments / rate); 0: no limit
    not_before: float  # monotonic: the sender's slot reserved in the database
    project_id: int


class Dispatcher:
    """A worker's sends: claimed messages waiting for their sender, requests in flight, answers
    waiting to be recorded."""

    def __init__(self, gateway: Gateway, wid: str, url: str | None, clock: Clock, concurrency: int | None = None):
        settings = get_settings()
        self.gateway, self.wid, self.url, self.clock = gateway, wid, url, clock
        self.concurrency = concurrency or settings.worker_concurrency
        self.margin = settings.rate_margin
        self.pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="send")
        self.waiting: dict[str, deque[Job]] = {}
        self.planned: dict[str, float] = {}  # per sender: when the last launched job may leave
        self.pacers: dict[str, Pacer] = {}
        self.flying: dict[str, int] = {}
        # Per sender key: until when (monotonic) its time is taken up (here, or by another
        # worker's reservation); claims leave its messages in the queue meanwhile.
        self.full_until: dict[str, float] = {}
        self.strays_at = float("-inf")
        self.mono_zero, self.wall_zero = clock.monotonic(), clock.now()
        self.lock = threading.RLock()
        self.answered: list[tuple[int, SendResult]] = []
        self.wake = threading.Event()

    # --- counts ---------------------------------------------------------------------------
    def in_flight(self) -> int:
        with self.lock:
            return sum(self.flying.values())

    def held(self) -> int:
        return sum(len(q) for q in self.waiting.values()) + self.in_flight()

    def busy(self) -> bool:
        with self.lock:
            return bool(self.answered) or self.held() > 0

    # --- one step ------------------------------------------------------------------------
    def step(self, *, claim: bool = True, limit: int | None = None) -> tuple[int, int]:
        """Hand over what is due and start those requests (a short transaction first, so a
        departure never waits on bookkeeping); then record the answers that came back, and
        claim more (unless `claim` is off), each in a transaction of its own with hand-overs
        between them. Returns (claimed, recorded)."""
        self.wake.clear()
        self.launch()
        with self.lock:
            answered, self.answered = self.answered, []
        room = limit if limit is not None else min(self.concurrency, 4 * self.concurrency - self.held())
        claim = claim and room > 0
        if not (answered or claim):
            return 0, 0
        try:
            if answered:
                with writing(self.url) as session:
                    outbox.record_send_results(session, answered, now=self.clock.now(), gateway=self.gateway.name)
        except BaseException:
            with self.lock:
                self.answered[:0] = answered  # recorded next time
            raise
        claimed = 0
        if claim:
            self.launch()  # what fell due meanwhile: a claim takes a while
            with writing(self.url) as session:
                claimed = self._claim(session, room, self.clock.now())
            self.launch()
        return claimed, len(answered)

    def launch(self) -> int:
        launch = self._due()
        if not launch:
            return 0
        now = self.clock.now()
        try:
            with writing(self.url) as session:
                allowed = self._refuse_blocked(session, launch, now)
                ours = outbox.hand_over(session, {j.sms.message_id: j.sender for j in allowed}, self.wid, now=now)
        except BaseException:
            for job in reversed(launch):  # handed over next time
                self.waiting[job.sender].appendleft(job)
                self._landed(job.sender)
            self.planned.clear()
            raise
        blocked = {j.sms.message_id for j in launch} - {j.sms.message_id for j in allowed}
        for job in launch:
            if job.sms.message_id in ours:
                self._start(job)
            elif job.sms.message_id not in blocked:
                self._landed(job.sender)  # our claim expired meanwhile: another round owns it now
        return len(ours)

    def _quotas(self, session, room: int) -> list[outbox.Quota]:
        """What one claim may take of each sender: what fits in the rest of its horizon here
        (nothing while its time is taken up), or `room` when it has no limit."""
        senders: dict[str, tuple[set[str], float]] = {}
        for numbers, rate in session.execute(select(Project.sender_numbers, Project.rate_limit)):
            for number in numbers or ():
                key = self.gateway.sender_key(OutgoingSms(0, "", "", sender=number))
                known, slowest = senders.get(key, (set(), rate))
                known.add(number)
                # A sender shared by projects keeps the lowest of their limits.
                senders[key] = (known, min(slowest, rate) if slowest > 0 and rate > 0 else max(slowest, rate))
        mono = self.clock.monotonic()
        unlimited = 1 / (4 * self.concurrency)  # a nominal pace, so they take turns with the rest
        quotas = []
        for key, (numbers, rate) in senders.items():
            if not (self.gateway.rate_limited and rate > 0):
                quotas.append(outbox.Quota(frozenset(numbers), room, unlimited))
                continue
            per_segment = (1 + self.margin) / rate
            pacer = self.pacers.get(key)
            ahead = max(0.0, max(self.planned.get(key, mono), pacer.next_at if pacer else mono) - mono)
            ahead += sum(j.seconds for j in self.waiting.get(key, ()))
            fits = 0
            if self.full_until.get(key, mono) <= mono:
                # At least its next message, however slow the sender, once nothing waits here.
                fits = max(int((HORIZON_SECONDS - ahead) / per_segment), 0 if self.waiting.get(key) else 1)
            quotas.append(outbox.Quota(frozenset(numbers), max(0, min(room, fits)), per_segment, ahead))
        quotas.append(outbox.Quota(None, room, unlimited))
        return quotas

    def _claim(self, session, room: int, now) -> int:
        mono = self.clock.monotonic()
        strays = mono >= self.strays_at
        if strays:
            self.strays_at = mono + STRAYS_SECONDS
        ids = outbox.claim_batch(session, self.wid, limit=room, lease_seconds=get_settings().send_lease_seconds,
                                 now=now, quotas=self._quotas(session, room), strays=strays)
        if not ids:
            return 0
        rows = session.execute(
            select(Message, Project).join(Project, Project.id == Message.project_id).where(Message.id.in_(ids))
            .order_by(Message.id)
        ).all()
        by_project: dict[int, list[Message]] = {}
        projects = {}
        for message, project in rows:
            by_project.setdefault(project.id, []).append(message)
            projects[project.id] = project
        groups: dict[str, list[tuple[Message, OutgoingSms]]] = {}
        for project_id, messages in by_project.items():
            project = projects[project_id]
            # Chosen when queued; chosen again only where the project's numbers changed since.
            current = set(project.sender_numbers or ())
            stale = sorted({m.phone_number for m in messages
                            if (m.sender not in current if current else m.sender is not None)})
            senders = outbox.choose_senders(session, project, stale) if stale else {}
            for message in messages:
                sms = OutgoingSms(message_id=message.id, to=message.phone_number, body=message.body,
                                  sender=senders.get(message.phone_number, message.sender))
                groups.setdefault(self.gateway.sender_key(sms), []).append((message, sms))
        for sender, items in groups.items():
            self._queue(session, sender, items, projects, now)
        return len(ids)

    def _refuse_blocked(self, session, launch: list[Job], now) -> list[Job]:
        """The pre-send check, as late as possible: a number that opted out (or that a carrier
        error marked) after its message was queued gets nothing; the message fails and says why."""
        allowed = []
        blocked_now = blocked_numbers(session, [(j.project_id, j.sms.to) for j in launch])
        for job in launch:
            if (blocked := blocked_now.get((job.project_id, job.sms.to))) is not None:
                outbox.record_send_results(
                    session, [(job.sms.message_id, SendResult.failure(blocked.code, blocked.text, retryable=False))],
                    now=now, gateway=self.gateway.name)
                self._landed(job.sender)
            else:
                allowed.append(job)
        return allowed

    def _queue(self, session, sender: str, items, projects, now) -> None:
        """Keep what the sender can send within the horizon, its slots reserved in the database
        (shared by every worker); the rest goes back to the queue until the sender is free."""
        queue = self.waiting.setdefault(sender, deque())
        rate = projects[items[0][0].project_id].rate_limit if self.gateway.rate_limited else 0
        if rate <= 0:
            queue.extend(Job(sms, sender, 0.0, float("-inf"), m.project_id) for m, sms in items)
            return
        per_segment = (1 + self.margin) / rate  # seconds of the sender's time
        mono = self.clock.monotonic()
        free = ratelimit.next_free(session, sender, now=now)
        ahead = sum(j.seconds for j in queue)
        keep: list[tuple[Message, OutgoingSms]] = []
        for message, sms in items:
            if (keep or queue) and ahead + max(1, message.segments) * per_segment > HORIZON_SECONDS:
                break
            keep.append((message, sms))
            ahead += max(1, message.segments) * per_segment
        if (free - now).total_seconds() > MAX_RATE_WAIT_SECONDS and not queue:
            keep = []
        if keep:
            segments = sum(max(1, m.segments) for m, _ in keep)
            start = ratelimit.reserve(session, sender, segments, 1 / per_segment, now=now)
            not_before = mono + (start - now).total_seconds()
            for message, sms in keep:
                queue.append(Job(sms, sender, max(1, message.segments) * per_segment, not_before, message.project_id))
                not_before += max(1, message.segments) * per_segment
            free = start + timedelta(seconds=segments * per_segment)
        # Claimed again a little before the sender is free, so its queue here never runs dry.
        again = free - timedelta(seconds=HORIZON_SECONDS - MAX_RATE_WAIT_SECONDS)
        outbox.release(session, [m.id for m, _ in items[len(keep):]], self.wid, not_before=again)
        if len(keep) < len(items) or ahead + per_segment > HORIZON_SECONDS:
            self.full_until[sender] = mono + (again - now).total_seconds()

    def _due(self) -> list[Job]:
        """Jobs whose sender slot comes within the lookahead, within each sender's share of the
        threads (half of them when another sender has work, so a slow sender never takes all)."""
        horizon = self.clock.monotonic() + LOOKAHEAD_SECONDS
        active = [s for s, q in self.waiting.items() if q]
        if not active:
            return []
        with self.lock:
            flying = dict(self.flying)
        total = sum(flying.values())
        due: list[Job] = []
        # The sender with the fewest requests in flight first: a thread that frees up goes to
        # whoever is shortest of them.
        for sender in sorted(active, key=lambda s: flying.get(s, 0)):
            queue = self.waiting[sender]
            pacer = self.pacers.setdefault(sender, Pacer(self.clock, self.margin))
            share = self._share(sender, active, flying)
            while queue and total < self.concurrency and flying.get(sender, 0) < share:
                job = queue[0]
                at = max(self.planned.get(sender, float("-inf")), pacer.next_at, job.not_before)
                if job.seconds and at > horizon:
                    break
                queue.popleft()
                # From its slot, not from now: a late step lets the next ones catch up (the
                # pacer still keeps the limit), instead of every later slot slipping with it.
                self.planned[sender] = (at if at > float("-inf") else self.clock.monotonic()) + job.seconds
                flying[sender] = flying.get(sender, 0) + 1
                total += 1
                due.append(job)
        with self.lock:
            for job in due:
                self.flying[job.sender] = self.flying.get(job.sender, 0) + 1
        return due

    def _start(self, job: Job) -> None:
        self.pool.submit(self._send, job)

    def _send(self, job: Job) -> None:
        try:
            departed = (self.pacers[job.sender].take(job.seconds, job.not_before) if job.seconds
                        else self.clock.monotonic())
            result = replace(self.gateway.send(job.sms), departed_at=self._wall(departed))
        except Exception as exc:  # a gateway bug must not lose the message
            log.exception("gateway %s raised for message %s", self.gateway.name, job.sms.message_id)
            result = SendResult.failure(None, f"{type(exc).__name__}: {exc}", retryable=True)
        with self.lock:
            self.answered.append((job.sms.message_id, result))
        self._landed(job.sender)

    def _wall(self, mono: float) -> datetime:
        # The very reading the pacer spaced departures by, so recorded times show its spacing.
        return self.wall_zero + timedelta(seconds=mono - self.mono_zero)

    def _landed(self, sender: str) -> None:
        with self.lock:
            self.flying[sender] -= 1
        self.wake.set()

    def _share(self, sender: str, active: list[str], flying: dict[str, int]) -> int:
        """How many requests `sender` may have in flight: what the other senders leave free,
        keeping one for each that has work and nothing in flight, and never less than half
        (so a sender whose requests hang can never take every thread)."""
        others = sum(n for s, n in flying.items() if s != sender)
        starved = sum(1 for s in active if s != sender and not flying.get(s))
        return max(1, self.concurrency // 2, self.concurrency - others - starved)

    def next_due(self) -> float | None:
        """Seconds until the next waiting job that has a thread free may be handed over
        (None: nothing can be)."""
        with self.lock:
            flying = dict(self.flying)
        if sum(flying.values()) >= self.concurrency:
            return None
        active = [s for s, q in self.waiting.items() if q]
        times = []
        for sender in active:
            queue = self.waiting[sender]
            if flying.get(sender, 0) < self._share(sender, active, flying):
                pacer = self.pacers.get(sender)
                times.append(max(self.planned.get(sender, float("-inf")),
                                 pacer.next_at if pacer else float("-inf"), queue[0].not_before))
        if not times:
            return None
        return max(0.0, min(times) - LOOKAHEAD_SECONDS - self.clock.monotonic())

    def give_back(self) -> None:
        """Claimed messages not yet handed over go back to the queue, untouched (shutdown)."""
        jobs = [j for q in self.waiting.values() for j in q]
        for queue in self.waiting.values():
            queue.clear()
        if jobs:
            with writing(self.url) as session:
                outbox.release(session, [j.sms.message_id for j in jobs], self.wid, not_before=self.clock.now())

    def drain(self, stop: threading.Event | None = None) -> None:
        """Send everything claimed, wait for every answer, record it (no more claims)."""
        while self.busy():
            self.step(claim=False)
            if not self.busy():
                break
            due = self.next_due()
            if self.in_flight():
                self.wake.wait(due or 1.0)
            elif due:
                self.clock.sleep(due)

    def close(self) -> None:
        self.pool.shutdown(wait=True)


def housekeeping(url: str | None, clock: Clock) -> None:
    """Expire dead claims, end messages past their deadline `expired`, apply early delivery
    reports, fire due automated messages."""
    with writing(url) as session:
        outbox.expire_leases(session, now=clock.now())
        deadlines.expire_overdue(session, now=clock.now())
        outbox.apply_early_reports(session, now=clock.now())
    if is_sqlite(get_engine(url)):
        with _SQLITE_WRITES:
            automation.run_round(url, clock=clock)  # due reminders and broadcasts, survey timeouts, delays
    else:
        automation.run_round(url, clock=clock)


def reconcile(gateway: Gateway, url: str | None = None, clock: Clock = SYSTEM, limit: int = 50) -> int:
    """Look `unknown` sends up in the gateway's records. Returns how many settled."""
    if getattr(gateway, "find", None) is None:
        return 0
    with session_scope(url, readonly=True) as session:
        lost = [(m.id, OutgoingSms(m.id, m.phone_number, m.body), m.sender, m.send_started_at,
                 outbox.known_gateway_ids(session, m))
                for m in outbox.lost_sends(session, now=clock.now(), limit=limit)]
    settled = 0
    for message_id, sms, sender, since, exclude in lost:
        lookup = find_lost(gateway, sms, sender, since, exclude)
        with writing(url) as session:
            message = outbox.settle_lost(session, message_id, lookup, no_record_text=gateway.no_record_text,
                                         now=clock.now())
            settled += bool(message is not None and message.reconciled_at is not None)
    return settled


def run_once(gateway: Gateway, *, wid: str | None = None, batch_size: int | None = None, url: str | None = None,
             clock: Clock = SYSTEM) -> int:
    """One round: housekeeping, look up lost answers, claim a batch, send all of it (many at
    once), record. Every "now" and every wait comes from `clock`. Returns how many were claimed."""
    settings = get_settings()
    housekeeping(url, clock)
    reconcile(gateway, url, clock)
    dispatcher = Dispatcher(gateway, wid or worker_id(), url, clock)
    try:
        claimed, _ = dispatcher.step(limit=batch_size or settings.worker_batch_size)
        dispatcher.drain()
    finally:
        dispatcher.close()
    return claimed


def run_forever(gateway: Gateway | None = None, *, stop: threading.Event | None = None, url: str | None = None,
                clock: Clock = SYSTEM) -> None:
    settings = get_settings()
    gateway = gateway or get_gateway(settings)
    stop = stop or threading.Event()
    wid = worker_id()
    log.info("worker %s started (gateway: %s, %d in flight)", wid, gateway.name, settings.worker_concurrency)
    dispatcher = Dispatcher(gateway, wid, url, clock)
    # Housekeeping and look-ups run beside the send loop, so neither ever delays a departure.
    chores = [threading.Thread(target=_housekeeping_forever, args=(stop, url, clock), daemon=True, name="chores")]
    if getattr(gateway, "find", None) is not None:
        chores.append(threading.Thread(target=_reconcile_forever, args=(gateway, stop, url, clock), daemon=True,
                                       name="reconcile"))
    for thread in chores:
        thread.start()
    failures = 0
    claim_at = last_claim = float("-inf")
    try:
        while not stop.is_set():
            try:
                claim_now = clock.monotonic() >= claim_at
                claimed, recorded = dispatcher.step(claim=claim_now)
                if claim_now:
                    last_claim = clock.monotonic()
                failures = 0
            except Exception:
                # The database is away: back off and try again; claimed rows expire into `unknown`.
                failures += 1
                log.exception("worker round failed (%d in a row)", failures)
                clock.sleep(min(30.0, settings.worker_poll_seconds * 2**failures), stop)
                continue
            if claimed or recorded:
                # More may be claimable (an answer frees the contact's next message); while this
                # worker holds work, claims are spaced so bookkeeping never crowds out sending.
                claim_at = last_claim + CLAIM_SECONDS if dispatcher.held() else float("-inf")
                continue
            if clock.monotonic() >= claim_at:
                claim_at = clock.monotonic() + idle_seconds(settings.worker_poll_seconds, url, clock)
            if not dispatcher.busy():
                clock.sleep(max(0.0, claim_at - clock.monotonic()), stop)
                continue
            due = dispatcher.next_due()
            timeout = max(0.0, min(claim_at - clock.monotonic(), due if due is not None else float("inf")))
            if dispatcher.in_flight():
                if dispatcher.wake.wait(timeout):
                    # Let a few more answers land, so one transaction records several.
                    stop.wait(min(RECORD_BATCH_SECONDS, due if due is not None else RECORD_BATCH_SECONDS))
            elif timeout:
                clock.sleep(timeout, stop)
        # SIGTERM: no more claims; what is in flight finishes and is recorded.
        dispatcher.give_back()
        dispatcher.drain()
    finally:
        dispatcher.close()
        log.info("worker %s stopped", wid)


def _housekeeping_forever(stop: threading.Event, url: str | None, clock: Clock) -> None:
    poll = get_settings().worker_poll_seconds
    failures = 0
    while not stop.is_set():
        try:
            housekeeping(url, clock)
            failures = 0
        except Exception:  # noqa: BLE001 - the database is away: back off
            failures += 1
            log.exception("housekeeping failed (%d in a row)", failures)
        # Paced on real time: the chores' "now" comes from the clock, but a test's manual clock
        # moves only with the send loop's own waits.
        if stop.wait(min(30.0, poll * 2**failures) if failures else poll):
            return


def _reconcile_forever(gateway: Gateway, stop: threading.Event, url: str | None, clock: Clock) -> None:
    every = get_settings().reconcile_every_seconds
    while not stop.wait(min(every, 1.0)):
        try:
            reconcile(gateway, url, clock)
        except Exception:  # noqa: BLE001 - the database is away: the send loop reports it
            log.exception("looking up lost answers failed")


def idle_seconds(poll: float, url: str | None = None, clock: Clock = SYSTEM) -> float:
    """Sleep a poll interval, or less when a queued message falls due sooner (a sender slot
    freeing up, a backoff ending): a rate-limited sender is never left idle for a poll."""
    try:
        with session_scope(url, readonly=True) as session:
            due = outbox.next_due_at(session)
    except Exception:  # noqa: BLE001 - the next round reports database trouble
        return poll
    if due is None:
        return poll
    return min(poll, max(0.01, (due - clock.now()).total_seconds()))


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # The CLI has set up logging at WARNING already: the worker's own start and stop lines are INFO.
    logging.getLogger("smschat").setLevel(logging.INFO)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    run_forever(stop=stop)
