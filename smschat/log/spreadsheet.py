"""The one formula guard for every spreadsheet file the app writes (CSV and XLSX).

A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` as a formula, and Excel and
LibreOffice skip leading blanks first: ` =cmd`, `\\n@SUM(...)` run too. Such text gets a
leading apostrophe, which spreadsheets show as text and hide in the cell. A cell that
starts with a tab or carriage return is guarded as well (a CSV reader may drop it and find
a formula behind it). Text that is only a number (`-5`, `+2.5`, a phone number in E.164
like `+254712345678`) runs nothing and stays as it is: an apostrophe there would turn
numeric answers into text and spoil every phone number. Numbers stay numbers.

`neutralise` is the rule in Python; `sql_guard` is the same rule in SQL, for the message
log export that guards millions of cells in the database. `csv_bytes` and `xlsx_cell` are
what writers call.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import String, and_, case, func, literal, not_, or_

from smschat.log.dialect import signed_number

FORMULA_CHARS = ("=", "+", "-", "@")
CONTROL_STARTS = ("\t", "\r")
# Skipped before a formula character: blanks, and the control characters XLSX cannot hold
# (the XLSX writer drops them, which would leave the formula character first). Not NUL:
# PostgreSQL text cannot hold it, and `xlsx_cell` guards again after dropping.
LEADING = " \xa0" + "".join(chr(c) for c in range(1, 32))
# A signed decimal number; the only formula characters a number can start with are + and -.
_NUMBER = re.compile(r"[+-][0-9]+(\.[0-9]+)?")


def is_formula(text: str) -> bool:
    """Would a spreadsheet run this text (or a CSV reader find a formula in it)?"""
    if text.startswith(CONTROL_STARTS):
        return True
    return text.lstrip(LEADING).startswith(FORMULA_CHARS) and not _NUMBER.fullmatch(text)


def neutralise(value: Any) -> Any:
    """`value` with a leading apostrophe when a spreadsheet would run it; anything else as is."""
    if isinstance(value, str) and is_formula(value):
        return "'" + value
    return value


def sql_guard(col, dialect: str):
    """`neutralise` in SQL, so the database guards millions of cells without Python per row."""
    formula = and_(func.substr(func.ltrim(col, literal(LEADING, String)), 1, 1).in_(FORMULA_CHARS),
                   not_(signed_number(col, dialect)))
    danger = or_(func.substr(col, 1, 1).in_(CONTROL_STARTS), formula)
    return case((danger, literal("'", String).op("||")(col)), else_=col)


def csv_bytes(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> bytes:
    """A whole CSV file (UTF-8, no byte-order mark) with every cell, header included, guarded."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralise(v) for v in header])
    for row in rows:
        writer.writerow([neutralise("" if v is None else v) for v in row])
    return buffer.getvalue().encode("utf-8")


def xlsx_cell(value: Any) -> Any:
    """A value for openpyxl: control characters XLSX cannot hold dropped, then guarded again
    (openpyxl itself stores any text starting with `=` as a formula)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if not isinstance(value, str):
        return value
    clean = ILLEGAL_CHARACTERS_RE.sub("", value)
    return neutralise(clean) if clean != value else clean
