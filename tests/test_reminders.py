"""Reminders: DST-correct recurrence, one firing after downtime, groups, the calendar."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from smschat.accounts.actor import Actor
from smschat.automation import reminders, schedule
from smschat.automation import runner as automation
from smschat.chat import window as chat
from smschat.errors import PermissionDenied, ValidationError
from smschat.models import Message, PhoneNumber
from smschat.people import contacts

NY = ZoneInfo("America/New_York")


def ny(y, m, d, hh, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=NY).astimezone(UTC)


def test_daily_0900_stays_0900_local_across_both_dst_changes():
    s = schedule.parse_schedule({"kind": "daily", "time": "09:00"})
    # 2026: DST starts Sun 8 March, ends Sun 1 November (America/New_York).
    spring = schedule.slots_between(s, "America/New_York", ny(2026, 3, 7, 0), ny(2026, 3, 10, 0))
    autumn = schedule.slots_between(s, "America/New_York", ny(2026, 10, 31, 0), ny(2026, 11, 3, 0))
    assert [t.astimezone(NY).strftime("%m-%d %H:%M") for t in spring + autumn] == [
        "03-07 09:00", "03-08 09:00", "03-09 09:00", "10-31 09:00", "11-01 09:00", "11-02 09:00"]
    # ...which is a different UTC hour on each side.
    assert [t.hour for t in spring] == [14, 13, 13] and [t.hour for t in autumn] == [13, 14, 14]


def test_a_time_in_the_spring_gap_fires_once_an_hour_later_and_a_repeated_time_fires_once():
    gap = schedule.parse_schedule({"kind": "daily", "time": "02:30"})
    slots = schedule.slots_between(gap, "America/New_York", ny(2026, 3, 7, 0), ny(2026, 3, 10, 0))
    assert [t.astimezone(NY).strftime("%m-%d %H:%M %Z") for t in slots] == [
        "03-07 02:30 EST", "03-08 03:30 EDT", "03-09 02:30 EDT"]
    twice = schedule.parse_schedule({"kind": "daily", "time": "01:30"})
    slots = schedule.slots_between(twice, "America/New_York", ny(2026, 11, 1, 0), ny(2026, 11, 2, 0))
    assert [t.astimezone(NY).strftime("%H:%M %Z") for t in slots] == ["01:30 EDT"]


def test_weekly_on_given_days_between_start_and_end():
    s = schedule.parse_schedule({"kind": "weekly", "time": "18:00", "weekdays": [0, 3],  # Mon, Thu
                                 "start": "2026-11-24", "end": "2026-12-07"})
    slots = schedule.slots_between(s, "America/New_York", ny(2026, 11, 1, 0), ny(2027, 1, 1, 0))
    assert [t.astimezone(NY).date() for t in slots] == [
        date(2026, 11, 26), date(2026, 11, 30), date(2026, 12, 3), date(2026, 12, 7)]
    assert schedule.describe(s) == "Every Mon, Thu at 18:00 from 2026-11-24 until 2026-12-07"


def _out(session, workflow="reminder"):
    return list(session.scalars(select(Message).where(Message.workflow == workflow).order_by(Message.id)))


def test_a_missed_reminder_fires_once_on_restart_then_keeps_its_schedule(session, project, sam, marie):
    created = ny(2026, 11, 20, 8)
    r = reminders.create_reminder(session, Actor.web(sam.id), project.id, "Daily check-in", "How are you today?",
                                  {"kind": "contact", "contact_id": marie.id}, {"kind": "daily", "time": "09:00"},
                                  now=created)
    assert r.next_due_at == ny(2026, 11, 20, 9)
    # The worker was down from the 20th to the 25th, 10:30: five slots missed, one message.
    back = ny(2026, 11, 25, 10, 30)
    assert automation.run_due(session, back)["reminders"] == 1
    assert automation.run_due(session, back + timedelta(seconds=5))["reminders"] == 0
    [message] = _out(session)
    assert (message.body, message.phone_number, message.status) == ("How are you today?", "+17033996500", "queued")
    assert (r.last_slot_at, r.last_fired_at, r.next_due_at) == (ny(2026, 11, 20, 9), back, ny(2026, 11, 26, 9))
    assert automation.run_due(session, ny(2026, 11, 26, 9))["reminders"] == 1
    assert len(_out(session)) == 2
    [*_, line] = chat.get_history(session, project.id, marie.id)
    assert (line.sender, line.workflow) == ("System", "reminder")


def test_a_one_off_reminder_fires_once_and_ends(session, project, sam, marie):
    now = ny(2026, 11, 25, 8)
    r = reminders.create_reminder(session, Actor.web(sam.id), project.id, "Clinic", "Clinic day is tomorrow",
                                  {"kind": "contact", "contact_id": marie.id},
                                  {"kind": "once", "at": "2026-11-25T18:00"}, now=now)
    assert automation.run_due(session, ny(2026, 11, 25, 18))["reminders"] == 1
    assert (r.active, r.next_due_at) == (False, None)
    assert automation.run_due(session, ny(2026, 11, 26, 18))["reminders"] == 0
    with pytest.raises(ValidationError, match="already passed"):
        reminders.create_reminder(session, Actor.web(sam.id), project.id, "Late", "x", {"kind": "contact", "contact_id": marie.id},
                                  {"kind": "once", "at": "2026-11-25T07:00"}, now=now)


def test_groups_reach_only_eligible_contacts_and_skip_opted_out_numbers(session, project, sam, marie):
    unverified = contacts.create_contact(session, project, "mobile_worker", "bob")
    contacts.register_phone(session, project, unverified, "+17035550101")  # not verified: not eligible
    grace = contacts.create_contact(session, project, "case", "Grace", case_properties={"village": "Kisumu"})
    contacts.register_phone(session, project, grace, "+254712345678")
    peter = contacts.create_contact(session, project, "case", "Peter", case_properties={"village": "Zomba"})
    contacts.register_phone(session, project, peter, "+265991234567")
    aisha = contacts.create_contact(session, project, "case", "Aisha", case_properties={"village": "Kisumu"})
    contacts.register_phone(session, project, aisha, "+221771234567")
    session.scalar(select(PhoneNumber).where(PhoneNumber.e164 == "+221771234567")).opted_out = True
    session.flush()
    now = ny(2026, 11, 25, 8)
    for name, target in [("workers", {"kind": "mobile_workers"}), ("cases", {"kind": "cases"}),
                         ("kisumu", {"kind": "case_property", "property": "village", "value": "Kisumu"})]:
        reminders.create_reminder(session, Actor.web(sam.id), project.id, name, f"to {name}", target,
                                  {"kind": "once", "at": "2026-11-25T09:00"}, now=now)
    automation.run_due(session, ny(2026, 11, 25, 9))
    sent = {(m.body, m.phone_number) for m in _out(session)}
    assert sent == {("to workers", "+17033996500"), ("to cases", "+254712345678"), ("to cases", "+265991234567"),
                    ("to kisumu", "+254712345678")}


def test_the_calendar_counts_the_next_30_days_per_reminder(session, project, sam, marie):
    now = ny(2026, 11, 25, 10)
    reminders.create_reminder(session, Actor.web(sam.id), project.id, "Morning", "Good morning",
                              {"kind": "mobile_workers"}, {"kind": "daily", "time": "09:00"}, now=now)
    reminders.create_reminder(session, Actor.web(sam.id), project.id, "Meeting", "Meeting tomorrow",
                              {"kind": "contact", "contact_id": marie.id},
                              {"kind": "weekly", "time": "18:00", "weekdays": [2]}, now=now)  # Wednesdays
    rows = reminders.calendar(session, Actor.web(sam.id), project.id, now=now)
    days = {r.day for r in rows}
    assert min(days) == date(2026, 11, 25) and max(days) == date(2026, 12, 24)
    morning = [r for r in rows if r.name == "Morning"]
    assert len(morning) == 29 and morning[0].day == date(2026, 11, 26)  # today's 09:00 has passed
    meeting = [(r.day, r.times, r.messages) for r in rows if r.name == "Meeting"]
    assert meeting == [(date(2026, 11, 25), "18:00", 1), (date(2026, 12, 2), "18:00", 1),
                       (date(2026, 12, 9), "18:00", 1), (date(2026, 12, 16), "18:00", 1),
                       (date(2026, 12, 23), "18:00", 1)]


def test_an_agent_cannot_manage_reminders(session, project, agent, marie):
    with pytest.raises(PermissionDenied):
        reminders.create_reminder(session, Actor.web(agent.id), project.id, "x", "y", {"kind": "mobile_workers"},
                                  {"kind": "daily", "time": "09:00"})


def test_a_reminder_can_start_a_survey_and_the_worker_fires_it(session, db_url, project, sam, marie):
    from smschat.automation import surveys
    from smschat.gateways.loopback.sender import LoopbackGateway
    from smschat.messaging import worker
    from smschat.models import SurveySession

    survey = surveys.create_survey(session, Actor.web(sam.id), project.id, "Check", [{"text": "Any fever today?", "kind": "choice",
                                                                           "choices": ["Yes", "No"]}])
    r = reminders.create_reminder(session, Actor.web(sam.id), project.id, "Fever check", "", {"kind": "mobile_workers"},
                                  {"kind": "daily", "time": "09:00"}, survey_id=survey.id)
    r.next_due_at = datetime.now(UTC) - timedelta(minutes=1)  # due now
    session.commit()
    assert worker.run_once(LoopbackGateway(), url=db_url) == 1  # the round fires it, then sends the question
    session.rollback()
    sess = session.scalar(select(SurveySession))
    assert (sess.origin, sess.status) == ("reminder", "open")
    [message] = _out(session, "survey")
    assert (message.body, message.status) == ("Any fever today? Reply 1 for Yes, 2 for No", "delivered")
    session.refresh(r)
    assert r.next_due_at > datetime.now(UTC)


def test_changing_the_project_time_zone_moves_reminders_to_the_new_local_time(session, project, sam, marie):
    from smschat.accounts.actor import Actor
    from smschat.chat import settings

    now = ny(2026, 11, 25, 8)
    r = reminders.create_reminder(session, Actor.web(sam.id), project.id, "Morning", "Good morning", {"kind": "mobile_workers"},
                                  {"kind": "daily", "time": "09:00"}, now=now)
    assert r.next_due_at == ny(2026, 11, 25, 9)
    settings.update_settings(session, Actor.web(sam.id), project.id, {"time_zone": "Africa/Nairobi"}, now=now)
    # 13:00 UTC is 16:00 in Nairobi: the next 09:00 there is tomorrow, 06:00 UTC.
    assert r.next_due_at == datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
    [row] = reminders.calendar(session, Actor.web(sam.id), project.id, now=now)[:1]
    assert (row.day, row.times, row.recipients) == (date(2026, 11, 26), "09:00", 1)


def test_a_reminder_to_a_large_group_goes_out_in_chunks_and_fires_once(session, project, sam, marie, monkeypatch):
    for i in range(4):
        worker = contacts.create_contact(session, project, "mobile_worker", f"worker {i}")
        contacts.register_phone(session, project, worker, f"+1703555020{i}", verified=True)
    monkeypatch.setattr(reminders, "CHUNK", 2)
    now = ny(2026, 11, 25, 8)
    r = reminders.create_reminder(session, Actor.web(sam.id), project.id, "All", "Hello workers", {"kind": "mobile_workers"},
                                  {"kind": "daily", "time": "09:00"}, now=now)
    due = ny(2026, 11, 25, 9)
    assert [automation.run_due(session, due)["reminders"] for _ in range(4)] == [1, 1, 1, 0]
    assert len(_out(session)) == 5 and len({m.phone_number for m in _out(session)}) == 5
    assert (r.cursor_contact_id, r.next_due_at) == (None, ny(2026, 11, 26, 9))


def test_the_projects_page_changing_the_time_zone_moves_reminders_too(session, project, sam, marie):
    """The time zone has two pages (Settings, Projects) and one consequence: either change moves
    the reminders to the same local time in the new zone."""
    from smschat.accounts import auth, projects

    admin = auth.create_user(session, "ada", "long enough pw", project=project, role="admin")
    now = ny(2026, 11, 25, 8)
    r = reminders.create_reminder(session, Actor.web(sam.id), project.id, "Morning", "Good morning",
                                  {"kind": "mobile_workers"}, {"kind": "daily", "time": "09:00"}, now=now)
    assert r.next_due_at == ny(2026, 11, 25, 9)
    projects.set_time_zone(session, Actor.web(admin.id), project.id, "Africa/Nairobi", now=now)
    # 13:00 UTC is 16:00 in Nairobi: the next 09:00 there is tomorrow, 06:00 UTC.
    assert r.next_due_at == datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
    # The same zone again changes nothing and moves nothing.
    r.next_due_at = ny(2026, 11, 25, 9)
    projects.set_time_zone(session, Actor.web(admin.id), project.id, "Africa/Nairobi", now=now)
    assert r.next_due_at == ny(2026, 11, 25, 9)
