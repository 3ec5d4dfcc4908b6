"""A reply storm after a broadcast: signed inbound webhooks from many numbers at once, each
also delivered twice (Twilio retries), against the real webhooks app under uvicorn."""

import random
import threading
from collections import defaultdict

import httpx
import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from smschat.models import Message
from smschat.people import contacts

from .conftest import PUBLIC_URL, TWILIO_SID, TWILIO_TOKEN

pytestmark = pytest.mark.timeout(180)

SENDER = "+15005550006"
CONTACTS, REPLIES = 12, 8


def _post(client, base, form):
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC_URL + "/twilio/inbound", form)
    return client.post(base + "/twilio/inbound", data=form, headers={"X-Twilio-Signature": signature})


def test_a_burst_of_concurrent_replies_is_stored_once_each_in_order_and_repeats_store_nothing(
        twilio_env, webhook_server, session, project):
    numbers = []
    for i in range(CONTACTS):
        c = contacts.create_contact(session, project, "case", f"patient {i}")
        numbers.append(contacts.register_phone(session, project, c, f"+1415555{i:04d}").e164)
    session.commit()
    numbers.append("+14155559999")  # nobody's number: kept for Unknown senders
    acknowledged: list[dict] = []
    lock = threading.Lock()
    answers = defaultdict(list)

    def phone(number):
        # One phone replies in order: each reply after the previous one was answered,
        # and each one twice (Twilio retries when an answer is slow).
        with httpx.Client(timeout=30) as client:
            for k in range(REPLIES):
                body = "STOP" if (number == numbers[0] and k == REPLIES // 2) else f"{number} reply {k}"
                form = {"MessageSid": f"SM{number[1:]}{k:04d}", "AccountSid": TWILIO_SID, "From": number,
                        "To": SENDER, "Body": body, "NumSegments": "1"}
                for _ in range(2):
                    answers[number].append(_post(client, webhook_server, form).status_code)
                with lock:
                    acknowledged.append(form)

    def replayer(seed):
        # Meanwhile, old webhooks delivered yet again, at random.
        rnd = random.Random(seed)
        with httpx.Client(timeout=30) as client:
            for _ in range(30):
                with lock:
                    form = rnd.choice(acknowledged) if acknowledged else None
                if form is not None:
                    answers["replays"].append(_post(client, webhook_server, form).status_code)

    threads = [threading.Thread(target=phone, args=(n,)) for n in numbers]
    threads += [threading.Thread(target=replayer, args=(s,)) for s in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(150)
    assert all(code == 200 for codes in answers.values() for code in codes), answers

    session.rollback()
    stored = session.scalars(select(Message).where(Message.direction == "in").order_by(Message.id)).all()
    assert len(stored) == len(numbers) * REPLIES  # nothing lost, nothing twice
    assert len({m.gateway_message_id for m in stored}) == len(stored)
    per_number = defaultdict(list)
    for m in stored:
        per_number[m.phone_number].append(m.gateway_message_id)
    for number in numbers:
        assert per_number[number] == [f"SM{number[1:]}{k:04d}" for k in range(REPLIES)], "out of order"
    # Contacts' replies went to their conversations, the stranger's to Unknown senders;
    # the STOP in the storm opted its number out.
    assert {m.contact_id is None for m in stored if m.phone_number == numbers[-1]} == {True}
    assert all(m.contact_id is not None for m in stored if m.phone_number != numbers[-1])
    assert contacts.is_opted_out(session, project.id, numbers[0])


def test_a_sender_number_moved_to_another_project_is_followed_at_the_next_message(session, project):
    """The project of a To number is remembered as a hint only: checked in the same query."""
    from smschat.accounts import projects
    from smschat.accounts.actor import OPERATOR
    from smschat.errors import ProjectNotFound
    from smschat.messaging import inbound

    other = projects.create_project(session, "other", "Other", time_zone="Africa/Nairobi")
    session.commit()
    first = inbound.receive_at(session, SENDER, "+14155550100", "one", gateway_message_id="SM1").message
    session.commit()
    projects.remove_sender_number(session, OPERATOR, project.id, SENDER)
    projects.add_sender_number(session, OPERATOR, other.id, SENDER)
    session.commit()
    second = inbound.receive_at(session, SENDER, "+14155550100", "two", gateway_message_id="SM2").message
    session.commit()
    assert (first.project_id, second.project_id) == (project.id, other.id)
    projects.remove_sender_number(session, OPERATOR, other.id, SENDER)
    session.commit()
    with pytest.raises(ProjectNotFound):
        inbound.receive_at(session, SENDER, "+14155550100", "three", gateway_message_id="SM3")
    session.rollback()
