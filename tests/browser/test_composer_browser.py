"""The composer that saves money, and the contacts list by keyboard, in real Chromium: the
Unicode hint and the one-click look-alike replacement, the cost of a chat message and of a
broadcast, and Contacts to a chat without a mouse."""

from pathlib import Path

import pytest
from sqlalchemy import select

from smschat import db as dbmod
from smschat.messaging.lookalikes import unicode_hint, with_lookalikes
from smschat.messaging.segments import count_segments
from smschat.models import Contact, Message, Project

from .conftest import login, settle

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
TEXT = "“Clinic” opens at 9 — bring the card… " + "x" * 40  # 78 units of UCS-2: 2 SMS, or 1 in GSM-7


def _price(url, value):
    with dbmod.session_scope(url) as s:
        s.scalar(select(Project)).price_per_segment = value


def _marie(url):
    with dbmod.session_scope(url, readonly=True) as s:
        return s.scalar(select(Contact.id).where(Contact.name == "marie"))


def _counter_is(page, text, timeout=15_000):
    page.wait_for_function("t => document.querySelector('.smschat-counter')?.textContent === t", arg=text,
                           timeout=timeout)


@pytest.fixture
def priced(live_app):
    _price(live_app[1], "$0.0079")
    yield
    _price(live_app[1], None)


def test_unicode_hint_lookalikes_and_cost_in_the_chat(live_app, browser, priced):
    base, url = live_app
    before, after = count_segments(TEXT), count_segments(with_lookalikes(TEXT))
    assert (before.segments, after.segments) == (2, 1)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    login(page, base, "amy", f"/chat?contact={_marie(url)}")
    box = page.locator(".st-key-composer textarea, textarea[aria-label='Message']").first
    box.click()
    box.fill(TEXT)
    _counter_is(page, f"{before.units} / 70 · 2 SMS · ≈ $0.0158")
    hint = page.locator(".smschat-hint")
    hint.get_by_text(unicode_hint(TEXT)).wait_for()
    assert unicode_hint(TEXT) == "“ ” — … — force Unicode: 2 SMS instead of 1"
    hint.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "composer-unicode-hint.png"))

    hint.get_by_role("button", name="Use GSM-7 look-alikes").click()
    _counter_is(page, f"{after.units} / 160 · ≈ $0.0079")
    assert box.input_value() == with_lookalikes(TEXT)
    page.wait_for_function("() => document.querySelector('.smschat-hint')?.hidden")
    # Streamlit took the replaced text as typed: it is what gets sent.
    page.get_by_role("button", name="Send", exact=True).click()
    page.locator(".smschat-history").get_by_text(with_lookalikes(TEXT)).wait_for(timeout=30_000)
    with dbmod.session_scope(url, readonly=True) as s:
        sent = s.scalar(select(Message).where(Message.direction == "out").order_by(Message.id.desc()))
        assert (sent.body, sent.segments) == (with_lookalikes(TEXT), 1)
    context.close()


def test_a_broadcast_shows_its_cost_before_it_is_saved(live_app, browser, priced):
    base, _ = live_app
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    login(page, base, "sam", "/broadcasts")
    page.get_by_role("textbox", name="Message").fill(TEXT)
    page.get_by_role("textbox", name="Name").click()  # leaving the box sends its text to the server
    estimate = page.locator(".st-key-bc_estimate")
    estimate.get_by_text("Estimate: 2 SMS (UCS-2) × 1 recipient = 2 SMS × $0.0079 = $0.0158").wait_for()
    estimate.get_by_text(unicode_hint(TEXT)).wait_for()
    settle(page)
    estimate.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "broadcast-cost-estimate.png"))
    estimate.get_by_role("button", name="Use GSM-7 look-alikes").click()
    estimate.get_by_text("Estimate: 1 SMS (GSM-7) × 1 recipient = 1 SMS × $0.0079 = $0.0079").wait_for()
    assert page.get_by_role("textbox", name="Message").input_value() == with_lookalikes(TEXT)
    context.close()


def _tab_to(page, condition: str, what: str, limit: int = 120) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => {{ const el = document.activeElement; return !!el && ({condition}); }}"):
            return
    pytest.fail(f"{what} is not reachable with the Tab key")


def test_contacts_to_a_chat_with_the_keyboard_alone(live_app, browser):
    base, _ = live_app
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    login(page, base, "amy")
    page.get_by_text("Showing 1 to").wait_for()
    settle(page)
    # What a screen reader hears before the table (the canvas cells would read as addresses).
    description = page.locator(".smschat-sr-only")
    assert "chat link is in the section of chat links below the table" in description.text_content()
    page.locator("body").focus()
    _tab_to(page, "el.tagName === 'SUMMARY' && el.textContent.includes('Open a chat in a new tab')",
            "the chat links' section")
    page.keyboard.press("Enter")
    page.locator(".smschat-chat-links a").first.wait_for()
    _tab_to(page, "el.textContent === 'Chat with marie'", "Chat with marie")
    with context.expect_page() as opened:
        page.keyboard.press("Enter")
    chat = opened.value
    chat.get_by_text("Chat - marie").wait_for(timeout=20_000)
    context.close()
