"""The message log's columns, declared once: the page's table, its sort, the exports (their
formula guard and Parquet types) and the notebooks' DataFrame all read this table.

Empty text (not NULL) for unknown senders and system messages: NULLs sort differently per
backend, and a cell should read the same in every file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, case, func

from smschat.log.dialect import LocalClock
from smschat.log.filter import DIRECTION_LABELS, WORKFLOW_LABELS
from smschat.models import Contact, Message, WebUser
from smschat.people.contacts import KIND_LABELS

LOCAL_TIME, TEXT = "local time", "text"  # what a cell holds (Parquet: timestamp, string)


def label_case(col, labels: dict[str, str]) -> ColumnElement:
    """A stored code shown as its label, in SQL."""
    return case(*[(col == k, v) for k, v in labels.items()], else_=col)


@dataclass(frozen=True)
class Column:
    name: str
    shown: Callable[[LocalClock], ColumnElement]  # the cell, in SQL
    sort: ColumnElement  # what "Sort by" orders on (codes, not labels: an index serves it)
    user_text: bool  # text from people or the network: spreadsheets must never run it
    kind: str = TEXT


TABLE: tuple[Column, ...] = (
    Column("Timestamp", lambda clock: clock.stamp(Message.created_at), Message.created_at, False, LOCAL_TIME),
    Column("Contact Name", lambda clock: func.coalesce(Contact.name, ""), func.coalesce(Contact.name, ""), True),
    Column("Contact Type", lambda clock: func.coalesce(label_case(Contact.kind, KIND_LABELS), ""),
           func.coalesce(Contact.kind, ""), False),
    Column("Phone Number", lambda clock: Message.phone_number, Message.phone_number, True),
    Column("Direction", lambda clock: label_case(Message.direction, DIRECTION_LABELS), Message.direction, False),
    Column("Message", lambda clock: Message.body, Message.body, True),
    Column("Type", lambda clock: label_case(Message.workflow, WORKFLOW_LABELS), Message.workflow, False),
    Column("Status", lambda clock: Message.status, Message.status, False),
    Column("Sent by", lambda clock: func.coalesce(WebUser.username, ""), func.coalesce(WebUser.username, ""), True),
)
BY_NAME = {c.name: c for c in TABLE}
COLUMNS = tuple(c.name for c in TABLE)
SORT_COLUMNS = {c.name: c.sort for c in TABLE}
