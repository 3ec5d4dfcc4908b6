"""Exports of the filtered message log: CSV, Excel (XLSX) and Parquet, streamed in chunks.

Rows come from a server-side cursor a chunk at a time and go straight to the file (CSV
writer, openpyxl's write-only workbook, one Parquet row group per chunk), so memory stays
flat however many rows there are. The row set is pinned at the start (messages up to the
newest id then), so the count, the progress and the file agree even while messages arrive.

CSV and XLSX cells of user text pass the formula guard of `spreadsheet` (in SQL, here).
Parquet keeps the text as it is (no spreadsheet reads it as a formula).
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from smschat.accounts import audit
from smschat.accounts.access import Action, require
from smschat.accounts.actor import Actor
from smschat.db import session_scope
from smschat.errors import ValidationError
from smschat.log import spreadsheet
from smschat.log.columns import COLUMNS, LOCAL_TIME, TABLE
from smschat.log.filter import LogFilter
from smschat.log.query import build_query, iter_chunks, latest_id

FORMATS = {"csv": "CSV", "xlsx": "Excel", "parquet": "Parquet"}
MEDIA_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
}
# A worksheet holds 1,048,576 rows; one is the header.
XLSX_MAX_ROWS = 1_048_575
CHUNK_SIZE = 10_000
# User text that a spreadsheet must never evaluate: names, numbers from the network, bodies.
_GUARDED = tuple(i for i, c in enumerate(TABLE) if c.user_text)

Progress = Callable[[int, int], None]


def sql_guard(name: str, col, dialect: str):
    """The column hook of `iter_chunks`: the spreadsheet guard on the user-text columns."""
    if COLUMNS.index(name) not in _GUARDED:
        return col
    return spreadsheet.sql_guard(col, dialect)


@dataclass(frozen=True)
class ExportResult:
    format: str
    rows: int
    path: Path


def parse_format(fmt: str) -> str:
    key = (fmt or "").strip().lower().lstrip(".")
    key = {"excel": "xlsx", "xls": "xlsx", "pq": "parquet"}.get(key, key)
    if key not in FORMATS:
        raise ValidationError(f"Unknown export format {fmt!r}; use csv, xlsx or parquet.")
    return key


def too_many_for_excel(rows: int) -> str:
    return (f"This export has {rows:,} rows; Excel holds at most {XLSX_MAX_ROWS:,} in a sheet. "
            "Narrow the filter (a shorter date range) or choose CSV or Parquet.")


def write_export(
    session: Session,
    actor: Actor,
    project_id: int,
    filt: LogFilter,
    fmt: str,
    path: str | Path,
    *,
    progress: Progress | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> ExportResult:
    """Write the filtered log to `path`; reads only (see `record_export` for the audit row).

    `progress(done, total)` is called after each chunk. Excel refuses, before writing
    anything, a filter that selects more rows than a worksheet holds.
    """
    require(session, actor, project_id, Action.EXPORT)
    fmt = parse_format(fmt)
    path = Path(path)
    upto = latest_id(session, project_id)
    total = int(session.scalar(build_query(session, project_id, filt, upto_id=upto).count()) or 0)
    if fmt == "xlsx" and total > XLSX_MAX_ROWS:
        raise ValidationError(too_many_for_excel(total))
    # CSV and XLSX get the formula guard in SQL; Parquet keeps the text as it is.
    chunks = iter_chunks(session, project_id, filt, chunk_size=chunk_size, upto_id=upto,
                         column_hook=None if fmt == "parquet" else sql_guard)
    writer = {"csv": _write_csv, "xlsx": _write_xlsx, "parquet": _write_parquet}[fmt]
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # Fail here, cleanly, when the file cannot be written (not halfway into a writer).
        path.open("wb").close()
        rows = writer(chunks, path, total, progress or (lambda done, total: None))
    except BaseException:
        path.unlink(missing_ok=True)  # never leave half a file that looks like an export
        raise
    return ExportResult(fmt, rows, path)


def record_export(
    session: Session,
    actor: Actor,
    project_id: int,
    filt: LogFilter,
    result: ExportResult,
    *,
    username: str | None = None,
) -> None:
    """The audit row of an export: who, which filter, which format, how many rows.

    The command line has no web user: its rows carry no user and `via: command line`
    (the audit trail shows them as "(command line)"), plus the operator's login name.
    """
    require(session, actor, project_id, Action.EXPORT)
    _audit_export(session, actor, project_id, {"format": result.format, "rows": result.rows, "filter": filt.describe()},
                 username=username)


def _audit_export(session: Session, actor: Actor, project_id: int, detail: dict, *, username: str | None = None) -> None:
    """The `export` row of the audit trail, for anything that hands messages out (no check:
    the caller's entry point checked). The command line's has no web user (see record_export)."""
    if actor.operator:
        detail = {**detail, "via": "command line", **({"operator": username} if username else {})}
        audit.record(session, audit.EXPORT, project_id=project_id, detail=detail)
    else:
        audit.record(session, audit.EXPORT, user_id=actor.user_id, username=username, project_id=project_id,
                     detail=detail)


def export_messages(
    actor: Actor,
    project_id: int,
    filt: LogFilter,
    fmt: str,
    path: str | Path,
    *,
    progress: Progress | None = None,
    username: str | None = None,
    url: str | None = None,
) -> ExportResult:
    """Write the export, then its audit row: what the page and the CLI call.

    Two transactions on purpose: a long export reads in a read-only transaction (on
    SQLite, holding the write lock for minutes would stop the worker), and the audit row
    is written in a short one afterwards. A failed export writes no audit row.
    """

    with session_scope(url, readonly=True) as session:
        result = write_export(session, actor, project_id, filt, fmt, path, progress=progress)
    with session_scope(url) as session:
        record_export(session, actor, project_id, filt, result, username=username)
    return result


# --- writers: each takes an iterator of row chunks ----------------------------------------------


def _write_csv(chunks, path: Path, total: int, progress: Progress) -> int:
    done = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for chunk in chunks:
            writer.writerows(chunk)
            done += len(chunk)
            progress(done, total)
    return done


def _write_xlsx(chunks, path: Path, total: int, progress: Progress) -> int:
    from openpyxl import Workbook

    # write_only: rows go to a temporary file as they come, not into a tree in memory.
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Messages")
    sheet.append(COLUMNS)
    done = 0
    for chunk in chunks:
        if done + len(chunk) > XLSX_MAX_ROWS:  # messages arrived after the count: still refuse
            raise ValidationError(too_many_for_excel(done + len(chunk)))
        for row in chunk:
            # Control characters are not allowed in XLSX text: dropped rather than fail.
            sheet.append([spreadsheet.xlsx_cell(v) for v in row])
        done += len(chunk)
        progress(done, total)
    workbook.save(path)
    return done


def parquet_schema():
    import pyarrow as pa

    return pa.schema([pa.field(c.name, pa.timestamp("s") if c.kind == LOCAL_TIME else pa.string()) for c in TABLE])


def _write_parquet(chunks, path: Path, total: int, progress: Progress) -> int:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    schema = parquet_schema()
    done = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for chunk in chunks:
            columns = list(zip(*chunk, strict=True)) if chunk else [[] for _ in COLUMNS]
            # Local wall time (no zone), like the Timestamp text of the page and the CSV.
            arrays = [pc.strptime(pa.array(values, pa.string()), format="%Y-%m-%d %H:%M:%S", unit="s")
                      if c.kind == LOCAL_TIME else pa.array(values, pa.string())
                      for c, values in zip(TABLE, columns, strict=True)]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            done += len(chunk)
            progress(done, total)
    return done
