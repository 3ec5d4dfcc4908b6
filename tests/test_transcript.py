"""Transcripts: one conversation as CSV or HTML, with the chat's labels and times, audited."""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from smschat.accounts.actor import OPERATOR, Actor
from smschat.errors import ContactNotFound, PermissionDenied, ValidationError
from smschat.log import transcript
from smschat.models import AuditEvent, Message

from . import logdata

HOSTILE = [
    '=HYPERLINK("http://evil.example","click")',
    "<script>alert(document.cookie)</script>",
    "<img src=x onerror=alert(1)>",
    "\" onmouseover='alert(1)' x=\"",
    "</td></tr></table><h1>forged</h1>",
    "@SUM(A1:A9)",
]


@pytest.fixture
def data(session, project, agent):
    return logdata.load(session, project, agent)


def _csv(result) -> list[list[str]]:
    assert result.media_type == "text/csv" and not result.data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(result.data.decode("utf-8"))))


def test_a_csv_transcript_has_the_chats_times_senders_and_statuses(session, data):
    amy = Actor.web(data.users["amy"].id)
    result = transcript.write_transcript(session, amy, data.project.id, data.contacts["marie"].id, "csv")
    assert _csv(result) == [
        ["Timestamp", "Sender", "Direction", "Message", "Status"],
        ["11:59pm 03/07/26", "System", "Outgoing", "Heads up! Meeting at 6 pm", "failed"],
        ["12:00am 03/08/26", "marie", "Incoming", "I visited two patients", "received"],
        ["12:10am 03/08/26", "Amy", "Outgoing", "Did you complete your supervisions today?", "delivered"],
        # The night New York falls back: 01:30 twice, in true order.
        ["01:30am 11/01/26", "Sam", "Outgoing", "École ÉTÉ", "queued"],
        ["01:30am 11/01/26", "System", "Outgoing", "'-5 degrees @home", "undelivered"],  # the formula guard
    ]
    assert result.rows == 5 and result.filename == f"transcript-marie-{data.contacts['marie'].id}.csv"


def test_the_date_range_is_local_days_in_the_project_time_zone(session, data):
    amy = Actor.web(data.users["amy"].id)
    # 2026-03-08 only: from local midnight (05:00 UTC) to the next.
    result = transcript.write_transcript(session, amy, data.project.id, data.contacts["marie"].id, "csv",
                                         since="2026-03-08", until="2026-03-09")
    assert [row[3] for row in _csv(result)[1:]] == ["I visited two patients", "Did you complete your supervisions today?"]
    with pytest.raises(ValidationError, match="must be after its start"):
        transcript.write_transcript(session, amy, data.project.id, data.contacts["marie"].id, "csv",
                                    since="2026-03-09", until="2026-03-08")


def _hostile_chat(session, data) -> int:
    grace = data.contacts["grace"]
    for body in HOSTILE:
        session.add(Message(project_id=data.project.id, contact_id=grace.id, phone_number=logdata.PHONES["grace"],
                            direction="in", body=body, status="received", workflow="chat"))
    session.commit()
    return grace.id


def test_a_csv_transcript_passes_the_formula_guard(session, data):
    grace = _hostile_chat(session, data)
    result = transcript.write_transcript(session, Actor.web(data.users["amy"].id), data.project.id, grace, "csv")
    bodies = [row[3] for row in _csv(result)[1:]]
    assert "'=HYPERLINK(\"http://evil.example\",\"click\")" in bodies and "'@SUM(A1:A9)" in bodies
    assert "+1 more" not in bodies and "'+1 more" in bodies  # text, not a number: guarded
    assert "<script>alert(document.cookie)</script>" in bodies  # CSV keeps text as it is


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.cells, self._cell = [], [], None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "td":
            self._cell = ""

    def handle_data(self, text):
        if self._cell is not None:
            self._cell += text

    def handle_endtag(self, tag):
        if tag == "td":
            self.cells.append(self._cell)
            self._cell = None


def test_an_html_transcript_escapes_everything_and_runs_nothing(session, data):
    grace = _hostile_chat(session, data)
    result = transcript.write_transcript(session, Actor.web(data.users["amy"].id), data.project.id, grace, "html",
                                         since="2026-01-01")
    assert result.media_type == "text/html" and result.filename.endswith(".html")
    page = _Page()
    page.feed(result.data.decode("utf-8"))
    # Only the page's own elements: no script, image, heading from a body, no event handler.
    assert {tag for tag, _ in page.tags} == {"html", "head", "meta", "title", "style", "body", "h1", "p", "table",
                                             "thead", "tr", "th", "tbody", "td"}
    assert [tag for tag, _ in page.tags].count("h1") == 1
    assert not any(name.startswith("on") for _, attrs in page.tags for name in attrs)
    # Every hostile body is one cell, exactly as typed.
    for body in HOSTILE:
        assert body in page.cells
    assert "default-src 'none'" in result.data.decode()
    html = result.data.decode()
    assert "<h1>Chat - Grace Achieng</h1>" in html
    assert re.search(r"<p>Test Project · \+254712345678 · from 2026-01-01 · \d+ messages</p>", html)


def test_notes_are_left_out_unless_asked_for(session, data, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("a note's direction does not fit the column before the notes migration")
    marie = data.contacts["marie"]
    session.add(Message(project_id=data.project.id, contact_id=marie.id, phone_number=logdata.PHONES["marie"],
                        direction=transcript.NOTE, body="Called her, all fine", status="received", workflow="chat",
                        sent_by_id=data.users["amy"].id))
    session.commit()
    amy = Actor.web(data.users["amy"].id)
    plain = transcript.write_transcript(session, amy, data.project.id, marie.id, "csv")
    noted = transcript.write_transcript(session, amy, data.project.id, marie.id, "csv", notes=True)
    assert "Called her, all fine" not in plain.data.decode()
    assert _csv(noted)[-1][2:4] == ["Note", "Called her, all fine"]


def test_every_transcript_is_an_export_in_the_audit_trail(session, data):
    marie = data.contacts["marie"].id
    transcript.write_transcript(session, Actor.web(data.users["amy"].id), data.project.id, marie, "html",
                                since="2026-03-08", username="amy")
    transcript.write_transcript(session, OPERATOR, data.project.id, marie, "csv", username="root")
    rows = session.scalars(select(AuditEvent).where(AuditEvent.action == "export").order_by(AuditEvent.id)).all()
    assert [(r.user_id, r.username, r.detail) for r in rows] == [
        (data.users["amy"].id, "amy", {"format": "transcript html", "rows": 4, "notes": False,
                                       "filter": {"since": "2026-03-08", "contact_id": marie}}),
        (None, None, {"format": "transcript csv", "rows": 5, "notes": False, "filter": {"contact_id": marie},
                      "via": "command line", "operator": "root"}),
    ]


def test_an_analyst_another_projects_contact_and_an_unknown_format_are_refused(session, data):
    amy = Actor.web(data.users["amy"].id)
    with pytest.raises(PermissionDenied):
        transcript.write_transcript(session, Actor.web(data.users["ana"].id), data.project.id,
                                    data.contacts["marie"].id, "csv")
    with pytest.raises(ContactNotFound, match="No such contact in this project."):
        transcript.write_transcript(session, amy, data.project.id, 10**6, "csv")
    with pytest.raises(ValidationError, match="use csv or html"):
        transcript.write_transcript(session, amy, data.project.id, data.contacts["marie"].id, "pdf")


def test_the_chat_prepares_a_transcript_and_offers_it_for_download(db_url, session, data):
    from tests.test_pages import _as, app

    marie = data.contacts["marie"].id
    at = _as(app("pages/chat.py"), data.users["amy"], data.project)
    at.query_params["contact"] = str(marie)
    at.run()
    assert not at.exception
    at.checkbox(key=f"tr_notes_{marie}").check()
    at.button(key=f"tr_prepare_html_{marie}").click().run()
    assert not at.exception and not at.error
    ready = at.session_state[f"tr_file_{marie}"]
    assert (ready.format, ready.rows) == ("html", 5) and b"Chat - marie" in ready.data
    assert session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "export"))["notes"] is True
