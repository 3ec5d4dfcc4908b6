"""The Settings page in real Chromium: a supervisor saves settings, an open chat shows the effect."""

from sqlalchemy import select

from smschat import db as dbmod
from smschat.models import SettingsChange

from .conftest import ARTIFACTS, login, settle, contact_ids as _ids, incoming as _incoming




def test_a_supervisor_saves_counter_and_case_name_and_the_chat_follows(live_app, browser):
    base, url = live_app
    ids = _ids(url)
    context = browser.new_context(viewport={"width": 1280, "height": 1400})
    page = context.new_page()
    login(page, base, "sam", "/settings")
    page.get_by_role("heading", name="Chat Settings").first.wait_for()
    settle(page)  # a run under way can still show the previous run's heading beside the new one

    # An invalid threshold: the error shows beside the field and nothing is saved.
    page.get_by_role("combobox", name="Message Counter").click()
    page.get_by_role("option", name="Use counter", exact=True).click()
    threshold = page.get_by_role("spinbutton", name="Counter threshold")
    threshold.fill("0")
    page.get_by_role("textbox", name="Case Name Display").fill("mother_name")
    page.get_by_role("button", name="Save settings").click()
    page.get_by_text("The threshold must be greater than 0.").wait_for()
    page.get_by_text("Nothing was saved: check Message Counter.").wait_for()
    with dbmod.session_scope(url, readonly=True) as s:
        assert s.scalar(select(SettingsChange.id)) is None

    threshold.fill("2")
    page.get_by_role("button", name="Save settings").click()
    page.get_by_text("Saved: Case Name Display, Message Counter.").wait_for()
    changes = page.locator("[data-testid='stDataFrame']").last
    changes.wait_for()
    settle(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "settings-page.png"), full_page=True)
    page.get_by_role("heading", name="Changes").scroll_into_view_if_needed()
    settle(page)
    page.screenshot(path=str(ARTIFACTS / "settings-changes.png"))

    # A case's chat title now uses the chosen case property.
    chat = context.new_page()
    chat.goto(f"{base}/chat?contact={ids['Grace Achieng']}")
    chat.get_by_text("Chat - Grace A.").wait_for()
    assert chat.title() == "Chat - Grace A."

    # The message counter appears and turns red at the threshold of 2.
    chat.goto(f"{base}/chat?contact={ids['marie']}")
    counter = chat.locator(".smschat-msgcount")
    counter.wait_for()
    assert counter.locator(".n").inner_text() == "0"
    chat.get_by_role("textbox", name="Message").fill("Please confirm the visit")
    chat.get_by_role("button", name="Send", exact=True).click()
    chat.wait_for_function("() => document.querySelector('.smschat-msgcount .n')?.textContent === '1'", timeout=15_000)
    assert "red" not in counter.get_attribute("class")
    _incoming(url, "+17033996500", "Confirmed")
    chat.wait_for_function("() => document.querySelector('.smschat-msgcount .n')?.textContent === '2'", timeout=15_000)
    assert "red" in chat.locator(".smschat-msgcount").get_attribute("class")
    context.close()
