"""Search and transcripts in real Chromium: a hit shows its snippet as text and opens the chat
at the message; the chat downloads its transcript."""

import re
from datetime import timedelta

from sqlalchemy import select

from smschat import db as dbmod
from smschat.models import Contact, Message, utcnow

from .conftest import ARTIFACTS, login, settle


def _add_lines(url) -> int:
    """Twelve lines in marie's chat, three days ago (outside the chat's default range); the
    seventh holds the text searched for, and markup that must stay text."""
    with dbmod.session_scope(url) as s:
        marie = s.scalar(select(Contact).where(Contact.name == "marie"))
        start = utcnow() - timedelta(days=3)
        rows = [Message(project_id=marie.project_id, contact_id=marie.id, phone_number="+17033996500",
                        direction="in", status="received", workflow="default", created_at=start + timedelta(minutes=i),
                        body=f"line {i}" if i != 6 else "The <b>cold box</b> is at the Kisumu depot")
                for i in range(12)]
        s.add_all(rows)
        s.flush()
        return rows[6].id


def test_a_search_result_opens_the_chat_at_the_message(live_app, browser):
    base, url = live_app
    found_id = _add_lines(url)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    login(page, base, "amy", "/search")
    page.get_by_role("textbox", name="Search messages").fill("KISUMU dep")
    page.keyboard.press("Enter")
    hit = page.locator(f".smschat-hit[data-message='{found_id}']")
    hit.wait_for()
    settle(page)
    # The body is text: its markup shows as typed, and only the match is marked.
    assert hit.locator("mark").inner_text() == "Kisumu dep"
    assert "The <b>cold box</b> is at the Kisumu depot" in hit.locator(".snippet").inner_text()
    assert hit.locator(".snippet b").count() == 0
    page.screenshot(path=str(ARTIFACTS / "search.png"))

    with context.expect_page() as new_tab:
        hit.get_by_role("link", name="marie").click()
    chat = new_tab.value
    chat.get_by_text("Chat - marie").wait_for()
    found = chat.locator(".smschat-found .found")
    found.wait_for()
    settle(chat)
    assert f"at={found_id}" in chat.url
    assert "The <b>cold box</b> is at the Kisumu depot" in found.inner_text()
    # The five lines before and after it, oldest first; the live chat stays below.
    lines = chat.locator(".smschat-found .msg .body").all_inner_texts()
    assert lines == [f"line {i}" for i in range(1, 6)] + ["The <b>cold box</b> is at the Kisumu depot"] + [
        f"line {i}" for i in range(7, 12)]
    assert chat.locator(".smschat-history").count() == 1
    chat.screenshot(path=str(ARTIFACTS / "search-chat.png"))
    context.close()


FRIDGE = "Fridge at <i>4 °C</i> all week"


def test_the_chat_downloads_its_transcript_as_a_print_friendly_page(live_app, browser, tmp_path):
    base, url = live_app
    with dbmod.session_scope(url) as s:
        marie = s.scalar(select(Contact).where(Contact.name == "marie"))
        s.add(Message(project_id=marie.project_id, contact_id=marie.id, phone_number="+17033996500", direction="in",
                      status="received", workflow="default", body=FRIDGE))
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    login(page, base, "amy", "/contacts")
    page.get_by_text("Open a chat in a new tab").click()
    href = page.locator(".smschat-chat-links a", has_text="marie").get_attribute("href")
    page.goto(f"{base}/{href}")
    page.get_by_text("Chat - marie").wait_for()
    settle(page)  # a click on the expander while the first run draws can land on an element it replaces
    page.get_by_text("Transcript").click()
    page.get_by_role("button", name="Prepare HTML (print-friendly)").click()
    button = page.get_by_role("button", name=re.compile(r"Download HTML \(print-friendly\) \(\d+ messages\)"))
    button.wait_for()
    settle(page)
    page.screenshot(path=str(ARTIFACTS / "transcript-chat.png"))
    with page.expect_download() as download:
        button.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name.startswith("transcript-marie-") and saved.suffix == ".html"
    # Opened as a file, the page shows the conversation; its markup from a body stays text.
    view = context.new_page()
    view.goto(saved.as_uri())
    assert view.locator("h1").inner_text() == "Chat - marie"
    assert view.get_by_text(FRIDGE).count() == 1
    assert view.locator("td i").count() == 0
    view.screenshot(path=str(ARTIFACTS / "transcript.png"), full_page=True)
    context.close()
