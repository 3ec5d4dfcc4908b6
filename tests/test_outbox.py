from datetime import timedelta

import pytest
from sqlalchemy import select, update

from smschat.chat import window as chat
from smschat.config import get_settings
from smschat.errors import MessageNotFound, ValidationError
from smschat.gateways import SendResult
from smschat.messaging import outbox
from smschat.models import Message, utcnow


def _queue(session, project, agent, marie, n=1):
    ids = [chat.send_chat_message(session, project.id, marie.id, agent.id, f"m{i}").id for i in range(n)]
    session.commit()
    return ids


def _claim(session, **kw):
    ids = outbox.claim_batch(session, "w1", **kw)
    session.commit()
    return ids


def test_claimed_message_is_sending_and_not_claimed_again(session, project, agent, marie):
    [mid] = _queue(session, project, agent, marie)
    assert _claim(session) == [mid]
    assert _claim(session) == []
    assert session.get(Message, mid).status == "sending"


def test_only_the_oldest_pending_message_per_number_is_claimable(session, project, agent, marie):
    first, second = _queue(session, project, agent, marie, 2)
    assert _claim(session) == [first]
    outbox.record_send_result(session, first, SendResult(ok=True, status="sent", gateway_message_id="G1"))
    session.commit()
    assert _claim(session) == [second]


def test_send_result_records_gateway_id_and_status(session, project, agent, marie):
    [mid] = _queue(session, project, agent, marie)
    _claim(session)
    msg = outbox.record_send_result(session, mid, SendResult(ok=True, status="queued", gateway_message_id="SM1", segments=2))
    session.commit()
    assert (msg.status, msg.gateway_message_id, msg.segments) == ("sent", "SM1", 2)


def test_late_status_callback_never_moves_status_back(session, project, agent, marie):
    [mid] = _queue(session, project, agent, marie)
    _claim(session)
    outbox.record_send_result(session, mid, SendResult(ok=True, status="sent", gateway_message_id="SM2"))
    outbox.apply_status_update(session, "SM2", "delivered")
    for late in ("sent", "sending", "queued", "delivered"):
        outbox.apply_status_update(session, "SM2", late)
    session.commit()
    assert session.get(Message, mid).status == "delivered"


def test_failure_callback_keeps_error_and_is_final(session, project, agent, marie):
    [mid] = _queue(session, project, agent, marie)
    _claim(session)
    outbox.record_send_result(session, mid, SendResult(ok=True, status="sent", gateway_message_id="SM3"))
    outbox.apply_status_update(session, "SM3", "undelivered", error_code="30003", error_message="Unreachable handset")
    outbox.apply_status_update(session, "SM3", "delivered")
    session.commit()
    msg = session.get(Message, mid)
    assert (msg.status, msg.error_code) == ("undelivered", "30003")
    [line] = chat.get_history(session, project.id, marie.id)
    assert line.error == "[30003] Unreachable handset"


def test_unknown_status_word_is_refused(session):
    with pytest.raises(ValidationError):
        outbox.apply_status_update(session, "SMX", "teleported")


def test_callback_for_unknown_message_changes_nothing(session, project):
    assert outbox.apply_status_update(session, "nope", "delivered") is None


def test_temporary_failure_requeues_with_backoff_then_fails(session, project, agent, marie):
    [mid] = _queue(session, project, agent, marie)
    temporary = SendResult.failure("429", "Too many requests", retryable=True)
    for attempt in range(1, get_settings().max_send_attempts + 1):
        now = utcnow() + timedelta(hours=attempt)
        assert outbox.claim_batch(session, "w", now=now) == [mid]
        msg = outbox.record_send_result(session, mid, temporary, now=now)
        session.commit()
        if attempt < get_settings().max_send_attempts:
            assert msg.status == "queued" and msg.next_attempt_at > now
            assert outbox.claim_batch(session, "w", now=now) == []  # not before its backoff
    assert (msg.status, msg.error_code) == ("failed", "429")


def test_permanent_failure_fails_at_once(session, project, agent, marie):
    [mid] = _queue(session, project, agent, marie)
    _claim(session)
    msg = outbox.record_send_result(session, mid, SendResult.failure("21211", "Invalid 'To' number", retryable=False))
    assert (msg.status, msg.attempts) == ("failed", 1)


def test_expired_claim_handed_to_the_gateway_becomes_unknown_and_can_be_retried(session, project, agent, marie):
    [mid] = _queue(session, project, agent, marie)
    outbox.claim_batch(session, "dead-worker", lease_seconds=5)
    assert outbox.renew_lease(session, mid, "dead-worker", start=True)
    session.commit()
    assert outbox.expire_leases(session) == 0
    assert outbox.expire_leases(session, now=utcnow() + timedelta(minutes=10)) == 1
    session.commit()
    session.expire_all()
    assert session.get(Message, mid).status == "unknown"
    assert _claim(session) == []  # never re-sent silently
    outbox.retry(session, project.id, mid)
    session.commit()
    assert _claim(session) == [mid]


def test_expired_claim_never_handed_over_goes_back_to_the_queue(session, project, agent, marie):
    from smschat.people import contacts

    other = contacts.create_contact(session, project, "mobile_worker", "joe", username="joe")
    contacts.register_phone(session, project, other, "+17033996501", verified=True)
    [first] = _queue(session, project, agent, marie)
    second = chat.send_chat_message(session, project.id, other.id, agent.id, "to joe").id
    session.commit()
    assert outbox.claim_batch(session, "dead-worker", lease_seconds=5) == [first, second]
    assert outbox.renew_lease(session, first, "dead-worker", start=True)  # died while sending the first
    session.commit()
    assert outbox.expire_leases(session, now=utcnow() + timedelta(minutes=10)) == 2
    session.commit()
    session.expire_all()
    assert (session.get(Message, first).status, session.get(Message, second).status) == ("unknown", "queued")
    assert _claim(session) == [second]
    assert not outbox.renew_lease(session, first, "dead-worker", start=True)  # the dead claim is gone


def test_delivery_report_before_the_id_is_recorded_is_kept_and_applied(session, project, agent, marie):
    [mid] = _queue(session, project, agent, marie)
    _claim(session)
    assert outbox.apply_status_update(session, "SMearly", "delivered") is None  # the callback won the race
    session.commit()
    msg = outbox.record_send_result(session, mid, SendResult(ok=True, status="queued", gateway_message_id="SMearly"))
    session.commit()
    assert msg.status == "sent"
    assert outbox.apply_early_reports(session) == 1
    session.commit()
    session.expire_all()
    assert session.get(Message, mid).status == "delivered"
    assert outbox.apply_early_reports(session) == 0  # applied once, then gone


def test_retry_is_refused_for_delivered_or_foreign_messages(session, project, agent, marie):
    [mid] = _queue(session, project, agent, marie)
    with pytest.raises(ValidationError):
        outbox.retry(session, project.id, mid)  # still queued
    with pytest.raises(MessageNotFound):
        outbox.retry(session, project.id + 1000, mid)


def test_opted_out_number_gets_nothing(session, project, agent, marie):
    phone = marie.phone_numbers[0]
    phone.opted_out = True
    session.commit()
    with pytest.raises(ValidationError, match="opted out"):
        chat.send_chat_message(session, project.id, marie.id, agent.id, "hi")
    session.rollback()
    assert session.scalars(select(Message)).all() == []


def test_a_message_knows_its_sender_when_queued_and_a_busy_sender_is_left_in_the_queue(session, project, agent):
    from smschat.people import contacts

    project.sender_numbers = ["+15550000001", "+15550000002"]
    people = []
    for i in range(8):
        c = contacts.create_contact(session, project, "case", f"case {i}")
        contacts.register_phone(session, project, c, f"+1415555{i:04d}")
        people.append(c)
    ids = [chat.send_chat_message(session, project.id, c.id, agent.id, "hello").id for c in people]
    session.commit()
    senders = {i: session.get(Message, i).sender for i in ids}
    assert set(senders.values()) == {"+15550000001", "+15550000002"}  # spread, and known before any claim
    busy = [outbox.Quota(frozenset({"+15550000001"}), 0), outbox.Quota(frozenset({"+15550000002"}), 50),
            outbox.Quota(None, 50)]
    claimed = _claim(session, quotas=busy)
    assert claimed == sorted(i for i in ids if senders[i] == "+15550000002")
    # Nothing was taken from the busy sender: its messages are still queued for another claim.
    assert _claim(session) == sorted(i for i in ids if senders[i] == "+15550000001")


def test_one_senders_backlog_never_crowds_another_sender_out_of_a_claim(session, project, agent):
    from smschat.people import contacts

    def queue(sender: str, n: int, start: int) -> list[int]:
        project.sender_numbers = [sender]
        out = []
        for i in range(start, start + n):
            c = contacts.create_contact(session, project, "case", f"case {i}")
            contacts.register_phone(session, project, c, f"+1415555{i:04d}")
            out.append(chat.send_chat_message(session, project.id, c.id, agent.id, "hello").id)
        return out

    slow = queue("+15550000001", 20, 0)  # older: first in id order
    fast = queue("+15550000002", 5, 100)
    session.commit()
    quotas = [outbox.Quota(frozenset({"+15550000001"}), 10, pace=0.1),
              outbox.Quota(frozenset({"+15550000002"}), 10, pace=0.01), outbox.Quota(None, 10, pace=0.01)]
    # The faster sender's messages can all leave before the slower sender's second one.
    assert _claim(session, limit=6, quotas=quotas) == sorted(fast + slow[:1])
    # Each sender's quota caps what one claim takes from it.
    assert _claim(session, limit=50, quotas=quotas) == slow[1:11]
    # Messages whose sender is in no quota (here: none chosen) come through the last one.
    session.execute(update(Message).where(Message.id.in_(slow[11:])).values(sender=None))
    session.commit()
    assert _claim(session, limit=50, quotas=quotas[:2]) == []
    assert _claim(session, limit=50, quotas=quotas, strays=False) == slow[11:]
    # One whose sender is no longer any quota's (the project's numbers changed): only when the
    # claim looks for strays, which reads the whole queue.
    stray = queue("+15550000009", 1, 200)
    session.commit()
    assert _claim(session, limit=50, quotas=quotas, strays=False) == []
    assert _claim(session, limit=50, quotas=quotas) == stray
