"""The foundation's end-to-end path, in a real Chromium against real processes."""

from sqlalchemy import select

from smschat import db as dbmod
from smschat.models import Contact

from .conftest import ARTIFACTS, login, settle


def _marie_id(url: str) -> int:
    with dbmod.session_scope(url, readonly=True) as session:
        return session.scalar(select(Contact.id).where(Contact.name == "marie"))


def test_agent_chats_with_marie_and_sees_her_answer(live_app, browser):
    base, url = live_app
    marie = _marie_id(url)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    # A deep link opened while logged out survives the login form.
    login(page, base, "amy", f"/chat?contact={marie}")
    page.get_by_text("Chat - marie").wait_for()
    assert page.title() == "Chat - marie"
    page.get_by_text("Did you complete your supervisions today?").wait_for()

    page.get_by_role("textbox", name="Message").fill("Can you visit the clinic on Friday?")
    page.get_by_role("button", name="Send", exact=True).click()
    sent = page.locator(".smschat-history .msg", has_text="Can you visit the clinic on Friday?")
    sent.wait_for()
    assert sent.locator(".who").inner_text() == "Amy:"
    # The worker sends it through the loopback gateway; the status follows in the window.
    sent.locator(".st-delivered").wait_for(timeout=20_000)

    # The contact answers from the Phone simulator, in another tab of the same browser.
    phone = context.new_page()
    phone.goto(f"{base}/simulator")
    phone.get_by_text("Phone simulator").first.wait_for()
    phone.get_by_role("combobox").first.click()
    phone.get_by_role("option", name="+17033996500 · marie").click()
    phone.get_by_text("Can you visit the clinic on Friday?").wait_for()
    # The thread shows first (a fragment); the reply box comes at the end of the same run,
    # which on a busy machine can take a while.
    settle(phone, 60_000)
    phone.get_by_role("textbox", name="Contact's reply").fill("Yes, Friday at 9 works <b>fine</b>", timeout=60_000)
    phone.get_by_role("button", name="Send reply").click()

    answer = page.locator(".smschat-history .msg", has_text="Yes, Friday at 9 works")
    answer.wait_for(timeout=20_000)
    assert answer.locator(".who").inner_text() == "marie:"
    assert answer.locator(".body").inner_text() == "Yes, Friday at 9 works <b>fine</b>"  # literal, not HTML
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)
    context.close()
