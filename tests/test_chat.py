from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from smschat.accounts import projects
from smschat.chat import window as chat
from smschat.chat.timefmt import format_timestamp, range_start
from smschat.errors import ContactNotFound, EmptyMessage, MessageTooLong
from smschat.messaging import inbound, outbox
from smschat.models import Message, Workflow
from smschat.people import contacts


def _count(session):
    return session.scalar(select(func.count()).select_from(Message))


def test_a_chat_message_is_queued_with_its_sender_and_segments(session, project, agent, marie):
    msg = chat.send_chat_message(session, project.id, marie.id, agent.id, "Did you complete your supervisions today?")
    session.commit()
    assert (msg.status, msg.workflow, msg.sent_by_id, msg.phone_number, msg.segments) == (
        "queued", "chat", agent.id, "+17033996500", 1)
    lines = chat.get_history(session, project.id, marie.id)
    assert [(line.sender, line.body, line.status) for line in lines] == [
        ("Amy", "Did you complete your supervisions today?", "queued")]


@pytest.mark.parametrize("body,error", [("", EmptyMessage), ("   ", EmptyMessage), ("x" * 1601, MessageTooLong)])
def test_bad_bodies_are_refused_and_nothing_is_written(session, project, agent, marie, body, error):
    with pytest.raises(error):
        chat.send_chat_message(session, project.id, marie.id, agent.id, body)
    session.rollback()
    assert _count(session) == 0


def test_unknown_contact_is_refused_and_nothing_is_written(session, project, agent, marie):
    with pytest.raises(ContactNotFound):
        chat.send_chat_message(session, project.id, 424242, agent.id, "hello")
    session.rollback()
    assert _count(session) == 0


def test_sender_labels_follow_the_seed(session, project, agent, marie):
    other = projects.create_project(session, "x", "X")
    from smschat.accounts import auth

    nofirst = auth.create_user(session, "jdoe", "long enough pw", project=project)
    outbox.enqueue(session, project, marie, "Heads up!", workflow=Workflow.REMINDER)
    chat.send_chat_message(session, project.id, marie.id, agent.id, "from amy")
    chat.send_chat_message(session, project.id, marie.id, nofirst.id, "from jdoe")
    inbound.receive_sms(session, project, "+17033996500", "from marie")
    session.commit()
    assert other.id != project.id
    lines = chat.get_history(session, project.id, marie.id)
    assert [(line.sender, line.body) for line in lines] == [
        ("System", "Heads up!"), ("Amy", "from amy"), ("jdoe", "from jdoe"), ("marie", "from marie")]


def test_timestamp_is_formatted_like_the_seed_in_the_project_time_zone():
    moment = datetime(2017, 8, 7, 21, 23, tzinfo=UTC)  # 05:23pm in New York (EDT)
    assert format_timestamp(moment, "America/New_York") == "05:23pm 08/07/17"
    assert format_timestamp(datetime(2017, 8, 8, 6, 0, tzinfo=UTC), "America/New_York") == "02:00am 08/08/17"


def test_ranges_start_at_local_midnight():
    now = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)  # 11:00 EDT, the day after the DST change
    assert range_start("Yesterday", "America/New_York", now) == datetime(2026, 3, 8, 5, 0, tzinfo=UTC)
    # A week back crosses the change: midnight then was EST (UTC-5).
    assert range_start("1 Week", "America/New_York", now) == datetime(2026, 3, 2, 5, 0, tzinfo=UTC)
    assert range_start("All Time", "America/New_York", now) is None


def test_history_range_excludes_older_messages(session, project, agent, marie):
    now = datetime.now(UTC)
    outbox.enqueue(session, project, marie, "old", workflow=Workflow.REMINDER, created_at=now - timedelta(days=10))
    outbox.enqueue(session, project, marie, "new", workflow=Workflow.REMINDER, created_at=now)
    session.commit()
    assert [line.body for line in chat.get_history(session, project.id, marie.id, range_name="1 Week")] == ["new"]
    assert [line.body for line in chat.get_history(session, project.id, marie.id, range_name="30 Days")] == ["old", "new"]


def test_cursor_polling_never_misses_messages_sharing_a_timestamp(session, project, agent, marie):
    same = datetime.now(UTC).replace(microsecond=0)
    first = outbox.enqueue(session, project, marie, "one", workflow=Workflow.REMINDER, created_at=same)
    session.commit()
    cursor = chat.get_history(session, project.id, marie.id)[-1].id
    assert cursor == first.id
    for body in ("two", "three"):
        outbox.enqueue(session, project, marie, body, workflow=Workflow.REMINDER, created_at=same)
    session.commit()
    polled = chat.get_history(session, project.id, marie.id, after_id=cursor)
    assert [line.body for line in polled] == ["two", "three"]
    assert chat.get_history(session, project.id, marie.id, after_id=polled[-1].id) == []


def test_first_page_is_the_newest_and_older_pages_load_on_demand(session, project, agent, marie):
    for i in range(7):
        outbox.enqueue(session, project, marie, f"m{i}", workflow=Workflow.REMINDER)
    session.commit()
    page = chat.get_history(session, project.id, marie.id, limit=3)
    assert [line.body for line in page] == ["m4", "m5", "m6"]
    older = chat.get_history(session, project.id, marie.id, limit=3, before_id=page[0].id)
    assert [line.body for line in older] == ["m1", "m2", "m3"]


def test_history_of_another_projects_contact_is_refused(session, project, marie):
    other = projects.create_project(session, "other", "Other")
    session.commit()
    with pytest.raises(ContactNotFound):
        chat.get_history(session, other.id, marie.id)


def test_chat_title_uses_case_name_display(session, project):
    case = contacts.create_contact(session, project, "case", "Grace", case_properties={"nick": "G"})
    assert chat.chat_title(session, project.id, case) == "Chat - Grace"
    projects.get_chat_settings(session, project.id).case_name_display = "nick"
    assert chat.chat_title(session, project.id, case) == "Chat - G"


def _survey_traffic(session, project, marie):
    from smschat.models import Message, Status

    def add(direction, body, invalid=False):
        session.add(Message(project_id=project.id, contact_id=marie.id, phone_number="+17033996500",
                            direction=direction, body=body, status=Status.RECEIVED.value if direction == "in" else "delivered",
                            workflow="survey", invalid_response=invalid))
    add("out", "How many visits this week?")
    add("in", "many", invalid=True)
    add("in", "3")
    outbox.enqueue(session, project, marie, "Thanks", workflow=Workflow.CHAT)
    session.commit()


@pytest.mark.parametrize(
    "mode,expected",
    [
        ("show_all", ["How many visits this week?", "many", "3", "Thanks"]),
        ("hide_all", ["Thanks"]),
        ("invalid_only", ["many", "Thanks"]),
    ],
)
def test_survey_traffic_setting_filters_the_history(session, project, agent, marie, mode, expected):
    _survey_traffic(session, project, marie)
    projects.get_chat_settings(session, project.id).survey_traffic = mode
    session.commit()
    assert [line.body for line in chat.get_history(session, project.id, marie.id)] == expected
    assert [line.body for line in chat.get_history(session, project.id, marie.id, after_id=0)] == expected


def test_message_counter_counts_both_ways_since_the_window_opened(session, project, agent, marie):
    outbox.enqueue(session, project, marie, "before", workflow=Workflow.REMINDER)
    session.commit()
    opened = chat.latest_id(session, project.id, marie.id)
    assert chat.count_since(session, project.id, marie.id, opened) == 0
    chat.send_chat_message(session, project.id, marie.id, agent.id, "out")
    inbound.receive_sms(session, project, "+17033996500", "in")
    session.commit()
    assert chat.count_since(session, project.id, marie.id, opened) == 2
    assert chat.latest_id(session, project.id, 424242) == 0


def test_viewing_now_lists_other_recent_viewers_only(session, project, agent, marie):
    from smschat.accounts import auth
    from smschat.chat import presence

    sam = auth.create_user(session, "sam", "long enough pw", first_name="Sam", project=project, role="supervisor")
    presence.touch(session, project.id, agent.id, marie.id)
    presence.touch(session, project.id, sam.id, marie.id)
    session.commit()
    assert presence.others_viewing(session, project.id, agent.id, marie.id, within_seconds=10) == ["Sam"]
    assert presence.others_viewing(session, project.id, sam.id, marie.id, within_seconds=10) == ["Amy"]
    assert presence.others_viewing(session, project.id, sam.id, marie.id, within_seconds=0) == []


def test_chat_templates_are_registered_as_data():
    from smschat.chat import templates
    from smschat.errors import ValidationError

    assert set(templates.TEMPLATES) >= {"Default", "Compact", "Bubbles"}
    assert templates.validate_template("Compact") == "Compact"
    with pytest.raises(ValidationError, match="Unknown chat template"):
        templates.validate_template("Fancy")
    assert templates.get_template("Fancy").name == "Default"


def test_yesterday_includes_local_midnight_and_excludes_the_second_before(session, project, agent, marie):
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(project.time_zone)  # America/New_York
    now = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
    midnight = datetime(2026, 11, 24, 0, 0, tzinfo=tz).astimezone(UTC)
    outbox.enqueue(session, project, marie, "just before", workflow=Workflow.REMINDER, created_at=midnight - timedelta(seconds=1))
    outbox.enqueue(session, project, marie, "at midnight", workflow=Workflow.REMINDER, created_at=midnight)
    session.commit()
    lines = chat.get_history(session, project.id, marie.id, range_name="Yesterday", now=now)
    assert [line.body for line in lines] == ["at midnight"]
    assert lines[0].timestamp == "12:00am 11/24/26"
