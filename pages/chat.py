"""Chat: one contact's conversation, polled by id cursor, and a compose box.

Top to bottom: the header (title, "Reply as", Message Counter and Reset at the right), banners
above the history, the history range, the history in a scrolling pane sized to the viewport
(a fragment that refreshes by itself), and the composer pinned below it
(`st.container(key="composer")`: errors, the box `body_<contact>`, the live counter, Send and
the tools beside it). pages/_scripts.py CHAT_WINDOW_JS does what only the browser can: the
pane's height, the "New messages" marker, Enter to send and the draft."""

from dataclasses import replace
from html import escape

import streamlit as st

from pages._chat_composer import composer_counter
from pages._chat_facts import show_number_facts
from pages._chat_inbox import assignee_line, composer_tools
from pages._chat_later import send_later
from pages._chat_search import show_found_message
from pages._chat_transcript import transcript_download
from pages._scripts import BLINK_SCRIPT, CHAT_WINDOW_SCRIPT, COUNTER_SCRIPT
from pages._shared import act, end_if_logged_out, plain_heading, read, viewer
from smschat.chat import window as chat
from smschat.chat.templates import get_template
from smschat.chat.timefmt import DEFAULT_RANGE, HISTORY_RANGES
from smschat.config import get_settings
from smschat.messaging import outbox, simulator

PAGE = 50
PANE_HEIGHT = 420  # until the page's script sizes the pane to the viewport
REFRESH = get_settings().chat_refresh_seconds
FINAL = {"delivered", "failed", "undelivered", "expired", "received", "note"}
RETRYABLE = set(outbox.RETRYABLE_STATES)

me = viewer("chat")
contact_id = st.query_params.get("contact")

if not contact_id:
    st.title("Chat")
    query = st.text_input("Find a contact", placeholder="Name or phone number")
    rows = read(chat.find_contacts, me.project_id, query, limit=50)
    if not rows:
        st.info("No contact matches.")
        st.stop()
    # Option labels render as plain text (button labels would be Markdown).
    choice = st.selectbox(
        "Contact", rows, format_func=lambda r: f"{r.name} · {r.kind_label} · {r.phone}", key="chat_pick"
    )
    if st.button("Open chat", type="primary"):
        st.query_params["contact"] = str(choice.id)
        st.rerun()
    st.stop()

# The same words whether the contact is missing or another project's: nothing leaks.
opened = read(chat.open_window, me.project_id, contact_id)

contact_id, title, threshold = opened.contact_id, opened.title, opened.counter_threshold
template = get_template(opened.template)
opened_at, unread_after = opened.opened_at, opened.unread_after
st.set_page_config(page_title=title)
# Less padding than Streamlit's default, so the history and the composer share one screen.
st.html("<style>.stMainBlockContainer{padding-top:2.5rem;padding-bottom:1rem}"
        ".smschat-heading{margin:0;padding:.2rem 0}"
        ".smschat-replyas{font-size:.9em;white-space:nowrap}</style>")

# One window per contact per browser tab: its state lives in this Streamlit session, so
# closing the tab (or opening a new one) starts the window afresh.
WIN = f"window_{contact_id}"
if WIN not in st.session_state:
    st.session_state[WIN] = {"counter_from": opened_at, "opened_at": opened_at, "unread_after": unread_after,
                             "range": None, "lines": [], "has_older": False}
win = st.session_state[WIN]


@st.fragment(run_every=REFRESH)
def message_counter() -> None:
    """The seed's Message Counter, top right: messages since the window opened, and Reset."""
    counter = read(chat.window_counter, me.project_id, contact_id, win["counter_from"])
    left, right = st.columns([3, 1], vertical_alignment="center")
    red = " red" if counter >= threshold else ""
    left.html(f"<div class='smschat-msgcount{red}' title='Messages since this window opened'>"
              f"<style>.smschat-msgcount{{font-size:1.4em;font-weight:600;text-align:right}}"
              f".smschat-msgcount.red{{color:#d00}}"
              f".smschat-msgcount small{{font-size:.55em;font-weight:400;color:#888;margin-left:.4em}}</style>"
              f"<span class='n'>{counter}</span><small>since this window opened (limit {threshold})</small></div>")
    if right.button("Reset", key=f"reset_{contact_id}"):
        win["counter_from"] = read(chat.reset_counter, me.project_id, contact_id)
        st.rerun(scope="fragment")


# Header: the title, "Reply as" (loopback only), the Message Counter at the right.
title_col, reply_col, counter_col = st.columns([3, 1.3, 2.2], vertical_alignment="center")
with title_col:
    plain_heading(title)
if simulator.available():
    # A new tab, so the chat stays open beside the phone; the simulator checks the id again.
    reply_col.html(f"<a class='smschat-replyas' href='simulator?contact={contact_id}' target='_blank' "
                   f"rel='noopener'>Reply as {escape(opened.name)} ↗</a>")
if threshold:
    with counter_col:
        message_counter()

# Banners above the history go here (one call each, e.g. facts about the number).
assignee_line(me, contact_id)
show_number_facts(me.project_id, contact_id)
show_found_message(me.project_id, contact_id)  # opened from Search: the message and its surroundings

range_name = st.segmented_control(
    "Message History", list(HISTORY_RANGES), default=DEFAULT_RANGE, key=f"range_{contact_id}"
) or DEFAULT_RANGE


def _refresh() -> None:
    """First page of the range, or only what is new since the last id shown."""
    if win["range"] != range_name:
        lines = read(chat.window_history, me.project_id, contact_id, range_name=range_name, limit=PAGE)
        win.update(range=range_name, lines=lines, has_older=len(lines) == PAGE)
    else:
        lines = win["lines"]
        cursor = lines[-1].id if lines else 0
        lines.extend(read(chat.window_history, me.project_id, contact_id, range_name=range_name,
                          after_id=cursor, limit=500))
        pending = [line.id for line in lines if line.status not in FINAL]
        current = read(chat.window_statuses, me.project_id, pending)
        for i, line in enumerate(lines):
            if line.id in current and current[line.id] != (line.status, line.error):
                lines[i] = replace(line, status=current[line.id][0], error=current[line.id][1])
    if win["lines"]:
        act(chat.read_up_to, me.project_id, contact_id, win["lines"][-1].id, rerun=False)


def _load_older() -> None:
    lines = win["lines"]
    older = read(chat.window_history, me.project_id, contact_id, range_name=range_name,
                 before_id=lines[0].id if lines else None, limit=PAGE)
    win.update(lines=older + lines, has_older=len(older) == PAGE)


def _line_html(line) -> str:
    unread = line.direction == "in" and win["unread_after"] < line.id <= win["opened_at"]
    status = ""
    if line.direction == "out":
        bad = " bad" if line.status in RETRYABLE or line.status == "expired" else ""
        status = f"<span class='status st-{escape(line.status)}{bad}'>{escape(line.status)}</span>"
        if line.error:
            status += f" <span class='err'>{escape(line.error)}</span>"
    dot = "<span class='dot' title='unread'></span>" if unread else ""
    return (
        f"<div class='msg {escape(line.direction)}{' unread' if unread else ''}' data-id='{line.id}'>"
        f"{dot}<span class='who'>{escape(line.sender)}:</span> <span class='body'>{escape(line.body)}</span> "
        f"<span class='ts'>{escape(line.timestamp)}</span> {status}</div>"
    )


@st.fragment(run_every=REFRESH)
def window() -> None:
    end_if_logged_out()
    _refresh()
    # Notes that this user has the chat open (a write), and who else has.
    others = act(chat.viewing, me.project_id, contact_id, within_seconds=REFRESH * 3 + 2, rerun=False) or []
    if others:
        st.html(f"<div class='smschat-viewing'>viewing now: {escape(', '.join(others))}</div>")
    # A fixed-height pane. Its scrolling is the page script's alone (CHAT_WINDOW_JS: open at
    # the newest line, follow new lines from the bottom, never move under a user who scrolled
    # up): Streamlit's autoscroll guesses "the user scrolled" from timers, which a busy
    # machine delays, and then it jumped while the user read.
    with st.container(height=PANE_HEIGHT, autoscroll=False, key="chat_history"):
        if win["has_older"] and st.button("Load older messages", key=f"older_{contact_id}"):
            _load_older()
        lines = win["lines"]
        last_in = max((line.id for line in lines if line.direction == "in"), default=0)
        last_id = lines[-1].id if lines else 0
        body = "".join(_line_html(line) for line in lines) or "<div class='empty'>No messages in this range.</div>"
        st.html(
            f"<style>{template.css}</style>"
            f"<div class='smschat-history' data-contact='{contact_id}' data-last-in='{last_in}' "
            f"data-last-id='{last_id}'>{body}</div>"
        )
        for line in lines:
            if line.direction == "out" and line.status in RETRYABLE:
                text_col, button_col = st.columns([6, 1])
                text_col.text(f"Not delivered ({line.timestamp}): {line.error or line.status}")
                if button_col.button("Retry", key=f"retry_{line.id}") and act(
                        chat.retry, me.project_id, line.id, where=text_col, rerun=False):
                    win["lines"] = [replace(x, status="queued", error=None) if x.id == line.id else x for x in lines]
                    st.rerun(scope="fragment")


window()

BODY = f"body_{contact_id}"
if st.session_state.pop(f"sent_{contact_id}", False):
    st.session_state[BODY] = ""  # cleared only after a successful send: an error keeps the text
with st.container(key="composer"):
    errors = st.container()  # a refusal shows here, next to the box
    st.text_area("Message", key=BODY, placeholder="Type a message (Enter sends, Shift+Enter: new line)",
                 height=90, label_visibility="collapsed")
    composer_counter(me, contact_id)  # counter, cost and Unicode hint (pages/_chat_composer.py)
    send_col, tools_col, unread_col = st.columns([1, 4, 1.4], vertical_alignment="center")
    sent = send_col.button("Send", type="primary", key=f"send_{contact_id}")
    if sent and act(chat.send, me.project_id, contact_id, st.session_state[BODY], where=errors, rerun=False):
        st.session_state[f"sent_{contact_id}"] = True  # clears the box; an error keeps the text
        st.rerun()
    if unread_col.button("Mark as unread", key=f"unread_{contact_id}"):
        act(chat.mark_unread, me.project_id, contact_id, where=errors, rerun=False)
        # Leave the window, or its next refresh would read the conversation again.
        st.session_state.pop(WIN, None)
        st.switch_page("pages/contacts.py")
    with tools_col:  # tools beside the composer (one call each)
        composer_tools(me, contact_id)  # quick replies, Add as note (pages/_chat_inbox.py)
        send_later(me, contact_id, win)  # Send later, and the scheduled messages (pages/_chat_later.py)

# The tab title blinks while this window is in the background; the live character counter;
# the pane, Enter to send and the draft (pages/_scripts.py: fixed texts, allowed by hash).
for script in (BLINK_SCRIPT, COUNTER_SCRIPT, CHAT_WINDOW_SCRIPT):
    st.html(script, unsafe_allow_javascript=True)
transcript_download(me.project_id, contact_id)
