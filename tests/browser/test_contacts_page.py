"""The contacts list in real Chromium: search, page size, and Chat opening a new tab."""

from sqlalchemy import select

from smschat import db as dbmod
from smschat.models import Project
from smschat.people import contacts

from ..waiting import wait_until
from .conftest import login


def _add_cases(url, n):
    with dbmod.session_scope(url) as s:
        project = s.scalar(select(Project))
        for i in range(n):
            c = contacts.create_contact(s, project, "case", f"Zed case {i:02d}")
            contacts.register_phone(s, project, c, f"+2547199900{i:02d}")


def _links(page):
    page.get_by_text("Open a chat in a new tab").click()
    return page.locator(".smschat-chat-links a")


def test_search_page_size_and_chat_in_a_new_tab(live_app, browser):
    base, url = live_app
    _add_cases(url, 12)  # 4 demo contacts + 12 = 16
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    login(page, base, "amy")
    page.get_by_text("Showing 1 to 16 of 16 contacts").wait_for()

    page.get_by_role("textbox", name="Search").fill("703 399")
    page.keyboard.press("Enter")
    page.get_by_text("Showing 1 to 1 of 1 contacts").wait_for()
    links = _links(page)
    # Until the search's run is over, the previous list's links can still be on the page.
    wait_until(lambda: links.all_inner_texts() == ["Chat with marie"], 30, "one link: Chat with marie")

    with context.expect_page() as new_tab:
        links.first.click()
    chat = new_tab.value
    chat.get_by_text("Chat - marie").wait_for()
    assert "/chat?contact=" in chat.url

    page.get_by_role("textbox", name="Search").fill("")
    page.keyboard.press("Enter")
    page.get_by_text("Showing 1 to 16 of 16 contacts").wait_for()
    page.get_by_role("combobox", name="Show N contacts per page").click()
    page.get_by_role("option", name="10", exact=True).click()
    page.get_by_text("Showing 1 to 10 of 16 contacts").wait_for()
    page.get_by_role("button", name="Next >").click()
    page.get_by_text("Showing 11 to 16 of 16 contacts").wait_for()
    context.close()
