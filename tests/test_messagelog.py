"""The message log service on SQLite and PostgreSQL: every filter and combinations of them,
local-midnight edges of the date range (DST days in New York), sort, pages, charts, access."""

import itertools
import random
from datetime import timedelta

import pytest

from smschat.accounts import auth, projects
from smschat.accounts.actor import Actor
from smschat.errors import PermissionDenied, ValidationError
from smschat.log import charts, messagelog
from smschat.log.messagelog import COLUMNS, LogFilter
from smschat.models import Message

from . import logdata
from .logdata import expected, table_row, utc

FILTER_VALUES = {
    "since": [None, "2026-03-08", "2026-11-01", "2026-03-09"],
    "until": [None, "2026-03-09", "2026-11-02", "2026-03-08"],
    "direction": [None, "in", "out"],
    "workflows": [(), ("chat",), ("chat", "reminder"), ("survey", "keyword", "default")],
    "statuses": [(), ("delivered",), ("received", "failed"), ("queued", "undelivered", "sent")],
    "contact": [None, "marie", "grace"],
    "user": [None, "amy", "sam"],
    "text": ["", "visit", "100%", "x", "_", "%", "école", "ÉTÉ", "STOP", "=hyperlink", "<IMG"],
}


@pytest.fixture
def data(session, project, agent):
    return logdata.load(session, project, agent)


def _filter(data, **kw) -> LogFilter:
    args = dict(kw)
    if args.get("contact"):
        args["contact_id"] = data.contacts[args.pop("contact")].id
    args.pop("contact", None)
    if args.get("user"):
        args["user_id"] = data.users[args.pop("user")].id
    args.pop("user", None)
    return LogFilter(**args)


def _all_rows(session, data, filt, **kw):
    page = messagelog.page(session, Actor.web(data.users["ana"].id), data.project.id, filt, page_size=1000, **kw)
    return page.total, page.rows


def _valid(kw) -> bool:
    since, until = kw.get("since"), kw.get("until")
    return not (since and until and until <= since)


def test_the_log_shows_every_message_with_the_seed_columns_in_local_time(session, data):
    total, rows = _all_rows(session, data, LogFilter())
    assert total == len(logdata.ROWS)
    assert rows == [table_row(r) for r in sorted(data.rows, key=lambda r: (r.at, r.id), reverse=True)]
    assert COLUMNS == ("Timestamp", "Contact Name", "Contact Type", "Phone Number", "Direction", "Message",
                       "Type", "Status", "Sent by")
    # New York, both sides of each DST change; 01:30 on 2026-11-01 happens twice.
    stamps = [r[0] for r in reversed(rows)]
    assert stamps[:6] == ["2026-03-07 23:59:59", "2026-03-08 00:00:00", "2026-03-08 00:10:00",
                          "2026-03-08 08:00:00", "2026-03-08 23:59:59", "2026-03-09 00:00:00"]
    assert stamps[6:8] == ["2026-11-01 01:30:00", "2026-11-01 01:30:00"]


@pytest.mark.parametrize("field", list(FILTER_VALUES))
def test_each_filter_alone_selects_exactly_its_messages(session, data, field):
    for value in FILTER_VALUES[field]:
        kw = {field: value}
        want = expected(data, **kw)
        total, rows = _all_rows(session, data, _filter(data, **kw))
        assert total == len(want), kw
        assert sorted(rows) == sorted(table_row(r) for r in want), kw
        assert messagelog.count(session, Actor.web(data.users["ana"].id), data.project.id, _filter(data, **kw)) == len(want)


def test_combinations_of_filters(session, data):
    combos = [dict(zip(FILTER_VALUES, values, strict=True)) for values in itertools.product(*FILTER_VALUES.values())]
    random.Random(8).shuffle(combos)
    checked = 0
    for kw in combos:
        if not _valid(kw):
            continue
        want = expected(data, **kw)
        if not want and checked % 3:  # mostly combinations that still select something
            continue
        total, rows = _all_rows(session, data, _filter(data, **kw))
        assert (total, sorted(rows)) == (len(want), sorted(table_row(r) for r in want)), kw
        checked += 1
        if checked == 60:
            break
    assert checked == 60


def test_date_range_starts_and_ends_at_local_midnight_on_dst_days(session, data):
    ana, pid = Actor.web(data.users["ana"].id), data.project.id
    # 2026-03-08 is 23 hours long in New York: 05:00 UTC to 04:00 UTC next day.
    spring = messagelog.page(session, ana, pid, LogFilter(since="2026-03-08", until="2026-03-09"), descending=False)
    assert [r[0] for r in spring.rows] == ["2026-03-08 00:00:00", "2026-03-08 00:10:00", "2026-03-08 08:00:00",
                                           "2026-03-08 23:59:59"]
    # 2026-11-01 is 25 hours long: 04:00 UTC to 05:00 UTC next day.
    autumn = messagelog.page(session, ana, pid, LogFilter(since="2026-11-01", until="2026-11-02"), descending=False)
    assert [r[5] for r in autumn.rows] == ["École ÉTÉ", "-5 degrees @home", "+1 more"]
    assert LogFilter(since="2026-11-01", until="2026-11-02").utc_bounds("America/New_York") == (
        utc(2026, 11, 1, 4), utc(2026, 11, 2, 5))


def test_text_search_is_literal_and_ignores_case(session, data):
    ana, pid = Actor.web(data.users["ana"].id), data.project.id

    def bodies(text):
        return sorted(r[5] for r in messagelog.page(session, ana, pid, LogFilter(text=text)).rows)

    assert bodies("100%") == ["Reminder: clinic visit 100% tomorrow"]
    assert bodies("%") == ["Reminder: clinic visit 100% tomorrow"]  # not "anything"
    assert bodies("_") == []  # not "any one character"
    assert bodies("ÉCOLE été") == ["École ÉTÉ"]
    assert bodies("visit") == ["I visited two patients", "Reminder: clinic visit 100% tomorrow"]


def test_sort_and_pages_run_in_the_database(session, data):
    ana, pid = Actor.web(data.users["ana"].id), data.project.id
    names = []
    for number in (1, 2, 3, 4):
        p = messagelog.page(session, ana, pid, LogFilter(), sort="Contact Name", descending=False,
                            page_size=3, page_number=number)
        assert p.total == 10
        names += [r[1] for r in p.rows]
        if number == 4:
            assert (p.first, p.last) == (10, 10)
    assert len(names) == 10
    assert names == sorted(names)
    # Past the last page: the last page.
    assert messagelog.page(session, ana, pid, LogFilter(), page_size=3, page_number=99).first == 10
    by_status = messagelog.page(session, ana, pid, LogFilter(), sort="Status", descending=True, page_size=2)
    assert [r[7] for r in by_status.rows] == ["undelivered", "sent"]
    with pytest.raises(ValidationError):
        messagelog.page(session, ana, pid, LogFilter(), sort="body; DROP TABLE message")


def test_bad_filters_are_refused_in_one_place():
    with pytest.raises(ValidationError, match="after its start"):
        LogFilter(since="2026-02-01", until="2026-01-01")
    with pytest.raises(ValidationError, match="date like"):
        LogFilter(since="01/02/2026")
    with pytest.raises(ValidationError, match="direction"):
        LogFilter(direction="sideways")
    with pytest.raises(ValidationError, match="message type"):
        LogFilter(workflows=["spam"])
    with pytest.raises(ValidationError, match="status"):
        LogFilter(statuses=["lost"])
    with pytest.raises(ValidationError, match="200 characters"):
        LogFilter(text="x" * 201)
    f = LogFilter(direction="Incoming", workflows="Chat", statuses=["DELIVERED", "delivered"], text="  hi ")
    assert (f.direction, f.workflows, f.statuses, f.text) == ("in", ("chat",), ("delivered",), "hi")


def test_only_analysts_supervisors_and_admins_see_the_log_of_their_project(session, data):
    pid = data.project.id
    assert messagelog.count(session, Actor.web(data.users["sam"].id), pid, LogFilter()) == 10
    with pytest.raises(PermissionDenied):
        messagelog.page(session, Actor.web(data.users["amy"].id), pid, LogFilter())
    with pytest.raises(PermissionDenied):
        messagelog.charts(session, Actor.web(data.users["amy"].id), pid, LogFilter())
    other = projects.create_project(session, "other", "Other", time_zone="UTC")
    session.add(Message(project_id=other.id, phone_number="+15550009999", direction="in", body="other project",
                        status="received", workflow="default", created_at=utc(2026, 3, 8, 12)))
    stranger = auth.create_user(session, "olga", "correct horse battery", project=other, role="admin")
    session.commit()
    with pytest.raises(PermissionDenied):
        messagelog.count(session, Actor.web(stranger.id), pid, LogFilter())
    assert "other project" not in [r[5] for r in messagelog.page(session, Actor.web(data.users["ana"].id), pid, LogFilter()).rows]
    # A contact of another project filters to nothing rather than leaking its messages.
    assert messagelog.count(session, Actor.web(stranger.id), other.id, LogFilter(contact_id=data.contacts["marie"].id)) == 0


def test_charts_count_per_local_day_and_delivery_rate(session, data):
    c = messagelog.charts(session, Actor.web(data.users["ana"].id), data.project.id, LogFilter())
    assert ("2026-03-07", "Outgoing", 1) in c.per_day_direction
    assert ("2026-03-08", "Incoming", 2) in c.per_day_direction
    assert ("2026-11-01", "Outgoing", 3) in c.per_day_direction
    assert ("2026-03-08", "Reminder", 1) in c.per_day_type
    assert sum(n for _, _, n in c.per_day_type) == 10
    # Delivery: delivered / outgoing with an outcome (queued is not an outcome yet).
    assert c.delivery == [("2026-03-07", 0, 1, 0.0), ("2026-03-08", 2, 2, 1.0), ("2026-11-01", 0, 2, 0.0)]
    only_in = messagelog.charts(session, Actor.web(data.users["ana"].id), data.project.id, LogFilter(direction="in"))
    assert {k for _, k, _ in only_in.per_day_direction} == {"Incoming"} and only_in.delivery == []


def test_response_times_from_first_incoming_to_first_web_user_reply(session, project, agent):
    data = logdata.load(session, project, agent)
    marie, grace = data.contacts["marie"], data.contacts["grace"]
    amy, sam = data.users["amy"], data.users["sam"]
    start = utc(2026, 6, 1, 14)  # 10:00 in New York

    def add(contact, direction, at, user=None, workflow="chat"):
        session.add(Message(project_id=project.id, contact_id=contact.id, phone_number="+1", direction=direction,
                            body="x", status="received" if direction == "in" else "delivered", workflow=workflow,
                            created_at=at, sent_by_id=user.id if user else None))
        session.flush()

    # marie writes twice, amy answers 120 s after the first; a reminder in between is no reply.
    add(marie, "in", start)
    add(marie, "in", start + timedelta(seconds=30))
    add(marie, "out", start + timedelta(seconds=60), workflow="reminder")
    add(marie, "out", start + timedelta(seconds=120), amy)
    add(marie, "out", start + timedelta(seconds=130), amy)  # a second reply answers nothing new
    # grace: 600 s to sam; then 3 hours to amy.
    add(grace, "in", start + timedelta(minutes=5))
    add(grace, "out", start + timedelta(minutes=15), sam)
    add(grace, "in", start + timedelta(hours=1))
    add(grace, "out", start + timedelta(hours=4), amy)
    # Next local day: 50 s to amy.
    add(marie, "in", start + timedelta(days=1))
    add(marie, "out", start + timedelta(days=1, seconds=50), amy)
    session.commit()
    c = messagelog.charts(session, Actor.web(data.users["ana"].id), project.id, LogFilter(since="2026-06-01", until="2026-06-03"))
    # 2026-06-01: 120, 600, 10800 -> median 600, p90 = 600 + 0.8 * (10800 - 600)
    assert c.response_by_day == [("2026-06-01", 3, 600.0, pytest.approx(8760.0)), ("2026-06-02", 1, 50.0, 50.0)]
    # amy: 50, 120, 10800; sam: 600
    assert c.response_by_user == [("amy", 3, 120.0, pytest.approx(120 + 0.8 * (10800 - 120))), ("sam", 1, 600.0, 600.0)]
    by_sam = messagelog.charts(session, Actor.web(data.users["ana"].id), project.id,
                               LogFilter(since="2026-06-01", until="2026-06-03", user_id=sam.id))
    assert by_sam.response_by_user == [("sam", 1, 600.0, 600.0)]


def test_percentile_interpolates_over_a_histogram():
    assert charts.percentile([(10, 1)], 0.9) == 10
    assert charts.percentile([(1, 1), (2, 1), (3, 1), (4, 1)], 0.5) == 2.5
    assert charts.percentile([(5, 3), (100, 1)], 0.5) == 5
    assert charts.percentile([(0, 9), (100, 1)], 0.9) == pytest.approx(10.0)


def test_message_log_dataframe_has_the_same_rows_and_columns(session, data):
    ana, pid = Actor.web(data.users["ana"].id), data.project.id
    filt = LogFilter(since="2026-03-08", direction="out")
    frame = messagelog.message_log_dataframe(session, ana, pid, filt)
    assert list(frame.columns) == list(COLUMNS)
    assert str(frame["Timestamp"].dtype).startswith("datetime64")
    as_text = frame.assign(Timestamp=frame["Timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S"))
    assert sorted(map(tuple, as_text.itertuples(index=False))) == sorted(messagelog.page(session, ana, pid, filt).rows)
    with pytest.raises(PermissionDenied):
        messagelog.message_log_dataframe(session, Actor.web(data.users["amy"].id), pid)
    empty = messagelog.message_log_dataframe(session, ana, pid, LogFilter(text="nothing like this"))
    assert list(empty.columns) == list(COLUMNS) and len(empty) == 0
