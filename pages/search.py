"""Search: every conversation of the project, by text in the messages; a hit opens the chat there."""

from html import escape

import streamlit as st

from pages._shared import chat_href, read, viewer
from smschat.chat import search

me = viewer("search")
st.title("Search conversations")

with st.form("search_form", border=False):
    left, right = st.columns([5, 1], vertical_alignment="bottom")
    needle = left.text_input("Search messages", placeholder=f"At least {search.MIN_LENGTH} characters, any case",
                             max_chars=search.MAX_LENGTH, key="search_text")
    right.form_submit_button("Search", type="primary")

# Pages of hits, newest first; a new text (or another project) starts again from the newest.
state = st.session_state.setdefault("search_state", {"text": None, "project": None, "hits": [], "more": False})
if (needle.strip(), me.project_id) != (state["text"], state["project"]):
    state.update(text=needle.strip(), project=me.project_id, hits=[], more=False)
    if needle.strip():
        state["hits"] = read(search.search_messages, me.project_id, needle)
        state["more"] = len(state["hits"]) == search.PAGE
if not state["text"]:
    st.stop()
hits = state["hits"]
if not hits:
    st.info("No message contains this text.")
    st.stop()


def _hit_html(hit: search.SearchHit) -> str:
    # Everything from the database is escaped; the link carries only ids.
    return (
        f"<li class='smschat-hit' data-message='{hit.message_id}'>"
        f"<a href='{escape(chat_href(hit.contact_id, at=hit.message_id))}' target='_blank' rel='noopener'>"
        f"{escape(hit.contact)}</a> <span class='ts'>{escape(hit.timestamp)}</span><br>"
        f"<span class='who'>{escape(hit.sender)}:</span> <span class='snippet'>{escape(hit.before)}"
        f"<mark>{escape(hit.match)}</mark>{escape(hit.after)}</span></li>"
    )


shown = "1 message" if len(hits) == 1 else f"{len(hits)} messages"
st.text(f"{shown} shown, newest first. Each opens its chat at that message, in a new tab.")
st.html(
    "<style>.smschat-hits{list-style:none;padding:0}.smschat-hit{padding:.4em 0;border-bottom:1px solid #eee}"
    ".smschat-hit .ts{color:#888;font-size:.85em;margin-left:.4em}.smschat-hit .who{font-weight:600}"
    ".smschat-hit mark{background:#fde68a;padding:0 .1em}</style>"
    f"<ul class='smschat-hits'>{''.join(_hit_html(h) for h in hits)}</ul>"
)
if state["more"] and st.button("Older matches"):
    older = read(search.search_messages, me.project_id, state["text"], before_id=hits[-1].message_id)
    state.update(hits=hits + older, more=len(older) == search.PAGE)
    st.rerun()
