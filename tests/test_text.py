"""The one rule for untrusted text (smschat/text.py), at every edge, on both backends: an
inbound SMS is never lost for its content, stored text is clean, search and filter text with
a control character gets one line."""

from datetime import UTC, date, datetime, time
from urllib.parse import parse_qsl, quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from smschat.accounts import auth, projects
from smschat.accounts.actor import OPERATOR, Actor
from smschat.automation import broadcasts, keywords, reminders, surveys
from smschat.chat import notes, quickreplies, search, settings as chat_settings
from smschat.errors import ValidationError
from smschat.log.filter import LogFilter
from smschat.messaging import inbound, later, outbox
from smschat.models import Message
from smschat.people import contacts, imports
from smschat.text import CONTROLS, clean, refuse_controls

from .conftest import PUBLIC_URL, TWILIO_SID, TWILIO_TOKEN

SENDER = "+15005550006"
MARIE = "+17033996500"
RLM, LRM, ZWJ = "\u200f", "\u200e", "\u200d"
REMOVED = [chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]]

# Every code point, surrogates and controls included (hypothesis leaves surrogates out by default).
ANY_CHAR = st.characters(codec=None, categories=None)
ANY_TEXT = st.text(ANY_CHAR, max_size=300)
NASTY = st.sampled_from(["\x00", "a\x00b", "\ud800", "x\udfffy", "\ud83d\ude00", RLM + "שלום" + LRM, "'\"",
                         '"unterminated', "*", "NEAR(a b)", "a OR b", "\x1b[31m", "\x7f", "%_\\", "\t\r\n"])
MIXED = st.one_of(NASTY, ANY_TEXT, st.tuples(NASTY, ANY_TEXT, NASTY).map("".join))
SOME = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _count(session, **where) -> int:
    session.rollback()
    query = select(func.count()).select_from(Message)
    for key, value in where.items():
        query = query.where(getattr(Message, key) == value)
    return session.scalar(query)


# --- the rule itself ---------------------------------------------------------------------


def test_clean_removes_exactly_the_c0_controls_but_tab_cr_lf_and_del():
    assert [c for c in map(chr, range(0x80)) if CONTROLS.fullmatch(c)] == REMOVED
    assert clean("".join(REMOVED)) == ""
    assert clean("a\tb\r\nc") == "a\tb\r\nc"
    assert clean("tag\x00 visit\x07 done\x7f") == "tag visit done"


def test_clean_keeps_rtl_marks_joiners_emoji_and_c1_and_resolves_surrogates():
    kept = f"{RLM}مرحبا{LRM} 👩{ZWJ}⚕️ e\u0301 \x85\u00a0"
    assert clean(kept) is kept
    assert clean("\ud83d\ude00") == "😀"  # a pair written as two code points: its character
    assert clean("a\ud800b\udfff") == "a\ufffdb\ufffd"  # lone ones: U+FFFD


@settings(max_examples=300, deadline=None)
@given(MIXED)
def test_clean_always_gives_utf8_text_without_controls_and_is_idempotent(s):
    out = clean(s)
    out.encode("utf-8")
    assert not CONTROLS.search(out) and clean(out) == out
    assert len(out) <= len(s)


def test_refuse_controls_names_the_field_in_one_line():
    with pytest.raises(ValidationError) as err:
        refuse_controls("tag\x00", "Search text")
    assert str(err.value) == "Search text contains a control character (U+0000); remove it and try again."
    with pytest.raises(ValidationError, match=r"^Contact search contains a character that is not text \(U\+D800\)"):
        refuse_controls("\ud800", "Contact search")
    assert refuse_controls(f"{RLM}a\tb\n", "Search text") == f"{RLM}a\tb\n"
    with pytest.raises(ValidationError, match="Delay"):
        refuse_controls({"windows": [{"start": "09:00\x00"}]}, "Delay")


# --- inbound: the service functions --------------------------------------------------------


def test_a_100_kb_inbound_body_with_nul_and_lone_surrogates_is_stored_once_cleaned(session, project, marie):
    body = ("\x00\ud800" + "x" * 1000 + RLM) * 100
    first = inbound.receive_at(session, SENDER, MARIE, body, gateway_message_id="SMbig", gateway="twilio")
    again = inbound.receive_at(session, SENDER, MARIE, body, gateway_message_id="SMbig", gateway="twilio")
    session.commit()
    assert not first.duplicate and again.duplicate and again.message.id == first.message.id
    stored = session.scalar(select(Message.body).where(Message.gateway_message_id == "SMbig"))
    assert stored == clean(body) and "\x00" not in stored and len(stored) == 100 * 1002


@SOME
@given(body=MIXED)
def test_any_inbound_body_is_stored_exactly_once_as_cleaned(session, project, marie, body):
    sid = f"SMhyp{abs(hash(body))}"
    for _ in range(2):
        inbound.receive_sms(session, project, MARIE, body, gateway_message_id=sid, gateway="twilio")
        session.commit()
    assert _count(session, gateway_message_id=sid) == 1
    assert session.scalar(select(Message.body).where(Message.gateway_message_id == sid)) == clean(body)


@SOME
@given(body=MIXED)
def test_an_inbound_body_from_an_unknown_number_through_the_full_path_is_stored(session, project, body):
    # Not a plain reply (an unknown sender, maybe a keyword): the path that runs what it triggers.
    sid = f"SMunk{abs(hash(body))}"
    inbound.receive_at(session, SENDER, "+17035550199", "STOP " + body, gateway_message_id=sid, gateway="twilio")
    session.commit()
    assert _count(session, gateway_message_id=sid) == 1


def test_a_status_callback_with_controls_in_every_field_changes_nothing_it_should_not(session, project, marie):
    msg = outbox.enqueue(session, project, marie, "hi", workflow="chat")
    msg.gateway_message_id = "SMst1"
    session.commit()
    outbox.apply_status_update(session, "SMst1\x00", "undeliver\x00ed", error_code="300\x0006" * 5,
                               error_message="bad\x00\ud800")
    session.commit()
    session.refresh(msg)
    # The cleaned id and status are the real ones; the code is cut to its column's 20 characters.
    assert (msg.status, msg.error_code, msg.error_message) == ("undelivered", "30006" * 4, "bad\ufffd")
    with pytest.raises(ValidationError, match="gateway message id"):
        outbox.apply_status_update(session, "S" * 65, "delivered")


# --- inbound: the real HTTP routes ---------------------------------------------------------


def _signed_raw(base: str, path: str, pairs: list[tuple[str, str]]) -> httpx.Response:
    """POST a form written byte for byte as a sender that writes lone surrogates as their
    UTF-8-like bytes would; signed over what the form decodes to, as Twilio signs what it sends."""
    raw = "&".join(f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'))}" for k, v in pairs)
    decoded = dict(parse_qsl(raw, keep_blank_values=True))
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC_URL + path, decoded)
    return httpx.post(base + path, content=raw, timeout=30, headers={
        "X-Twilio-Signature": signature, "content-type": "application/x-www-form-urlencoded"})


def _twilio_inbound(base, body, sid):
    return _signed_raw(base, "/twilio/inbound", [("MessageSid", sid), ("AccountSid", TWILIO_SID), ("From", MARIE),
                                                  ("To", SENDER), ("Body", body)])


@pytest.mark.parametrize("body", ["nul\x00in the middle", "\x00", "lone \ud800 surrogate \udfff", "x" * 10_240,
                                  ("ü\x00" * 5_120), RLM + "שלום" + LRM])
def test_done_when_a_signed_inbound_sms_with_nul_surrogates_or_10_kb_is_stored_once_and_answered_2xx(
        twilio_env, webhook_server, session, project, marie, body):
    codes = [_twilio_inbound(webhook_server, body, "SMdone1").status_code for _ in range(2)]
    assert codes == [200, 200]
    assert _count(session) == 1
    stored = session.scalar(select(Message.body))
    # What the form decodes to (a lone surrogate's bytes are not UTF-8: U+FFFD each), cleaned.
    sent = dict(parse_qsl("Body=" + quote(body.encode("utf-8", "surrogatepass"))))["Body"]
    assert "\x00" not in stored and stored == clean(sent) and len(stored) >= len(body) - body.count("\x00")
    # Search with the same text: results or one line, never a traceback.
    for needle in (body[:50], "\x00nul", "\ud800xx"):
        try:
            search.find_messages(session, project.id, needle)
        except ValidationError as exc:
            assert "\n" not in str(exc)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=MIXED)
def test_any_signed_inbound_body_is_answered_2xx_and_stored_once(twilio_env, webhook_server, session, project,
                                                                  marie, body):
    sid = f"SMh{abs(hash(body))}"
    for _ in range(2):
        r = _twilio_inbound(webhook_server, body, sid)
        assert r.status_code == 200, r.text
    assert _count(session, gateway_message_id=sid) == 1


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=MIXED)
def test_the_loopback_inbound_route_stores_any_body_once(webhook_server, session, project, marie, body):
    sid = f"LB{abs(hash(body))}"
    raw = "&".join(f"{k}={quote(v.encode('utf-8', 'surrogatepass'))}"
                   for k, v in [("project", "test"), ("From", MARIE), ("Body", body), ("MessageSid", sid)])
    codes = [httpx.post(webhook_server + "/loopback/inbound", content=raw, timeout=30,
                        headers={"content-type": "application/x-www-form-urlencoded"}).status_code for _ in range(2)]
    assert codes == [201, 200] and _count(session, gateway_message_id=sid) == 1


def test_a_signed_status_callback_with_a_nul_is_answered_not_500(twilio_env, webhook_server, session, project, marie):
    msg = outbox.enqueue(session, project, marie, "hi", workflow="chat")
    msg.gateway_message_id = "SMst2"
    session.commit()
    r = _signed_raw(webhook_server, "/twilio/status", [("MessageSid", "SMst2"), ("MessageStatus", "delivered"),
                                                       ("ErrorCode", "\x00"), ("ErrorMessage", "\ud800")])
    assert r.status_code == 200
    r = _signed_raw(webhook_server, "/twilio/status", [("MessageSid", "\x00" * 70), ("MessageStatus", "failed")])
    assert r.status_code == 400
    session.refresh(msg)
    assert msg.status == "delivered"


# --- search and filters --------------------------------------------------------------------


@pytest.fixture
def some_messages(session, project, marie):
    for i, body in enumerate(["tag visit done", 'she said "hello" 100%', "نعم" + RLM + " yes", "a*b OR c"]):
        inbound.receive_sms(session, project, MARIE, body, gateway_message_id=f"SMs{i}")
    session.commit()


@SOME
@given(needle=MIXED)
def test_any_search_or_filter_text_gives_results_or_one_line(session, project, agent, marie, some_messages, needle):
    actor = Actor.web(agent.id)
    calls = [
        lambda: search.search_messages(session, actor, project.id, needle),
        lambda: LogFilter(text=needle),
        lambda: contacts.browse(session, actor, project.id, search=needle),
    ]
    for call in calls:
        try:
            call()
        except ValidationError as exc:
            message = str(exc)
            assert "\n" not in message and message.strip()
        finally:
            session.rollback()


def test_search_with_quotes_and_fts_words_finds_them_and_a_nul_is_refused(session, project, agent, marie,
                                                                          some_messages):
    found = [h.before + h.match + h.after for h in search.find_messages(session, project.id, '"hello"')]
    assert found == ['she said "hello" 100%']
    assert [h.match for h in search.find_messages(session, project.id, "a*b OR")] == ["a*b OR"]
    assert [h.match for h in search.find_messages(session, project.id, "نعم" + RLM)] == ["نعم" + RLM]
    for call in (lambda: search.find_messages(session, project.id, "tag\x00"), lambda: LogFilter(text="tag\x00"),
                 lambda: contacts.browse(session, Actor.web(agent.id), project.id, search="ma\x00")):
        with pytest.raises(ValidationError, match=r"contains a control character \(U\+0000\)"):
            call()


def test_settings_text_with_a_control_is_refused_naming_the_setting(session, project, sam):
    with pytest.raises(ValidationError) as err:
        chat_settings.update_settings(session, Actor.web(sam.id), project.id, {"case_name_display": "na\x00me"})
    assert str(err.value) == "Nothing was saved: check Case Name Display."
    assert err.value.errors["case_name_display"].startswith("Case Name Display contains a control character")


# --- every surface that stores text ------------------------------------------------------


def test_every_surface_that_stores_text_stores_it_cleaned(session, project, agent, sam, marie):
    dirty = "Ca\x00ll\x07 the clinic " + RLM + "\ud800"
    want = clean(dirty)
    actor, boss = Actor.web(agent.id), Actor.web(sam.id)
    user = auth.create_user(session, "ada", "correct horse battery", first_name="A\x00da", project=project)
    chat = outbox.enqueue(session, project, marie, dirty, workflow="chat", sent_by_id=agent.id)
    note = notes.add_note(session, actor, project.id, marie.id, dirty)
    quick = quickreplies.save_quick_reply(session, boss, project.id, dirty, dirty)
    scheduled = later.schedule_message(session, actor, project.id, marie.id, dirty, date(2099, 1, 1), time(9),
                                       now=datetime(2098, 1, 1, tzinfo=UTC))
    edited = later.edit_scheduled(session, actor, project.id, scheduled.message_id, dirty + "\x00!",
                                  date(2099, 1, 1), time(9), now=datetime(2098, 1, 1, tzinfo=UTC))
    kw = keywords.create_keyword(session, boss, project.id, "CALL", dirty)
    target = {"kind": "contact", "contact_id": marie.id}
    bc = broadcasts.create_broadcast(session, boss, project.id, dirty, dirty, target,
                                     send_at=datetime(2099, 1, 1, tzinfo=UTC), now=datetime(2098, 1, 1, tzinfo=UTC))
    rem = reminders.create_reminder(session, boss, project.id, dirty, dirty, target,
                                    {"kind": "once", "at": "2099-01-01T09:00"}, now=datetime(2098, 1, 1, tzinfo=UTC))
    sv = surveys.create_survey(session, boss, project.id, dirty,
                               [{"text": dirty, "kind": "choice", "choices": ["y\x00es", "no"]}])
    case = contacts.create_contact(session, project, "case", dirty, case_properties={"vill\x00age": dirty})
    prj = projects.create_project(session, "other", dirty)
    created_name = prj.name
    renamed = projects.rename_project(session, OPERATOR, prj.id, dirty + "2")
    session.commit()
    later_body = session.get(Message, edited.message_id).body
    assert [chat.body, note.body, quick.body, kw.reply, bc.name, bc.body, rem.name, rem.body, sv.name,
            sv.questions[0]["text"], case.name, case.case_properties["village"], created_name] == [want] * 13
    assert later_body == want + "!" and quick.title == " ".join(want.split())
    assert sv.questions[0]["choices"] == ["yes", "no"] and user.first_name == "Ada" and renamed.name == want + "2"
    # PostgreSQL would have refused any NUL outright; SQLite holds none either.
    assert not session.scalar(select(func.count()).select_from(Message).where(Message.body.contains("\x07")))


def test_a_csv_import_with_controls_stores_clean_names_and_properties(session, project):
    text = "type,name,phone,village\r\ncase,Mar\x00ia\x1b,+17035550111,Ki\x00bera\r\n"
    report = imports.import_csv(session, OPERATOR, project.id, text)
    session.commit()
    assert (report.created, report.errors) == (1, [])
    contact = session.scalar(select(contacts.Contact).where(contacts.Contact.name == "Maria"))
    assert contact.case_properties == {"village": "Kibera", "name": "Maria"}
    again = imports.import_csv(session, OPERATOR, project.id, text)
    assert again.unchanged == 1
