"""Exports equal the filtered table (row count and a checksum of the rows) in CSV, XLSX and
Parquet, read back with pandas, openpyxl and pyarrow; the formula guard; the Excel row limit;
the audit row; and `smschat export` on the command line."""

import hashlib

import pandas as pd
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from typer.testing import CliRunner

from smschat.accounts.actor import Actor
from smschat.cli import app
from smschat.errors import PermissionDenied, ValidationError
from smschat.log import exports, messagelog, spreadsheet
from smschat.log.messagelog import COLUMNS, LogFilter
from smschat.models import AuditEvent

from . import logdata

runner = CliRunner()
FILTERS = [
    LogFilter(),
    LogFilter(since="2026-03-08", until="2026-03-09"),
    LogFilter(direction="out", statuses=["delivered", "undelivered", "sent"]),
    LogFilter(text="E", workflows=["chat", "survey", "default", "verification"]),
]


@pytest.fixture
def data(session, project, agent):
    return logdata.load(session, project, agent)


def checksum(rows) -> str:
    digest = hashlib.sha256()
    for row in sorted(tuple("" if v is None else str(v) for v in r) for r in rows):
        digest.update("\x1f".join(row).encode() + b"\x1e")
    return digest.hexdigest()


def table(session, data, filt):
    return messagelog.page(session, Actor.web(data.users["ana"].id), data.project.id, filt, page_size=1000).rows


def guarded(rows):
    return [tuple(spreadsheet.neutralise(v) if i in exports._GUARDED else v for i, v in enumerate(r))
            for r in rows]


def read_back(fmt, path):
    if fmt == "csv":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        return list(frame.columns), [tuple(r) for r in frame.itertuples(index=False)]
    if fmt == "xlsx":
        sheet = load_workbook(path, read_only=True).active
        rows = [tuple("" if v is None else v for v in r) for r in sheet.iter_rows(values_only=True)]
        return list(rows[0]), rows[1:]
    t = pq.read_table(path)
    frame = t.to_pandas()
    frame["Timestamp"] = frame["Timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S")
    return t.column_names, [tuple(r) for r in frame.itertuples(index=False)]


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_export_equals_the_filtered_table(session, data, tmp_path, fmt):
    for n, filt in enumerate(FILTERS):
        want = table(session, data, filt)
        assert want, filt
        seen = []
        result = exports.write_export(session, Actor.web(data.users["ana"].id), data.project.id, filt, fmt,
                                      tmp_path / f"log{n}.{fmt}", progress=lambda done, total: seen.append((done, total)),
                                      chunk_size=3)
        columns, rows = read_back(fmt, result.path)
        assert columns == list(COLUMNS)
        assert result.rows == len(rows) == len(want)
        # CSV and XLSX carry the formula guard; Parquet keeps the text as it is.
        assert checksum(rows) == checksum(want if fmt == "parquet" else guarded(want))
        # Chunks of 3: progress after each, ending at the total.
        assert seen[-1] == (len(want), len(want)) and len(seen) == -(-len(want) // 3)


def test_formula_guard_in_csv_and_xlsx(session, data, tmp_path):
    ana, pid = Actor.web(data.users["ana"].id), data.project.id
    exports.write_export(session, ana, pid, LogFilter(), "csv", tmp_path / "log.csv")
    exports.write_export(session, ana, pid, LogFilter(), "xlsx", tmp_path / "log.xlsx")
    frame = pd.read_csv(tmp_path / "log.csv", dtype=str, keep_default_na=False)
    bodies = set(frame["Message"])
    assert {"'=HYPERLINK(\"http://x\",\"click\")", "'-5 degrees @home", "'+1 more"} <= bodies
    assert "<img src=x onerror=alert(1)>" in bodies  # harmless text stays as it is
    assert set(frame["Phone Number"]) == {"+17033996500", "+254712345678", "+15550001111"}  # E.164 is no formula
    sheet = load_workbook(tmp_path / "log.xlsx").active
    cells = [row[5] for row in sheet.iter_rows(min_row=2)]
    assert all(c.data_type == "s" for c in cells)  # text, never a formula
    assert "'=HYPERLINK(\"http://x\",\"click\")" in [c.value for c in cells]
    for danger in ("=1+1", "+1+1", "-1 ", "@SUM(A1)", "\t=1", "\r=1", " =1", "\n-1+1"):
        assert spreadsheet.neutralise(danger) == "'" + danger
    assert spreadsheet.neutralise("1+1=2") == "1+1=2" and spreadsheet.neutralise("") == ""
    assert spreadsheet.neutralise("+17033996500") == "+17033996500" and spreadsheet.neutralise("-2.5") == "-2.5"
    assert spreadsheet.neutralise("+1=cmd|' /C calc'!A0") == "'+1=cmd|' /C calc'!A0"


def test_excel_refuses_more_rows_than_a_sheet_holds(session, data, tmp_path, monkeypatch):
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 9)
    target = tmp_path / "too-big.xlsx"
    with pytest.raises(ValidationError, match="This export has 10 rows; Excel holds at most 9"):
        exports.write_export(session, Actor.web(data.users["ana"].id), data.project.id, LogFilter(), "xlsx", target)
    assert not target.exists()
    ok = exports.write_export(session, Actor.web(data.users["ana"].id), data.project.id, LogFilter(direction="out"), "xlsx", target)
    assert ok.rows == 6
    # CSV and Parquet have no such limit.
    assert exports.write_export(session, Actor.web(data.users["ana"].id), data.project.id, LogFilter(), "csv",
                                tmp_path / "all.csv").rows == 10


def test_only_roles_that_may_export_can_and_every_export_is_audited(db_url, session, data, tmp_path):
    with pytest.raises(PermissionDenied):
        exports.write_export(session, Actor.web(data.users["amy"].id), data.project.id, LogFilter(), "csv", tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()
    session.commit()
    result = exports.export_messages(Actor.web(data.users["ana"].id), data.project.id, LogFilter(direction="in"), "parquet",
                                     tmp_path / "in.parquet", username="ana")
    assert result.rows == 4
    session.expire_all()
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert (event.user_id, event.username, event.project_id) == (data.users["ana"].id, "ana", data.project.id)
    assert event.detail == {"format": "parquet", "rows": 4, "filter": {"direction": "in"}}
    with pytest.raises(ValidationError, match="Unknown export format"):
        exports.parse_format("docx")


def test_cli_export_writes_the_month_and_audits_the_operator(db_url, session, data, tmp_path):
    out = tmp_path / "march.csv"
    r = runner.invoke(app, ["export", "--project", "test", "--since", "2026-03-01", "--until", "2026-04-01",
                            "--format", "csv", "--output", str(out)])
    assert r.exit_code == 0, r.output
    assert "Exported 6 messages" in r.output
    assert "━" not in r.output  # no progress bar when stderr is not a terminal
    want = table(session, data, LogFilter(since="2026-03-01", until="2026-04-01"))
    assert checksum(read_back("csv", out)[1]) == checksum(guarded(want))
    session.expire_all()
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert event.user_id is None and event.detail["via"] == "command line"
    assert event.detail["filter"] == {"since": "2026-03-01", "until": "2026-04-01"}
    assert event.detail["rows"] == 6

    parquet = tmp_path / "out.parquet"
    r = runner.invoke(app, ["export", "--project", "test", "--format", "parquet", "--output", str(parquet),
                            "--type", "chat", "--type", "survey", "--direction", "in"])
    assert r.exit_code == 0, r.output
    assert pq.read_table(parquet).num_rows == 3
    # One project: --project may be left out.
    r = runner.invoke(app, ["export", "--format", "xlsx", "--output", str(tmp_path / "all.xlsx")])
    assert r.exit_code == 0 and "Exported 10 messages" in r.output


@pytest.mark.parametrize("args, message", [
    (["--format", "pdf"], "error: Unknown export format 'pdf'"),
    (["--since", "2026-02-01", "--until", "2026-01-01"], "error: The end of the date range must be after its start."),
    (["--project", "nope"], "error: No project 'nope'."),
    (["--type", "spam"], "error: Unknown message type 'spam'"),
])
def test_cli_export_errors_are_one_line(db_url, session, data, tmp_path, args, message):
    base = {"--project": "test", "--output": str(tmp_path / "x.csv")}
    for i in range(0, len(args), 2):
        base[args[i]] = args[i + 1]
    r = runner.invoke(app, ["export", *[x for kv in base.items() for x in kv]])
    assert r.exit_code == 1
    assert r.stderr.strip().startswith(message) and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.csv").exists()


def test_the_guard_in_sql_agrees_with_neutralise(session, project, agent, tmp_path):
    from smschat.models import Message

    data = logdata.load(session, project, agent)
    tricky = ["\t=1+1", "\r=cmd", "@SUM(A1)", "-", "+", "=", " =spaced", "a=b", "'=already", "—dash", "＝fullwidth",
              "\n@x", " \t+x", "\x0b=x", "\xa0=x", "-5", "+2.5", "-2.", "+.5", "-1.2.3", "+1e5", " -5", "-5\n"]
    phones = ["+1=cmd|' /C calc'!A0", "+", "+12345678901234567", "=1", "-2", "+1 555", "+15550001111\n"]
    for i, body in enumerate(tricky + phones):
        phone = phones[i - len(tricky)] if i >= len(tricky) else "+15550001111"
        session.add(Message(project_id=project.id, phone_number=phone, direction="in", body=body,
                            status="received", workflow="default", created_at=logdata.utc(2026, 5, 1, 12, i)))
    session.commit()
    filt = LogFilter(since="2026-05-01", until="2026-05-02")
    result = exports.write_export(session, Actor.web(data.users["ana"].id), project.id, filt, "csv", tmp_path / "t.csv")
    assert result.rows == len(tricky) + len(phones)
    assert checksum(read_back("csv", result.path)[1]) == checksum(guarded(table(session, data, filt)))
