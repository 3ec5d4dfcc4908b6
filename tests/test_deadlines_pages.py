"""AppTest: expired messages on the Stuck messages page (Send anyway, Cancel), in the chat, and
the deadline settings on the Settings page."""

from datetime import UTC, datetime, timedelta

from smschat.accounts import projects
from smschat.messaging import deadlines
from smschat.models import Direction, Message, Workflow

from .test_pages import _as, app


def plain(shown: str) -> str:
    return shown.replace("\\", "")


def _expired(session, project, marie, body, hours_late=26) -> Message:
    now = datetime.now(UTC)
    message = Message(project_id=project.id, contact_id=marie.id, phone_number="+17033996500",
                      direction=Direction.OUT.value, body=body, status="queued", workflow=Workflow.REMINDER.value,
                      created_at=now - timedelta(hours=hours_late), due_at=now - timedelta(hours=hours_late))
    deadlines.expire(message, now)
    session.add(message)
    session.commit()
    return message


def test_the_stuck_page_sends_one_anyway_and_cancels_another(db_url, session, project, sam, marie):
    first = _expired(session, project, marie, "Clinic at 10 today")
    second = _expired(session, project, marie, "Meeting tonight", hours_late=30)
    at = _as(app("pages/stuck.py"), sam, project, role="supervisor").run()
    assert not at.exception and not at.error
    frame = at.dataframe[0].value
    assert list(frame["Status"]) == ["expired", "expired"]
    assert list(frame["Retry"]) == ["Send anyway / Cancel"] * 2
    assert list(frame["Why"]) == ["Past its deadline: 26 hours late, so it was not sent.",
                                  "Past its deadline: 30 hours late, so it was not sent."]
    assert at.button(key="stuck_retry_all").disabled  # expired ones are not retried in bulk
    at.button(key=f"send_anyway_{first.id}").click().run()
    assert [plain(s.value) for s in at.success] == ["Queued again 1 message."]
    at.button(key=f"cancel_expired_{second.id}").click().run()
    assert [plain(s.value) for s in at.success] == ["Cancelled 1 message."]
    session.commit()
    session.expire_all()
    a, b = session.get(Message, first.id), session.get(Message, second.id)
    assert (a.status, a.expires_at) == ("queued", None)
    assert (b.status, b.error_code) == ("expired", deadlines.CANCELLED_CODE)
    assert not [k for k in (f"send_anyway_{second.id}", f"cancel_expired_{second.id}")
                if any(getattr(w, "key", None) == k for w in at.button)]


def test_the_chat_shows_why_an_expired_message_was_not_sent(db_url, session, project, agent, marie):
    _expired(session, project, marie, "Clinic at 10 today")
    at = _as(app("pages/chat.py"), agent, project)
    at.query_params["contact"] = str(marie.id)
    at.run()
    assert not at.exception
    html = " ".join(h.proto.body for h in at.get("html"))
    assert "st-expired bad'>expired</span> <span class='err'>not sent: 26 hours late</span>" in html


def test_the_settings_page_saves_a_deadline_and_refuses_a_bad_one(db_url, session, project, sam):
    at = _as(app("pages/settings.py"), sam, project, role="supervisor").run()
    assert not at.exception and not at.error
    assert at.text_input(key="set_deadline_reminder").value == "6"
    assert at.text_input(key="set_deadline_chat").value == "24"
    at.text_input(key="set_deadline_reminder").set_value("soon")
    at.button[0].click().run()
    assert [plain(e.value) for e in at.error] == ["Whole hours from 1 to 720, or never (given: 'soon').",
                                                  "Nothing was saved: check Reminder deadline (hours)."]
    session.commit()  # a fresh snapshot: the page wrote in its own transactions
    session.expire_all()
    assert projects.get_chat_settings(session, project.id).deadline_reminder is None
    at.text_input(key="set_deadline_reminder").set_value("never")
    at.text_input(key="set_deadline_broadcast").set_value("12")
    at.button[0].click().run()
    assert not at.error
    assert [plain(s.value) for s in at.success] == ["Saved: Reminder deadline (hours), Broadcast deadline (hours)."]
    session.commit()
    session.expire_all()
    cs = projects.get_chat_settings(session, project.id)
    assert (cs.deadline_reminder, cs.deadline_broadcast) == (0, 12)
    assert at.text_input(key="set_deadline_reminder").value == "never"
