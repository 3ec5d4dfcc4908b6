import threading
from collections import Counter

from sqlalchemy import func, select

from smschat.chat import window as chat
from smschat.clock import ManualClock
from smschat.config import reload_settings
from smschat.gateways import OutgoingSms, SendResult
from smschat.gateways.loopback.sender import LoopbackGateway
from smschat.messaging import worker
from smschat.models import Message
from smschat.people import contacts

from .queueing import most_in_any_second


class RecordingGateway:
    """Counts every send it is asked for (thread-safe); accepts all of them."""

    name = "recording"
    rate_limited = False

    def sender_key(self, sms):
        return "recording"

    def __init__(self):
        self.lock = threading.Lock()
        self.sent: list[OutgoingSms] = []

    def send(self, sms):
        with self.lock:
            self.sent.append(sms)
        return SendResult(ok=True, status="sent", gateway_message_id=f"R{sms.message_id}")


class ExplodingGateway:
    name = "exploding"
    rate_limited = False

    def sender_key(self, sms):
        return "exploding"

    def send(self, sms):
        raise RuntimeError("driver bug")


def test_worker_sends_queued_messages_through_loopback(session, db_url, project, agent, marie):
    msg = chat.send_chat_message(session, project.id, marie.id, agent.id, "hello")
    session.commit()
    assert worker.run_once(LoopbackGateway(), url=db_url) == 1
    session.expire_all()
    sent = session.get(Message, msg.id)
    assert (sent.status, sent.gateway) == ("delivered", "loopback")
    assert sent.gateway_message_id.startswith("LB")
    assert worker.run_once(LoopbackGateway(), url=db_url) == 0


def test_a_gateway_that_raises_loses_nothing(session, db_url, project, agent, marie):
    msg = chat.send_chat_message(session, project.id, marie.id, agent.id, "hello")
    session.commit()
    worker.run_once(ExplodingGateway(), url=db_url)
    session.expire_all()
    again = session.get(Message, msg.id)
    assert again.status == "queued" and "driver bug" in again.error_message


def test_two_workers_drain_1000_messages_each_sent_exactly_once(session, db_url, project, agent):
    # 200 contacts x 5 messages: concurrency across contacts, order within each.
    people = []
    for i in range(200):
        c = contacts.create_contact(session, project, "case", f"c{i}")
        contacts.register_phone(session, project, c, f"+2547120{i:05d}")
        people.append(c)
    session.flush()
    for round_ in range(5):
        for c in people:
            chat.send_chat_message(session, project.id, c.id, agent.id, f"{c.name}-{round_}")
    session.commit()

    gateway = RecordingGateway()
    stop = threading.Event()

    def drain():
        wid = worker.worker_id()
        idle = 0
        while idle < 3 and not stop.is_set():
            idle = idle + 1 if worker.run_once(gateway, wid=wid, url=db_url, batch_size=25) == 0 else 0

    threads = [threading.Thread(target=drain) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    stop.set()

    counts = Counter(sms.message_id for sms in gateway.sent)
    assert len(counts) == 1000
    assert max(counts.values()) == 1
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Message).where(Message.status != "sent")) == 0
    # First in, first out per contact.
    by_number: dict[str, list[str]] = {}
    for sms in gateway.sent:
        by_number.setdefault(sms.to, []).append(sms.body)
    assert all(bodies == sorted(bodies) for bodies in by_number.values())


def test_an_idle_worker_waits_on_its_clock_a_poll_at_a_time(db_url, monkeypatch):
    monkeypatch.setenv("SMSCHAT_WORKER_POLL_SECONDS", "7")
    reload_settings()
    stop = threading.Event()

    class StopsAfterThreeWaits(ManualClock):
        def sleep(self, seconds, stop_event=None):
            super().sleep(seconds, stop_event)
            if len(self.sleeps) == 3:
                stop.set()
            return stop.is_set()

    clock = StopsAfterThreeWaits()
    worker.run_forever(RecordingGateway(), stop=stop, url=db_url, clock=clock)
    assert clock.sleeps == [7.0, 7.0, 7.0]


def test_the_pacer_keeps_a_senders_limit_in_every_second_and_a_late_start_catches_up():
    clock = ManualClock()
    pacer = worker.Pacer(clock, margin=0.03)
    seconds = 1.03 / 10  # one segment of a 10/s sender
    departures = []
    slot = 0.0
    for i in range(60):
        if i in (5, 20, 21):
            clock.advance(0.35)  # the machine stalls: these leave late
        departures.append(pacer.take(seconds, slot))
        slot += seconds
    assert most_in_any_second(departures) == 10
    # The stalls did not push every later departure back: the sender ends where its slots end.
    assert departures[-1] <= slot
    # A message longer than the limit's whole second still goes, once the window is empty.
    long = pacer.take(12 * seconds, 0.0)
    assert long >= departures[-1] + 1.0
    assert most_in_any_second(departures + [long]) == 10
