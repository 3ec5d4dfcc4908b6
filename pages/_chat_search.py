"""The chat opened at a found message (`/chat?contact=<id>&at=<message id>`, from the Search
page): that message and the lines around it, above the live history."""

from html import escape

import streamlit as st

from pages._shared import chat_href, read
from smschat.chat import search


def show_found_message(project_id: int, contact_id: int) -> None:
    at = st.query_params.get("at")
    if not at:
        return
    around = read(search.window_around, project_id, contact_id, at)
    lines = "".join(
        f"<div class='msg {escape(line.direction)}{' found' if line.id == around.message_id else ''}'"
        f" data-id='{line.id}'><span class='who'>{escape(line.sender)}:</span> "
        f"<span class='body'>{escape(line.body)}</span> <span class='ts'>{escape(line.timestamp)}</span></div>"
        for line in around.lines
    )
    st.html(
        "<style>.smschat-found{border:1px solid #e5e7eb;border-radius:.5em;padding:.5em .8em;margin-bottom:.8em}"
        ".smschat-found .msg{padding:.15em 0}.smschat-found .found{background:#fde68a;font-weight:600}"
        ".smschat-found .who{font-weight:600}.smschat-found .ts{color:#888;font-size:.85em}"
        ".smschat-found p{margin:0 0 .3em;color:#555}</style>"
        f"<div class='smschat-found' data-at='{around.message_id}'><p>The message you searched for, with the "
        f"lines around it (<a href='{escape(chat_href(contact_id))}' target='_self'>close</a>):</p>{lines}</div>"
    )
