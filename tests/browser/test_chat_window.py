"""The chat window's browser-only behaviour, in real Chromium against a live dashboard + worker."""

from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import select

from smschat import db as dbmod
from smschat.models import ChatSettings

from .conftest import (
    ARTIFACTS,
    blink_has_seen_history,
    login,
    settle,
    wait_for_refreshes,
)
from .conftest import contact_ids as _ids
from .conftest import incoming as _incoming


def _set(url, **values):
    with dbmod.session_scope(url) as s:
        settings = s.scalar(select(ChatSettings))
        for k, v in values.items():
            setattr(settings, k, v)


def history(page):
    return page.locator(".smschat-history")


def test_two_web_users_on_one_contact_see_each_other(live_app, browser, amy):
    base, url = live_app
    marie = _ids(url)["marie"]
    amy_ctx, amy_page = amy
    amy_page.goto(f"{base}/chat?contact={marie}")
    sam_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    sam_page = sam_ctx.new_page()
    login(sam_page, base, "sam", f"/chat?contact={marie}")
    sam_page.get_by_text("viewing now: Amy").wait_for(timeout=15_000)
    amy_page.get_by_text("viewing now: Sam").wait_for(timeout=15_000)
    amy_page.get_by_role("textbox", name="Message").fill("Sam, can you follow up?")
    amy_page.get_by_role("button", name="Send", exact=True).click()
    seen = history(sam_page).locator(".msg", has_text="Sam, can you follow up?")
    seen.wait_for(timeout=15_000)
    assert seen.locator(".who").inner_text() == "Amy:"
    sam_page.get_by_role("textbox", name="Message").fill("On it.")
    sam_page.get_by_role("button", name="Send", exact=True).click()
    history(amy_page).locator(".msg", has_text="On it.").locator(".who", has_text="Sam:").wait_for(timeout=15_000)
    sam_ctx.close()


def test_two_tabs_on_two_contacts_work_side_by_side(live_app, amy):
    base, url = live_app
    ids = _ids(url)
    context, first = amy
    first.goto(f"{base}/chat?contact={ids['marie']}")
    second = context.new_page()  # a new tab of the same browser: already logged in
    second.goto(f"{base}/chat?contact={ids['Grace Achieng']}")
    second.get_by_text("Chat - Grace Achieng").wait_for()
    first.get_by_text("Chat - marie").wait_for()
    first.get_by_role("textbox", name="Message").fill("for marie only")
    first.get_by_role("button", name="Send", exact=True).click()
    second.get_by_role("textbox", name="Message").fill("for grace only")
    second.get_by_role("button", name="Send", exact=True).click()
    history(first).get_by_text("for marie only").wait_for()
    history(second).get_by_text("for grace only").wait_for()
    _incoming(url, "+254712345678", "grace answers")
    history(second).get_by_text("grace answers").wait_for(timeout=15_000)
    assert history(first).get_by_text("grace answers").count() == 0
    assert history(second).get_by_text("for marie only").count() == 0


def test_title_blinks_while_in_the_background_and_stops_on_focus(live_app, amy):
    base, url = live_app
    marie = _ids(url)["marie"]
    _, page = amy
    page.goto(f"{base}/chat?contact={marie}")
    page.get_by_text("Chat - marie").wait_for()
    blink_has_seen_history(page)
    # Headless Chromium reports every tab focused: the test says the window lost focus.
    page.evaluate("window.dispatchEvent(new Event('blur'))")
    _incoming(url, "+17033996500", "are you there?")
    page.wait_for_function("() => document.title === '(New Message) - Chat - marie'", timeout=15_000)
    page.wait_for_function("() => document.title === 'Chat - marie'", timeout=5_000)  # it alternates
    page.wait_for_function("() => document.title.startsWith('(New Message)')", timeout=5_000)
    assert page.evaluate("() => window.__probe.blinking") == 1  # the probe sees the blink timer
    page.evaluate("window.dispatchEvent(new Event('focus'))")
    # Focus stops the blinking at once: no blink timer left, the title back to itself.
    page.wait_for_function("() => window.__probe.blinking === 0", timeout=5_000)
    assert page.title() == "Chat - marie"
    # A message while the window has focus does not blink.
    _incoming(url, "+17033996500", "still there?")
    history(page).get_by_text("still there?").wait_for(timeout=30_000)
    blink_has_seen_history(page)
    assert page.evaluate("() => window.__probe.blinking") == 0
    assert page.title() == "Chat - marie"


def _counter_is(page, n, timeout=30_000):
    page.wait_for_function(
        "n => document.querySelector('.smschat-msgcount .n')?.textContent === n", arg=str(n), timeout=timeout)


def test_message_counter_turns_red_at_the_threshold_and_resets(live_app, amy):
    # Every step waits for the one before it to show, so each count is unambiguous, and with
    # room for a loaded machine (the history refreshes once a second).
    base, url = live_app
    marie = _ids(url)["marie"]
    _set(url, message_counter_threshold=2)
    try:
        _, page = amy
        page.goto(f"{base}/chat?contact={marie}")
        counter = page.locator(".smschat-msgcount")
        counter.wait_for()
        assert counter.locator(".n").inner_text() == "0"
        page.get_by_role("textbox", name="Message").fill("one")
        page.get_by_role("button", name="Send", exact=True).click()
        history(page).get_by_text("one", exact=True).wait_for(timeout=30_000)
        _incoming(url, "+17033996500", "two")
        _counter_is(page, 2)
        assert "red" in counter.get_attribute("class")
        # Reset is safe to repeat: a click that lands while the history is being redrawn can
        # be dropped by the page under load, so it is clicked again until the count is 0.
        for attempt in range(3):
            page.get_by_role("button", name="Reset").click()
            try:
                _counter_is(page, 0, timeout=10_000)
                break
            except PlaywrightTimeout:
                if attempt == 2:
                    raise
        assert "red" not in page.locator(".smschat-msgcount").get_attribute("class")
        # Closing the window and opening it again starts from 0.
        _incoming(url, "+17033996500", "three")
        _counter_is(page, 1)
        page.close()
        again = amy[0].new_page()
        again.goto(f"{base}/chat?contact={marie}")
        again.locator(".smschat-msgcount .n").wait_for()
        assert again.locator(".smschat-msgcount .n").inner_text() == "0"
    finally:
        _set(url, message_counter_threshold=None)


def test_half_typed_text_survives_refreshes_and_the_counter_follows_it(live_app, amy):
    base, url = live_app
    marie = _ids(url)["marie"]
    _, page = amy
    page.goto(f"{base}/chat?contact={marie}")
    box = page.get_by_role("textbox", name="Message")
    box.click()
    page.keyboard.type("Half typed, still thinking")
    _incoming(url, "+17033996500", "a message arrives while typing")
    history(page).get_by_text("a message arrives while typing").wait_for(timeout=15_000)
    wait_for_refreshes(page, 3)  # several refreshes of the history
    assert box.input_value() == "Half typed, still thinking"
    assert page.locator(".smschat-counter").inner_text() == "26 / 160"
    page.keyboard.type(" ж")
    page.wait_for_function("() => document.querySelector('.smschat-counter')?.textContent === '28 / 70'")
    box.fill("x" * 161)
    page.wait_for_function("() => document.querySelector('.smschat-counter')?.textContent === '161 / 160 · 2 SMS'")
    assert "over" in page.locator(".smschat-counter").get_attribute("class")


def test_hostile_bodies_render_literally(live_app, amy):
    base, url = live_app
    marie = _ids(url)["marie"]
    _, page = amy
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    bodies = ["<img src=x onerror=alert(1)>", "**bold**", "[link](http://x)", "<script>alert(2)</script>"]
    for body in bodies:
        _incoming(url, "+17033996500", body)
    page.goto(f"{base}/chat?contact={marie}")
    page.get_by_text("[link](http://x)").wait_for()
    shown = [b.inner_text() for b in history(page).locator(".body").all()]
    for body in bodies:
        assert body in shown
    assert history(page).locator("img, strong, a, script").count() == 0
    wait_for_refreshes(page)  # a refresh or two, and whatever they might run
    assert history(page).locator("img, strong, a, script").count() == 0
    assert dialogs == []


def test_case_title_follows_case_name_display_and_a_screenshot_is_kept(live_app, amy):
    base, url = live_app
    grace = _ids(url)["Grace Achieng"]
    _set(url, case_name_display="mother_name")
    try:
        _, page = amy
        page.goto(f"{base}/chat?contact={grace}")
        page.get_by_text("Chat - Grace A.").wait_for()
        assert page.title() == "Chat - Grace A."
    finally:
        _set(url, case_name_display="name")
    marie = _ids(url)["marie"]
    page.goto(f"{base}/chat?contact={marie}")
    page.get_by_text("Chat - marie").wait_for()
    settle(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-window.png"), full_page=True)
