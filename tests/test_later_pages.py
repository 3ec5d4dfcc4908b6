"""AppTest: Send later in the chat page, the Stuck messages page, and the Contacts link to it."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from smschat.chat import window as chat
from smschat.models import Direction, Message, Workflow

from .test_pages import _as, app


def plain(shown: str) -> str:
    """A notice's text without the escapes that keep it from being Markdown."""
    return shown.replace("\\", "")


def _chat(agent, project, marie):
    at = _as(app("pages/chat.py"), agent, project)
    at.query_params["contact"] = str(marie.id)
    return at.run()


def test_the_chat_schedules_the_typed_message_then_edits_and_cancels_it(db_url, session, project, agent, marie):
    at = _chat(agent, project, marie)
    assert not at.exception
    tomorrow = datetime.now(ZoneInfo(project.time_zone)).date() + timedelta(days=1)
    at.text_area(key=f"body_{marie.id}").input("Clinic at 5")
    at.date_input(key=f"later_new_{marie.id}_day").set_value(tomorrow)
    at.time_input(key=f"later_new_{marie.id}_time").set_value(time(17, 0))
    at.button(key=f"later_go_{marie.id}").click().run()
    assert not at.exception and not at.error
    when = f"05:00pm {tomorrow:%m/%d/%y}"
    assert [plain(s.value) for s in at.success] == [f"Scheduled for {when}."]
    assert at.text_area(key=f"body_{marie.id}").value == ""  # cleared, as after Send
    [message] = session.query(Message).all()
    assert (message.body, message.status, message.sent_by_id) == ("Clinic at 5", "queued", agent.id)
    [line] = [t.value for t in at.text if "Clinic at 5" in t.value]
    assert line == f"Amy: Clinic at 5\nscheduled for {when}"
    html = " ".join(h.proto.body for h in at.get("html"))
    assert f"Scheduled for {when}." in html  # the thread's status line

    at.text_area(key=f"later_body_{message.id}").input("Clinic at 4")
    at.time_input(key=f"later_msg_{message.id}_time").set_value(time(16, 0))
    at.button(key=f"later_save_{message.id}").click().run()
    assert not at.exception and not at.error
    session.commit()  # a fresh snapshot: the page wrote in its own transactions
    session.expire_all()
    assert session.get(Message, message.id).body == "Clinic at 4"
    at.button(key=f"later_cancel_{message.id}").click().run()
    assert [plain(s.value) for s in at.success] == [f"Cancelled the message scheduled for 04:00pm {tomorrow:%m/%d/%y}."]
    session.commit()  # a fresh snapshot: the page wrote in its own transactions
    session.expire_all()
    assert session.query(Message).count() == 0
    assert "Clinic at 4" not in " ".join(h.proto.body for h in at.get("html"))


def test_a_time_that_has_passed_is_refused_and_the_text_stays(db_url, session, project, agent, marie):
    at = _chat(agent, project, marie)
    at.text_area(key=f"body_{marie.id}").input("Too late")
    yesterday = datetime.now(ZoneInfo(project.time_zone)).date() - timedelta(days=1)
    at.date_input(key=f"later_new_{marie.id}_day").set_value(yesterday)
    at.button(key=f"later_go_{marie.id}").click().run()
    assert [plain(e.value) for e in at.error][0].endswith("has already passed; choose a later time.")
    assert at.text_area(key=f"body_{marie.id}").value == "Too late"
    assert session.query(Message).count() == 0


def _stuck(session, project, marie, status, minutes=60, **columns) -> Message:
    message = Message(project_id=project.id, contact_id=marie.id, phone_number="+17033996500",
                      direction=Direction.OUT.value, body=f"a {status} one", status=status,
                      workflow=Workflow.CHAT.value, created_at=datetime.now(UTC) - timedelta(minutes=minutes), **columns)
    session.add(message)
    session.commit()
    return message


def test_the_stuck_page_retries_the_safe_ones_and_an_unknown_one_only_when_confirmed(db_url, session, project, sam,
                                                                                    marie):
    failed = _stuck(session, project, marie, "failed", error_code="30003", error_message="Unreachable")
    unknown = _stuck(session, project, marie, "unknown")
    landline = _stuck(session, project, marie, "undelivered", error_code="30006")
    at = _as(app("pages/stuck.py"), sam, project, role="supervisor").run()
    assert not at.exception
    frame = at.dataframe[0].value
    assert list(frame["Why"]) == ["The phone was off or out of reach.",
                                  "A worker handed it to the gateway and stopped before recording the answer: it may "
                                  "have been sent.", "The number is a landline or its carrier cannot receive SMS."]
    assert list(frame["Retry"]) == ["Safe", "Confirm each", "No"]
    at.button(key="stuck_retry_all").click().run()
    assert [plain(s.value) for s in at.success] == ["Retried 1 message."]
    assert at.button(key=f"retry_unknown_{unknown.id}").disabled
    at.checkbox(key=f"sure_{unknown.id}").check().run()
    at.button(key=f"retry_unknown_{unknown.id}").click().run()
    assert [plain(s.value) for s in at.success] == ["Retried 1 message."]
    session.commit()  # a fresh snapshot: the page wrote in its own transactions
    session.expire_all()
    assert [session.get(Message, m.id).status for m in (failed, unknown, landline)] == ["queued", "queued",
                                                                                       "undelivered"]


def test_the_stuck_page_refuses_an_agent_in_the_service(db_url, session, project, agent):
    at = _as(app("pages/stuck.py"), agent, project).run()
    assert [plain(e.value) for e in at.error] == ["Your role (agent) cannot retry stuck messages."]


def test_contacts_links_the_stuck_count_for_supervisors_only(db_url, session, project, sam, agent, marie):
    _stuck(session, project, marie, "failed", error_message="nope")
    at = _as(app("pages/contacts.py"), sam, project, role="supervisor").run()
    assert not at.exception
    assert [m.value for m in at.metric if m.label == "Stuck messages"] == ["1"]
    assert "[See them on Stuck messages](stuck)" in [m.value for m in at.markdown]
    at = _as(app("pages/contacts.py"), agent, project).run()
    assert [m.value for m in at.metric if m.label == "Stuck messages"] == []
    assert chat.get_history(session, project.id, marie.id)[0].status == "failed"
