"""The chat window as staff use it all day, in real Chromium against a live dashboard + worker:
the history pane and the composer on one screen, autoscroll and the "New messages" marker,
Enter to send, the draft kept across a refusal, a reload and a server restart, "Reply as",
the Bubbles template. Load times are printed (pytest -s), never asserted."""

from __future__ import annotations

import os
import re

import pytest
from sqlalchemy import select

from smschat import db as dbmod
from smschat.chat import window as chat
from smschat.messaging import inbound
from smschat.models import ChatSettings, Contact, Project, WebUser

from ..waiting import wait_until
from .conftest import ARTIFACTS, login, settle, start_dashboard, contact_ids as _ids, incoming as _incoming

SIZES = [(1366, 768), (1280, 720)]
HISTORY_LINES = 60
TIMESTAMP = re.compile(r"^\d\d:\d\d[ap]m \d\d/\d\d/\d\d$")




def _set(url, **values):
    with dbmod.session_scope(url) as s:
        settings = s.scalar(select(ChatSettings))
        for k, v in values.items():
            setattr(settings, k, v)


@pytest.fixture(scope="module")
def long_history(live_app):
    """marie has a long conversation: more lines than any screen shows."""
    base, url = live_app
    with dbmod.session_scope(url) as s:
        project = s.scalar(select(Project))
        for i in range(HISTORY_LINES):
            inbound.receive_sms(s, project, "+17033996500", f"report line {i}: visits done, stock counted")
    return base, url, _ids(url)["marie"]


def _open(browser, base, path, size=(1366, 768)):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    login(page, base, "amy", path)
    return context, page


def _pane(page):
    return page.locator(".st-key-chat_history")


def _box(page):
    return page.get_by_role("textbox", name="Message")


def _at_bottom(page, timeout=15_000):
    page.wait_for_function(
        "() => { const p = document.querySelector('.st-key-chat_history');"
        " return !!p && p.scrollHeight - p.scrollTop - p.clientHeight < 4; }", timeout=timeout)


def _composer_fits(page, timeout=15_000):
    """The page's script has sized the pane: the whole composer is inside the viewport."""
    page.wait_for_function(
        "() => { const c = document.querySelector('.st-key-composer');"
        " return !!c && c.getBoundingClientRect().bottom <= window.innerHeight; }", timeout=timeout)


def _load_ms(page, url) -> float:
    """From navigation start until the newest line and the composer are on screen."""
    page.goto(url)
    page.wait_for_function(
        "() => document.querySelector('.smschat-history .msg:last-child')"
        " && document.querySelector('.st-key-composer textarea')", timeout=30_000, polling="raf")
    return page.evaluate("() => performance.now()")


def _contacts_load_ms(page, base) -> float:
    """The baseline, in the same conditions: the Contacts page until its table is there."""
    page.goto(f"{base}/contacts")
    page.wait_for_function("() => document.querySelector('[data-testid=\"stDataFrame\"]')",
                           timeout=30_000, polling="raf")
    return page.evaluate("() => performance.now()")


def _inside_viewport(page, locator) -> bool:
    box = locator.bounding_box()
    size = page.viewport_size
    return (box is not None and box["y"] >= 0 and box["x"] >= 0
            and box["y"] + box["height"] <= size["height"] and box["x"] + box["width"] <= size["width"])


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_composer_counter_and_send_are_in_view_with_a_long_history(browser, long_history, size):
    base, url, marie = long_history
    _set(url, message_counter_threshold=5)
    try:
        context, page = _open(browser, base, f"/chat?contact={marie}", size)
        loads = [_load_ms(page, f"{base}/chat?contact={marie}") for _ in range(3)]
        baseline = _contacts_load_ms(page, base)
        print(f"\nchat page load at {size[0]}x{size[1]} (Default template, {HISTORY_LINES}+ lines): "
              + ", ".join(f"{ms:.0f} ms" for ms in loads)
              + f"; Contacts page {baseline:.0f} ms (chat/contacts x{min(loads) / baseline:.2f})")
        page.goto(f"{base}/chat?contact={marie}")
        _composer_fits(page)
        settle(page)
        # Everything drawn (banners, the counter's line) can still move the composer once: wait
        # for the page script to size the pane again.
        parts = (_box(page), page.locator(".smschat-counter"), page.get_by_role("button", name="Send", exact=True))
        wait_until(lambda: all(_inside_viewport(page, locator) for locator in parts), 15,
                   "the box, the counter and Send inside the viewport")
        # The window opens at the newest message, at the bottom of the pane.
        _at_bottom(page)
        newest = page.locator(".smschat-history .msg").last
        assert f"report line {HISTORY_LINES - 1}:" in newest.inner_text()
        assert _inside_viewport(page, newest)
        # Message Counter and Reset at the top right, above the history.
        counter, pane = page.locator(".smschat-msgcount"), _pane(page).bounding_box()
        reset = page.get_by_role("button", name="Reset").bounding_box()
        assert counter.bounding_box()["y"] < pane["y"] and reset["y"] < pane["y"]
        assert reset["x"] > size[0] / 2
        context.close()
    finally:
        _set(url, message_counter_threshold=None)


def test_new_messages_scroll_into_view_unless_the_user_scrolled_up(browser, long_history):
    base, url, marie = long_history
    context, page = _open(browser, base, f"/chat?contact={marie}")
    _pane(page).wait_for()
    _at_bottom(page)
    marker = page.locator(".smschat-newmsg")
    _incoming(url, "+17033996500", "arrives at the bottom")
    page.locator(".smschat-history .msg", has_text="arrives at the bottom").wait_for(timeout=15_000)
    _at_bottom(page)  # followed it
    # The user scrolls up to read: a new message does not move what they read.
    _pane(page).hover()

    def scrolled_to_top():
        page.mouse.wheel(0, -5_000)  # a wheel turn can land while the pane is redrawn: again
        return page.evaluate("() => document.querySelector('.st-key-chat_history')?.scrollTop") == 0

    wait_until(scrolled_to_top, 30, "the pane to scroll to the top", interval=0.3)
    _incoming(url, "+17033996500", "arrives while reading")
    page.locator(".smschat-history .msg", has_text="arrives while reading").wait_for(timeout=15_000)
    marker.wait_for(state="visible", timeout=5_000)
    assert marker.inner_text() == "New messages ↓"
    settle(page)
    assert page.evaluate("() => document.querySelector('.st-key-chat_history')?.scrollTop") == 0
    marker.click()
    _at_bottom(page)
    marker.wait_for(state="hidden", timeout=5_000)
    assert _inside_viewport(page, page.locator(".smschat-history .msg", has_text="arrives while reading"))
    context.close()


def test_enter_sends_shift_enter_adds_a_line_and_focus_stays_in_the_box(browser, long_history):
    base, url, marie = long_history
    context, page = _open(browser, base, f"/chat?contact={marie}")
    box = _box(page)
    box.click()
    page.keyboard.type("Two lines:")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("visits and stock")
    assert box.input_value() == "Two lines:\nvisits and stock"
    page.keyboard.press("Enter")
    sent = page.locator(".smschat-history .msg", has_text="visits and stock")
    sent.wait_for(timeout=15_000)
    assert sent.locator(".body").inner_text() == "Two lines:\nvisits and stock"
    page.wait_for_function("() => document.querySelector('.st-key-composer textarea')?.value === ''")
    # Typing on at once goes into the box: it has the focus after sending.
    page.wait_for_function(
        "() => document.activeElement === document.querySelector('.st-key-composer textarea')")
    page.keyboard.type("and a second message")
    page.keyboard.press("Enter")
    page.locator(".smschat-history .msg", has_text="and a second message").wait_for(timeout=15_000)
    assert page.locator(".smschat-history .msg", has_text="Two lines:").count() == 1  # sent once
    context.close()


def _draft(page, contact_id):
    return page.evaluate(
        "id => Object.entries(localStorage).filter(([k]) => k.startsWith('smschat-draft:') && k.endsWith(':' + id))"
        ".map(([, v]) => v)[0] ?? null", str(contact_id))


def test_a_composer_redrawn_after_a_send_keeps_its_empty_box_and_drops_the_draft(browser, live_app):
    """While a run redraws the page the composer can be gone for a moment. When it is back with
    the box the send emptied, the message just sent must not come back into it from its draft
    (on a loaded machine it did, and the next Enter would have sent it twice)."""
    base, url = live_app
    context, page = _open(browser, base, f"/chat?contact={_ids(url)['Peter Banda']}")
    text = "Sent once, never twice"
    _box(page).fill(text)
    page.wait_for_function("t => Object.keys(localStorage).some(k => k.startsWith('smschat-draft:')"
                           " && localStorage[k] === t)", arg=text)
    settle(page)
    # The redraw in the order a loaded machine shows it: the composer's parts gone for longer
    # than the page script's 150 ms tick (a 400 ms timer fires after the ticks due before it),
    # then back with an empty box, as the server sends it after a successful send.
    value = page.evaluate("""async () => {
        const info = document.querySelector('.st-key-composer .smschat-counter[data-window]');
        const box = document.querySelector('.st-key-composer textarea');
        const parent = info.parentNode, next = info.nextSibling;
        parent.removeChild(info);
        await new Promise(r => setTimeout(r, 400));
        Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value').set.call(box, '');
        parent.insertBefore(info, next);
        await new Promise(r => setTimeout(r, 400));
        return box.value;
    }""")
    assert value == ""
    page.wait_for_function("() => !Object.keys(localStorage).some(k => k.startsWith('smschat-draft:'))")
    context.close()


def test_the_draft_survives_a_refusal_a_reload_and_a_server_restart(browser, live_app, tmp_path):
    # Its own dashboard process on the same database, so that the test can restart it.
    _, url = live_app
    env = {**os.environ, "SMSCHAT_DATABASE_URL": url, "SMSCHAT_CHAT_REFRESH_SECONDS": "1"}
    proc, base = start_dashboard(env, tmp_path / "dashboard-1.log")
    try:
        grace = _ids(url)["Grace Achieng"]
        context, page = _open(browser, base, f"/chat?contact={grace}")
        box = _box(page)
        box.click()
        too_long = "y" * 1601
        box.fill(too_long)
        page.keyboard.press("Enter")
        # The refusal shows next to the box, and the text stays.
        refusal = page.locator(".st-key-composer").get_by_text("The message has 1,601 characters; the limit is 1,600.")
        refusal.wait_for(timeout=15_000)
        assert _inside_viewport(page, refusal)
        assert box.input_value() == too_long
        page.reload()
        page.wait_for_function("t => document.querySelector('.st-key-composer textarea')?.value === t",
                               arg=too_long, timeout=30_000)
        box.fill("Grace, your clinic visit is on Monday")
        page.wait_for_function("id => Object.keys(localStorage).some(k => k.endsWith(':' + id)"
                               " && localStorage[k] === 'Grace, your clinic visit is on Monday')", arg=str(grace))
        port = int(base.rsplit(":", 1)[1])
        proc.terminate()
        proc.wait(timeout=15)
        proc, base = start_dashboard(env, tmp_path / "dashboard-2.log", port=port)
        page.reload()
        page.get_by_text("Chat - Grace Achieng").wait_for(timeout=30_000)
        page.wait_for_function(
            "() => document.querySelector('.st-key-composer textarea')?.value === 'Grace, your clinic visit is on Monday'",
            timeout=30_000)
        # The restored text is the box's own: Enter sends it, and the draft is gone.
        box.click()
        page.keyboard.press("Enter")
        page.locator(".smschat-history .msg", has_text="your clinic visit is on Monday").wait_for(timeout=15_000)
        page.wait_for_function("() => document.querySelector('.st-key-composer textarea')?.value === ''")
        page.wait_for_function("id => !Object.keys(localStorage).some(k => k.endsWith(':' + id))", arg=str(grace))
        page.reload()
        page.get_by_text("Chat - Grace Achieng").wait_for(timeout=30_000)
        settle(page)
        assert _box(page).input_value() == ""
        context.close()
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_reply_as_opens_the_phone_simulator_on_this_contacts_number(browser, live_app):
    base, url = live_app
    grace = _ids(url)["Grace Achieng"]  # not the simulator's first number
    context, page = _open(browser, base, f"/chat?contact={grace}")
    link = page.get_by_role("link", name="Reply as Grace Achieng")
    with context.expect_page() as opened:
        link.click()
    phone = opened.value
    phone.get_by_role("heading", name="Phone simulator").wait_for(timeout=30_000)
    # The picker (a searchable box) shows Grace's number, not the first one.
    phone.wait_for_function(
        "() => document.querySelector('input[aria-label=\"Phone\"]')?.value === '+254712345678 · Grace Achieng'",
        timeout=60_000)  # a new tab's first run: slow on a loaded machine
    phone.get_by_role("textbox", name="Contact's reply").fill("Monday is fine")
    phone.get_by_role("button", name="Send reply").click()
    # The answer comes in from Grace's number, into the chat still open in the first tab.
    page.locator(".smschat-history .msg.in", has_text="Monday is fine").wait_for(timeout=30_000)
    context.close()


CONVERSATION = [
    ("in", "Good morning. The clinic ran out of ORS sachets yesterday."),
    ("out", "Thanks Grace. How many families are waiting for them?"),
    ("in", "Six families, two with small babies."),
    ("out", "A delivery leaves the district store at 2 pm. Can someone collect it at the health post?"),
    ("in", "Yes, my sister can go. Which name should she give?"),
    ("out", "Ask for Joseph at the store; he has the list."),
    ("in", "Thank you! I will send a message when she has them."),
]


def _conversation(url, name):
    with dbmod.session_scope(url) as s:
        project = s.scalar(select(Project))
        contact = s.scalar(select(Contact).where(Contact.name == name))
        amy = s.scalar(select(WebUser).where(WebUser.username == "amy"))
        phone = "+254712345678"
        for direction, body in CONVERSATION:
            if direction == "in":
                inbound.receive_sms(s, project, phone, body)
            else:
                chat.send_chat_message(s, project.id, contact.id, amy.id, body)
        return contact.id


def _screenshot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    settle(page)
    page.screenshot(path=str(ARTIFACTS / name))


def test_bubbles_template_puts_incoming_left_outgoing_right_with_time_and_status_under(browser, live_app):
    base, url = live_app
    grace = _conversation(url, "Grace Achieng")
    context, page = _open(browser, base, f"/chat?contact={grace}")
    last = page.locator(".smschat-history .msg", has_text=CONVERSATION[-1][1])
    last.wait_for(timeout=15_000)
    # Everything sent has been delivered (the loopback gateway), so the picture stays still.
    page.wait_for_function("() => !document.querySelector('.smschat-history .status:not(.st-delivered)')",
                           timeout=30_000)
    _composer_fits(page)
    _at_bottom(page)
    _screenshot(page, "chat-window-default.png")
    _set(url, chat_template="Bubbles")
    try:
        print(f"\nchat page load (Bubbles template): {_load_ms(page, f'{base}/chat?contact={grace}'):.0f} ms")
        _composer_fits(page)
        _at_bottom(page)
        settle(page)
        measured = page.evaluate("""() => {
          const box = e => { const r = e.getBoundingClientRect(); return {x: r.x, y: r.y, w: r.width, h: r.height}; };
          const pane = box(document.querySelector('.st-key-chat_history'));
          const lines = Array.from(document.querySelectorAll('.smschat-history .msg'));
          const pick = dir => lines.filter(m => m.classList.contains(dir)).pop();
          return {pane, bubbles: ['in', 'out'].map(dir => { const m = pick(dir); return {
            dir, msg: box(m), body: box(m.querySelector('.body')), ts: box(m.querySelector('.ts')),
            time: m.querySelector('.ts').textContent, status: m.querySelector('.status') && box(m.querySelector('.status'))}; })};
        }""")
        middle = measured["pane"]["x"] + measured["pane"]["w"] / 2
        incoming, outgoing = measured["bubbles"]
        assert incoming["msg"]["x"] + incoming["msg"]["w"] < middle < outgoing["msg"]["x"]
        for bubble in (incoming, outgoing):
            assert bubble["ts"]["y"] >= bubble["body"]["y"] + bubble["body"]["h"] - 1  # time under the text
            assert TIMESTAMP.match(bubble["time"])
        assert outgoing["status"]["y"] >= outgoing["ts"]["y"] + outgoing["ts"]["h"] - 1  # status under the time
        _screenshot(page, "chat-window-bubbles.png")
        context.close()
    finally:
        _set(url, chat_template="Default")


def test_the_default_template_keeps_the_seed_layout(browser, long_history):
    base, url, marie = long_history
    context, page = _open(browser, base, f"/chat?contact={marie}")
    line = page.locator(".smschat-history .msg.in").last
    line.wait_for()
    settle(page)
    # "marie: <text> 05:23pm 08/07/17": sender, text and time on one line, at the left
    # (measured in one go: the pane may still be scrolling).
    who, body, ts = page.evaluate(
        "() => { const m = Array.from(document.querySelectorAll('.smschat-history .msg.in')).pop();"
        " return ['.who', '.body', '.ts'].map(s => { const r = m.querySelector(s).getBoundingClientRect();"
        " return {x: r.x, y: r.y}; }); }")
    assert who["y"] == pytest.approx(body["y"], abs=6) and ts["x"] > body["x"] > who["x"]
    assert line.locator(".who").inner_text() == "marie:"
    assert TIMESTAMP.match(line.locator(".ts").inner_text())
    context.close()
