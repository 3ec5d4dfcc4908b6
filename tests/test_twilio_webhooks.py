"""Twilio's webhooks through a real uvicorn, signed with Twilio's own algorithm."""

import httpx
import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from smschat.accounts.actor import Actor
from smschat.chat import window as chat
from smschat.config import reload_settings
from smschat.messaging import outbox
from smschat.models import Message, PhoneNumber
from smschat.people import contacts, unknown_senders

from .conftest import PUBLIC_URL, TWILIO_SID, TWILIO_TOKEN

SENDER = "+15005550006"  # the test project's number


def _signed_post(base, path, form, *, url=None, token=TWILIO_TOKEN, headers=None):
    signature = RequestValidator(token).compute_signature(url or PUBLIC_URL + path, form)
    return httpx.post(base + path, data=form, headers={"X-Twilio-Signature": signature, **(headers or {})})


def _inbound(base, body, sid, *, frm="+17033996500", to=SENDER, **kw):
    form = {"MessageSid": sid, "AccountSid": TWILIO_SID, "From": frm, "To": to, "Body": body, "NumSegments": "1"}
    return _signed_post(base, "/twilio/inbound", form, **kw)


def _count(session):
    session.rollback()
    return session.scalar(select(func.count()).select_from(Message))


def test_a_signed_inbound_sms_lands_in_the_chat_and_gets_empty_twiml(twilio_env, webhook_server, session, project, marie):
    r = _inbound(webhook_server, "I visited two patients", "SMin1")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/xml")
    assert r.text.endswith("<Response></Response>")
    session.rollback()
    [line] = chat.get_history(session, project.id, marie.id)
    assert (line.sender, line.body) == ("marie", "I visited two patients")


def test_a_repeated_webhook_stores_nothing_new(twilio_env, webhook_server, session, project, marie):
    statuses = [_inbound(webhook_server, "hello", "SMdup").status_code for _ in range(3)]
    assert statuses == [200, 200, 200] and _count(session) == 1


def test_the_same_webhook_five_times_at_once_is_stored_once(twilio_env, webhook_server, session, project, marie):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(5) as pool:
        codes = list(pool.map(lambda _: _inbound(webhook_server, "at once", "SMrace5").status_code, range(5)))
    assert codes == [200] * 5 and _count(session) == 1


@pytest.mark.parametrize(
    "kind", ["missing", "wrong token", "tampered body", "other url"],
)
def test_a_bad_signature_is_refused_with_403_and_stores_nothing(twilio_env, webhook_server, session, project, marie, kind):
    form = {"MessageSid": "SMbad", "From": "+17033996500", "To": SENDER, "Body": "hi"}
    if kind == "missing":
        r = httpx.post(webhook_server + "/twilio/inbound", data=form)
    elif kind == "wrong token":
        r = _signed_post(webhook_server, "/twilio/inbound", form, token="not-the-token")
    elif kind == "tampered body":
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC_URL + "/twilio/inbound", form)
        r = httpx.post(webhook_server + "/twilio/inbound", data={**form, "Body": "send money"},
                       headers={"X-Twilio-Signature": signature})
    else:
        r = _signed_post(webhook_server, "/twilio/inbound", form, url="https://evil.example.com/twilio/inbound")
    assert r.status_code == 403 and "Signature" in r.text
    assert _count(session) == 0


def test_behind_a_proxy_the_forwarded_url_is_the_signed_one(twilio_env, webhook_server, session, project, marie, monkeypatch):
    monkeypatch.delenv("SMSCHAT_PUBLIC_URL")
    from smschat.config import get_settings

    get_settings.cache_clear()
    proxied = "https://chat.example.net/twilio/inbound"
    r = _inbound(webhook_server, "via proxy", "SMproxy", url=proxied,
                 headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "chat.example.net"})
    assert r.status_code == 200 and _count(session) == 1


def test_delivery_reports_only_move_forward(twilio_env, webhook_server, session, project, marie):
    agent_msg = outbox.enqueue(session, project, marie, "hello", workflow="chat")
    agent_msg.gateway_message_id = "SMout1"
    agent_msg.status = "sent"
    session.commit()

    def report(status, **extra):
        form = {"MessageSid": "SMout1", "MessageStatus": status, "AccountSid": TWILIO_SID, **extra}
        return _signed_post(webhook_server, "/twilio/status", form).status_code

    assert [report("delivered"), report("sent"), report("queued"), report("delivered")] == [200] * 4
    session.rollback()
    assert session.get(Message, agent_msg.id, populate_existing=True).status == "delivered"


def test_an_undelivered_report_shows_twilios_reason_in_the_chat(twilio_env, webhook_server, session, project, marie):
    msg = outbox.enqueue(session, project, marie, "hello", workflow="chat")
    msg.gateway_message_id, msg.status = "SMout2", "sent"
    session.commit()
    form = {"MessageSid": "SMout2", "MessageStatus": "undelivered", "ErrorCode": "30003"}
    assert _signed_post(webhook_server, "/twilio/status", form).status_code == 200
    session.rollback()
    session.expire_all()
    [line] = chat.get_history(session, project.id, marie.id)
    assert line.status == "undelivered" and line.error.startswith("[30003] Unreachable destination handset — ")


def test_a_report_that_beats_the_worker_is_applied_when_the_id_is_recorded(twilio_env, webhook_server, session, project, marie):
    form = {"MessageSid": "SMrace", "MessageStatus": "delivered"}
    assert _signed_post(webhook_server, "/twilio/status", form).status_code == 200
    msg = outbox.enqueue(session, project, marie, "hello", workflow="chat")
    session.commit()
    outbox.claim_batch(session, "w")
    from smschat.gateways import SendResult

    outbox.record_send_result(session, msg.id, SendResult(ok=True, status="queued", gateway_message_id="SMrace"))
    outbox.apply_early_reports(session)
    session.commit()
    assert session.get(Message, msg.id, populate_existing=True).status == "delivered"


@pytest.mark.parametrize("word", ["STOP", "stop", " Unsubscribe ", "CANCEL", "END", "QUIT", "STOPALL"])
def test_stop_words_opt_the_number_out_and_chat_is_refused(twilio_env, webhook_server, session, project, agent, marie, word):
    assert _inbound(webhook_server, word, "SMstop").status_code == 200
    session.rollback()
    assert session.scalar(select(PhoneNumber.opted_out).where(PhoneNumber.contact_id == marie.id)) is True
    with pytest.raises(Exception, match="opted out"):
        chat.send_chat_message(session, project.id, marie.id, agent.id, "are you there?")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Message).where(Message.direction == "out")) == 0


def test_stop_inside_a_sentence_is_just_a_message(twilio_env, webhook_server, session, project, marie):
    _inbound(webhook_server, "please stop by the clinic", "SMnotstop")
    session.rollback()
    assert session.scalar(select(PhoneNumber.opted_out).where(PhoneNumber.contact_id == marie.id)) is False


@pytest.mark.parametrize("word", ["START", "yes", "Unstop"])
def test_start_words_opt_back_in(twilio_env, webhook_server, session, project, agent, marie, word):
    _inbound(webhook_server, "STOP", "SMs1")
    _inbound(webhook_server, word, "SMs2")
    session.rollback()
    assert chat.send_chat_message(session, project.id, marie.id, agent.id, "welcome back").status == "queued"


def test_yes_from_a_number_that_never_opted_out_is_an_ordinary_reply(twilio_env, webhook_server, session, project, marie):
    _inbound(webhook_server, "Yes", "SMyes")
    session.rollback()
    assert [line.body for line in chat.get_history(session, project.id, marie.id)] == ["Yes"]
    assert session.scalar(select(PhoneNumber.opted_out).where(PhoneNumber.contact_id == marie.id)) is False


def test_help_is_answered_with_the_projects_help_text(twilio_env, webhook_server, session, project, marie):
    project.help_text = "Clinic hotline: 555-0100. Reply STOP to stop."
    session.commit()
    _inbound(webhook_server, "help", "SMhelp")
    session.rollback()
    lines = chat.get_history(session, project.id, marie.id)
    assert [(line.sender, line.body) for line in lines] == [
        ("marie", "help"), ("System", "Clinic hotline: 555-0100. Reply STOP to stop.")]


def test_an_unknown_sender_is_kept_and_listed(twilio_env, webhook_server, session, project, agent, marie):
    assert _inbound(webhook_server, "who is this?", "SMunk", frm="+14155550123").status_code == 200
    session.rollback()
    [row] = unknown_senders.list_unknown_senders(session, Actor.web(agent.id), project.id)
    assert (row.phone_number, row.messages, row.last_body) == ("+14155550123", 1, "who is this?")
    [line] = unknown_senders.thread(session, Actor.web(agent.id), project.id, "+14155550123")
    assert line.body == "who is this?"


def test_a_number_no_project_uses_is_refused_and_nothing_is_stored(twilio_env, webhook_server, session, project):
    r = _inbound(webhook_server, "hello", "SMlost", frm="+14155550123", to="+14155550199")
    assert r.status_code == 404 and _count(session) == 0


def test_a_contact_texting_another_of_our_numbers_is_routed_by_its_two_way_number(twilio_env, webhook_server, session, project, marie):
    r = _inbound(webhook_server, "hello", "SMroute", to="+14155550199")
    assert r.status_code == 200
    session.rollback()
    assert [line.body for line in chat.get_history(session, project.id, marie.id)] == ["hello"]


@pytest.mark.parametrize(
    "path,kwargs",
    [
        ("/twilio/inbound", {"json": {"From": "+17033996500", "To": SENDER, "Body": "x", "MessageSid": "SMj"}}),
        ("/twilio/inbound", {"content": b"\xff\xfe=\x00", "headers": {"content-type": "application/x-www-form-urlencoded"}}),
        ("/twilio/inbound", {"signed": {"From": "+17033996500", "To": SENDER, "Body": "no sid"}}),
        ("/twilio/inbound", {"signed": {"From": "not a number", "To": SENDER, "Body": "x", "MessageSid": "SMx"}}),
        ("/twilio/status", {"signed": {"MessageSid": "SMx"}}),
        ("/twilio/status", {"signed": {"MessageSid": "SMx", "MessageStatus": "exploded"}}),
    ],
)
def test_malformed_requests_get_400_and_store_nothing(twilio_env, webhook_server, session, project, marie, path, kwargs):
    if "signed" in kwargs:
        r = _signed_post(webhook_server, path, kwargs["signed"])
    else:
        r = httpx.post(webhook_server + path, **kwargs)
    assert r.status_code == 400 and r.text
    assert _count(session) == 0


@pytest.fixture
def twilio_without_token(db_url, monkeypatch):
    monkeypatch.setenv("SMSCHAT_GATEWAY", "twilio")
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    reload_settings()


def test_twilio_routes_refuse_everything_without_an_auth_token(twilio_without_token, webhook_server, session, project,
                                                               marie):
    assert _inbound(webhook_server, "hi", "SMnotoken").status_code == 403
    assert _count(session) == 0


def test_inbound_for_a_contact_in_a_case_list_uses_its_number(twilio_env, webhook_server, session, project):
    case = contacts.create_contact(session, project, "case", "Ruth", case_properties={"name": "Ruth"})
    contacts.register_phone(session, project, case, "+14155550142")
    session.commit()
    _inbound(webhook_server, "my baby has a fever", "SMcase", frm="+1 (415) 555-0142")
    session.rollback()
    assert [line.sender for line in chat.get_history(session, project.id, case.id)] == ["Ruth"]
