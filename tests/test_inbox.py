"""Waiting replies (the inbox), assignment, quick replies and staff notes."""

import csv
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from smschat.accounts import audit, auth
from smschat.accounts.actor import Actor
from smschat.chat import inbox, notes, quickreplies, reads
from smschat.chat import window as chat
from smschat.db import session_scope
from smschat.errors import AlreadyAssigned, NeedsWebUser, UserNotFound, ValidationError
from smschat.log import charts, exports, messagelog
from smschat.log.columns import COLUMNS
from smschat.log.messagelog import LogFilter
from smschat.messaging import inbound, outbox, worker
from smschat.models import AuditEvent, Contact, Message, Workflow
from smschat.people import contacts

from .test_worker import RecordingGateway
from .waiting import wait_until


def _contact(session, project, name, phone):
    c = contacts.create_contact(session, project, "mobile_worker", name, first_name=name.split()[0].capitalize())
    contacts.register_phone(session, project, c, phone, verified=True)
    return c


def _waiting(session, user, project, **kw):
    return inbox.list_waiting(session, Actor.web(user.id), project.id, **kw)


def test_a_conversation_waits_from_its_first_unanswered_message_until_a_reply(session, project, agent, marie):
    first = inbound.receive_sms(session, project, "+17033996500", "Are you there?").message
    inbound.receive_sms(session, project, "+17033996500", "hello?")
    session.commit()
    page = _waiting(session, agent, project, now=first.created_at + timedelta(hours=2, minutes=13, seconds=5))
    [row] = page.rows
    assert (row.contact_id, row.waiting_since_id, row.last_message, row.wait) == (
        marie.id, first.id, "hello?", "waiting 2 h 13 min")
    assert page.total == 1 and row.unread and row.assignee is None
    chat.send(session, Actor.web(agent.id), project.id, marie.id, "Yes, here")
    session.commit()
    assert _waiting(session, agent, project).rows == []


def test_reminders_broadcasts_and_notes_answer_nobody(session, project, agent, marie):
    inbound.receive_sms(session, project, "+17033996500", "my child has a fever")
    outbox.enqueue(session, project, marie, "Clinic day is Friday", workflow=Workflow.REMINDER)
    outbox.enqueue(session, project, marie, "Vaccines arrived", workflow=Workflow.BROADCAST)
    notes.add_note(session, Actor.web(agent.id), project.id, marie.id, "Called her mother")
    session.commit()
    assert [r.contact_id for r in _waiting(session, agent, project).rows] == [marie.id]
    # A keyword's or survey's automatic answer is a reply.
    outbox.enqueue(session, project, marie, "Thanks, a nurse will call", workflow=Workflow.KEYWORD)
    session.commit()
    assert _waiting(session, agent, project).rows == []


def test_oldest_wait_first_filters_and_the_cursor(session, project, agent, sam):
    people = [_contact(session, project, f"person {i}", f"+1703555{i:04d}") for i in range(5)]
    for c in reversed(people):  # the last one writes first: it has waited longest
        inbound.receive_sms(session, project, c.phone_numbers[0].e164, f"from {c.name}")
    session.commit()
    me = Actor.web(agent.id)
    rows = inbox.list_waiting(session, me, project.id).rows
    assert [r.name for r in rows] == [f"person {i}" for i in (4, 3, 2, 1, 0)]
    inbox.assign_to_me(session, me, project.id, people[2].id)
    inbox.assign(session, Actor.web(sam.id), project.id, people[0].id, "sam", expected=None)
    session.commit()
    assert [r.name for r in inbox.list_waiting(session, me, project.id, show="mine").rows] == ["person 2"]
    assert [r.name for r in inbox.list_waiting(session, me, project.id, show="unassigned").rows] == [
        "person 4", "person 3", "person 1"]
    first = inbox.list_waiting(session, me, project.id, limit=2)
    assert [r.name for r in first.rows] == ["person 4", "person 3"] and first.total == 5
    rest = inbox.list_waiting(session, me, project.id, limit=2, after_id=first.next_after)
    assert [r.name for r in rest.rows] == ["person 2", "person 1"]
    last = inbox.list_waiting(session, me, project.id, limit=2, after_id=rest.next_after)
    assert [r.name for r in last.rows] == ["person 0"] and last.next_after is None
    all_rows = {r.name: r.assignee_name for r in inbox.list_waiting(session, me, project.id).rows}
    assert all_rows["person 2"] == "Amy" and all_rows["person 0"] == "Sam"
    with pytest.raises(ValidationError):
        inbox.list_waiting(session, me, project.id, show="everything")


def test_unread_follows_the_users_read_marker(session, project, agent, marie):
    msg = inbound.receive_sms(session, project, "+17033996500", "hi").message
    session.commit()
    assert _waiting(session, agent, project).rows[0].unread
    chat.read_up_to(session, Actor.web(agent.id), project.id, marie.id, msg.id)
    session.commit()
    assert not _waiting(session, agent, project).rows[0].unread


def test_assignment_is_audited_and_refuses_a_stale_view(session, project, agent, sam, marie):
    amy, boss = Actor.web(agent.id), Actor.web(sam.id)
    assert inbox.assign_to_me(session, amy, project.id, marie.id).username == "amy"
    session.commit()
    assert inbox.assignee(session, boss, project.id, marie.id).name == "Amy"
    assert inbox.assignees(session, boss, project.id, [marie.id]) == {marie.id: "Amy"}
    # Sam's page still showed it unassigned: refused, and the message names who has it.
    with pytest.raises(AlreadyAssigned, match="assigned to Amy"):
        inbox.assign_to_me(session, boss, project.id, marie.id)
    session.rollback()
    inbox.assign(session, boss, project.id, marie.id, "sam", expected="amy")
    inbox.assign(session, boss, project.id, marie.id, None, expected="sam")
    session.commit()
    assert inbox.assignee(session, boss, project.id, marie.id) is None
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == audit.ASSIGNMENT).order_by(AuditEvent.id))
    assert [(e.user_id, e.detail["from"], e.detail["to"]) for e in events] == [
        (agent.id, None, "amy"), (sam.id, "amy", "sam"), (sam.id, "sam", None)]
    assert [u for u, _ in inbox.assignable_users(session, amy, project.id)] == ["amy", "sam"]


def test_only_staff_who_can_chat_in_the_project_can_be_assignees(session, project, agent, marie):
    from smschat.accounts import projects

    other = projects.create_project(session, "other", "Other")
    auth.create_user(session, "olga", "long enough pw", project=other, role="agent")
    auth.create_user(session, "ana", "long enough pw", project=project, role="analyst")
    session.commit()
    for name in ("olga", "ana", "nobody"):
        with pytest.raises(UserNotFound, match="No such web user in this project."):
            inbox.assign(session, Actor.web(agent.id), project.id, marie.id, name, expected=None)


def test_assignment_races_between_two_users_end_with_one_assignee(db_url, session, project, agent, sam, marie):
    """Two web users press "Assign to me" at the same moment, each in their own transaction."""
    for _round in range(5):
        start = threading.Barrier(2)
        outcomes: dict[str, str] = {}

        def press(user):
            start.wait()
            try:
                with session_scope(db_url) as s:
                    inbox.assign_to_me(s, Actor.web(user.id), project.id, marie.id, expected=None)
                outcomes[user.username] = "won"
            except AlreadyAssigned:
                outcomes[user.username] = "refused"

        threads = [threading.Thread(target=press, args=(u,)) for u in (agent, sam)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(outcomes.values()) == ["refused", "won"], outcomes
        winner = next(name for name, o in outcomes.items() if o == "won")
        session.rollback()  # a fresh snapshot
        holder = inbox.assignee(session, Actor.web(agent.id), project.id, marie.id)
        assert holder is not None and holder.username == winner, (outcomes, session.scalar(select(Contact.assignee_id)))
        with session_scope(db_url) as s:
            inbox.assign(s, Actor.web(agent.id), project.id, marie.id, None, expected=winner)
    session.rollback()
    won = session.scalars(select(AuditEvent).where(AuditEvent.action == audit.ASSIGNMENT,
                                                   AuditEvent.detail.is_not(None))).all()
    assert len([e for e in won if e.detail["to"] is not None]) == 5  # exactly one winner each round


def test_refresh_waiting_agrees_with_the_hooks(session, project, agent):
    people = [_contact(session, project, f"p {i}", f"+1703555{i:04d}") for i in range(6)]
    for i, c in enumerate(people):
        phone = c.phone_numbers[0].e164
        inbound.receive_sms(session, project, phone, "one")
        if i % 2:
            chat.send(session, Actor.web(agent.id), project.id, c.id, "answer")
        if i % 3 == 0:
            inbound.receive_sms(session, project, phone, "two")
            outbox.enqueue(session, project, c, "reminder", workflow=Workflow.REMINDER)
    session.commit()
    session.expire_all()
    hooked = {c.id: (c.waiting_since_id, c.waiting_since_at) for c in session.scalars(select(Contact))}
    session.execute(Contact.__table__.update().values(waiting_since_id=None, waiting_since_at=None))
    inbox.refresh_waiting(session, project.id)
    session.commit()
    session.expire_all()
    assert {c.id: (c.waiting_since_id, c.waiting_since_at) for c in session.scalars(select(Contact))} == hooked
    assert sum(1 for v in hooked.values() if v[0]) == 4


def test_the_count_stops_at_the_cap(session, project, agent, monkeypatch):
    people = [_contact(session, project, f"p {i}", f"+1703555{i:04d}") for i in range(4)]
    for c in people:
        inbound.receive_sms(session, project, c.phone_numbers[0].e164, "hi")
    session.commit()
    monkeypatch.setattr(inbox, "COUNT_CAP", 2)
    page = _waiting(session, agent, project, limit=1)
    assert (page.total, inbox.count_text(page.total), len(page.rows)) == (3, "2+ waiting", 1)
    assert inbox.count_text(2) == "2 waiting"


def test_wait_text():
    assert [inbox.wait_text(s) for s in (5, 60 * 7, 3600 * 2 + 60 * 13, 86400 * 3 + 3600 * 4)] == [
        "waiting under a minute", "waiting 7 min", "waiting 2 h 13 min", "waiting 3 d 4 h"]


# --- quick replies --------------------------------------------------------------------------


def test_an_unknown_placeholder_is_refused_when_saved(session, project, sam):
    boss = Actor.web(sam.id)
    with pytest.raises(ValidationError, match=r"Unknown placeholder \{firstname\}: a quick reply can use "
                                              r"\{first_name\}, \{name\}, \{project\}"):
        quickreplies.save_quick_reply(session, boss, project.id, "Hello", "Hi {firstname}!")
    with pytest.raises(ValidationError, match="needs a text"):
        quickreplies.save_quick_reply(session, boss, project.id, "Hello", "  ")
    assert quickreplies.list_quick_replies(session, boss, project.id) == []


def test_a_quick_reply_is_filled_in_for_the_contact(session, project, sam, agent):
    boss = Actor.web(sam.id)
    c = _contact(session, project, "marie curie", "+17033996500")
    reply = quickreplies.save_quick_reply(session, boss, project.id, "Greeting",
                                          "Hello {first_name} ({name}), this is {project}. A { brace } stays.")
    session.commit()
    text = quickreplies.filled_quick_reply(session, Actor.web(agent.id), project.id, reply.id, c.id)
    assert text == "Hello Marie (marie curie), this is Test Project. A { brace } stays."
    with pytest.raises(ValidationError, match="already a quick reply titled"):
        quickreplies.save_quick_reply(session, boss, project.id, "Greeting", "Hi")
    quickreplies.save_quick_reply(session, boss, project.id, "Greeting 2", "Hi {name}", quick_reply_id=reply.id)
    assert [(r.title, r.body) for r in quickreplies.list_quick_replies(session, boss, project.id)] == [
        ("Greeting 2", "Hi {name}")]
    quickreplies.delete_quick_reply(session, boss, project.id, reply.id)
    session.commit()
    assert quickreplies.list_quick_replies(session, boss, project.id) == []
    assert session.scalar(select(AuditEvent.id).where(AuditEvent.action == audit.QUICK_REPLY_CHANGED).limit(1))


# --- notes ----------------------------------------------------------------------------------


def test_a_note_is_never_handed_to_any_gateway_with_the_worker_running(db_url, session, project, agent, marie):
    gateway = RecordingGateway()
    stop = threading.Event()
    running = threading.Thread(target=worker.run_forever, args=(gateway,), kwargs={"stop": stop, "url": db_url})
    running.start()
    try:
        me = Actor.web(agent.id)

        def write(fn, *args):
            with session_scope(db_url) as s:
                return fn(s, me, project.id, marie.id, *args).id

        note = write(notes.add_note, "Prefers calls after 5pm")
        sent = write(chat.send, "hello")
        wait_until(lambda: gateway.sent, 20, "the chat message after the note to be sent")
        later = write(chat.send, "second")
        wait_until(lambda: len(gateway.sent) >= 2, 20, "the second chat message to be sent")
    finally:
        stop.set()
        running.join(30)
    assert [s.message_id for s in gateway.sent] == [sent, later]
    session.rollback()
    stored = session.get(Message, note)
    assert (stored.status, stored.gateway, stored.claimed_by, stored.attempts) == ("note", None, None, 0)


def test_a_note_shows_in_the_thread_log_and_exports_but_counts_nowhere(session, project, agent, marie, tmp_path):
    me = Actor.web(agent.id)
    opened = chat.open_window(session, me, project.id, marie.id).opened_at
    inbound.receive_sms(session, project, "+17033996500", "hi")
    note = notes.add_note(session, me, project.id, marie.id, "  *Not* <b>bold</b>  ")
    session.commit()
    lines = chat.window_history(session, me, project.id, marie.id)
    assert [(line.sender, line.body, line.direction) for line in lines] == [
        ("marie", "hi", "in"), ("Note by Amy", "*Not* <b>bold</b>", "note")]
    assert chat.window_counter(session, me, project.id, marie.id, opened) == 1  # the incoming one only
    assert reads.unread_counts(session, project.id, agent.id, [marie.id]) == {marie.id: 1}
    session.refresh(marie)
    assert marie.last_message_id != note.id and marie.last_message_id < note.id
    assert inbox.list_waiting(session, me, project.id).rows[0].last_message == "hi"
    # Nothing reaches the phone's own thread.
    assert [line.body for line in chat.phone_thread(session, project.id, "+17033996500")] == ["hi"]
    admin = auth.create_user(session, "ana", "long enough pw", project=project, role="analyst")
    session.commit()
    page = messagelog.page(session, Actor.web(admin.id), project.id, LogFilter())
    by_body = {row[COLUMNS.index("Message")]: dict(zip(COLUMNS, row, strict=True)) for row in page.rows}
    assert (by_body["*Not* <b>bold</b>"]["Type"], by_body["*Not* <b>bold</b>"]["Direction"]) == ("Note", "Note")
    filtered = messagelog.page(session, Actor.web(admin.id), project.id, LogFilter(workflows=["note"]))
    assert [row[COLUMNS.index("Message")] for row in filtered.rows] == ["*Not* <b>bold</b>"]
    path = tmp_path / "log.csv"
    exports.write_export(session, Actor.web(admin.id), project.id, LogFilter(), "csv", path)
    with path.open(newline="", encoding="utf-8-sig") as f:
        exported = {row["Message"]: row for row in csv.DictReader(f)}
    assert (exported["*Not* <b>bold</b>"]["Type"], exported["*Not* <b>bold</b>"]["Status"]) == ("Note", "note")
    computed = charts.compute(session, project.id, LogFilter())
    assert sum(n for _, _, n in computed.per_day_direction) == 1
    assert all(k != "Note" for _, k, _ in computed.per_day_type)


def test_a_note_needs_text_and_a_web_user(session, project, agent, marie):
    with pytest.raises(ValidationError, match="empty"):
        notes.add_note(session, Actor.web(agent.id), project.id, marie.id, "   ")
    from smschat.accounts.actor import OPERATOR

    with pytest.raises(NeedsWebUser):
        notes.add_note(session, OPERATOR, project.id, marie.id, "x")


def test_unread_read_by_anyone(session, project, agent, sam, marie):
    from smschat.accounts.projects import get_chat_settings

    get_chat_settings(session, project.id).read_mode = "by_anyone"
    msg = inbound.receive_sms(session, project, "+17033996500", "hi").message
    session.commit()
    assert _waiting(session, agent, project).rows[0].unread
    chat.read_up_to(session, Actor.web(sam.id), project.id, marie.id, msg.id)
    session.commit()
    assert not _waiting(session, agent, project).rows[0].unread
