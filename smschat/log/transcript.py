"""Transcript: one conversation as a file, CSV or a print-friendly HTML page.

The lines the chat shows (its sender labels, seed timestamps, Survey Traffic applied), with
each line's status, over a range of local days; staff notes only when asked for. Every file
writes an `export` row to the audit trail, like the message log's downloads; the CSV passes
the same formula guard (`spreadsheet.csv_bytes`), and the HTML page escapes every text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from html import escape

from sqlalchemy import select
from sqlalchemy.orm import Session

from smschat.accounts.access import Action, require
from smschat.accounts.actor import Actor
from smschat.accounts.projects import get_chat_settings, get_project
from smschat.chat.timefmt import format_timestamp
from smschat.chat.window import sender_label, survey_filter
from smschat.errors import ValidationError
from smschat.log import spreadsheet
from smschat.log.exports import _audit_export
from smschat.log.filter import DIRECTION_LABELS, LogFilter
from smschat.models import Message, WebUser
from smschat.people.contacts import display_name, get_contact, primary_phone

HEADER = ["Timestamp", "Sender", "Direction", "Message", "Status"]
NOTE = "note"  # a staff note's direction: a line of the thread that is never sent
FORMATS = {"csv": "text/csv", "html": "text/html"}


@dataclass(frozen=True)
class TranscriptFile:
    format: str
    filename: str
    media_type: str
    data: bytes
    rows: int


def _rows(session: Session, project_id: int, contact_id: int, filt: LogFilter, notes: bool) -> list[list[str]]:
    project = get_project(session, project_id)
    contact = get_contact(session, project_id, contact_id)
    settings = get_chat_settings(session, project_id)
    name = display_name(contact, settings)
    lo, hi = filt.utc_bounds(project.time_zone)
    query = (
        select(Message, WebUser)
        .outerjoin(WebUser, WebUser.id == Message.sent_by_id)
        .where(Message.project_id == project_id, Message.contact_id == contact.id,
               *survey_filter(settings.survey_traffic))
        .order_by(Message.id)
    )
    if lo is not None:
        query = query.where(Message.created_at >= lo)
    if hi is not None:
        query = query.where(Message.created_at < hi)
    if not notes:
        query = query.where(Message.direction != NOTE)
    return [[format_timestamp(m.created_at, project.time_zone), sender_label(m, name, u),
             DIRECTION_LABELS.get(m.direction, m.direction.capitalize()), m.body, m.status]
            for m, u in session.execute(query)]


def _html(title: str, subtitle: str, rows: list[list[str]]) -> bytes:
    """A page that prints well and runs nothing: every text escaped, and a policy that allows
    no script, no request and no form should the file be opened from a server."""
    cells = "".join(
        "<tr class='{}'>{}</tr>".format(escape(row[2].lower()), "".join(f"<td>{escape(v)}</td>" for v in row))
        for row in rows
    ) or f"<tr><td colspan='{len(HEADER)}'>No messages in this range.</td></tr>"
    head = "".join(f"<th>{escape(h)}</th>" for h in HEADER)
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>{escape(title)}</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2em;color:#111}h1{font-size:1.4em;margin:0 0 .2em}"
        "p{color:#555;margin:0 0 1em}table{border-collapse:collapse;width:100%}"
        "th,td{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}td:first-child{white-space:nowrap}"
        "td:nth-child(4){white-space:pre-wrap;word-break:break-word}tr.note td{font-style:italic;background:#fffbe6}"
        "th{border-bottom:2px solid #333}@media print{body{margin:0}tr{break-inside:avoid}}"
        f"</style></head><body><h1>{escape(title)}</h1><p>{escape(subtitle)}</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table></body></html>\n"
    ).encode("utf-8")


def _range_words(filt: LogFilter) -> str:
    last = None if filt.until is None else date.fromordinal(filt.until.toordinal() - 1)
    if filt.since and last:
        return f"{filt.since.isoformat()} to {last.isoformat()}"
    if filt.since:
        return f"from {filt.since.isoformat()}"
    return f"until {last.isoformat()}" if last else "all time"


def write_transcript(session: Session, actor: Actor, project_id: int, contact_id: int | str, fmt: str, *,
                     since: date | str | None = None, until: date | str | None = None, notes: bool = False,
                     username: str | None = None) -> TranscriptFile:
    """The conversation with `contact_id` as a CSV or HTML file, and its audit row.

    `since` is the first local day included and `until` the first day not included (as in the
    message log's filter), in the project's time zone; either may be left out."""
    require(session, actor, project_id, Action.CHAT)
    fmt = (fmt or "").strip().lower()
    if fmt not in FORMATS:
        raise ValidationError(f"Unknown transcript format {fmt!r}; use csv or html.")
    contact = get_contact(session, project_id, contact_id)
    filt = LogFilter(since=since, until=until, contact_id=contact.id)
    rows = _rows(session, project_id, contact.id, filt, notes)
    name = display_name(contact, get_chat_settings(session, project_id))
    title = f"Chat - {name}"
    if fmt == "csv":
        data = spreadsheet.csv_bytes(HEADER, rows)
    else:
        phone = primary_phone(session, contact)
        project = get_project(session, project_id)
        subtitle = " · ".join(p for p in (project.name, phone and phone.e164, _range_words(filt),
                                          f"{len(rows)} messages", "notes included" if notes else "") if p)
        data = _html(title, subtitle, rows)
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")[:40] or "contact"
    _audit_export(session, actor, project_id, {"format": f"transcript {fmt}", "rows": len(rows),
                                               "filter": filt.describe(), "notes": notes}, username=username)
    return TranscriptFile(fmt, f"transcript-{safe}-{contact.id}.{fmt}", FORMATS[fmt], data, len(rows))
