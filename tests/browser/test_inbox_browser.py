"""Waiting replies, quick replies and notes in real Chromium against a live dashboard + worker."""

from sqlalchemy import select

from smschat import db as dbmod
from smschat.accounts.actor import Actor
from smschat.chat import quickreplies
from smschat.models import Message, Project, WebUser

from .conftest import ARTIFACTS, login, settle, contact_ids as _ids, incoming as _incoming




def test_the_inbox_updates_when_a_reply_arrives(live_app, amy):
    base, url = live_app
    grace = _ids(url)["Grace Achieng"]
    _, page = amy
    page.goto(f"{base}/inbox")
    page.get_by_role("heading", name="Waiting replies").wait_for()
    settle(page)
    row = page.locator(f".smschat-waiting[data-contact='{grace}']")
    assert row.count() == 0 or "grace asks" not in row.inner_text()
    _incoming(url, "+254712345678", "grace asks: <is the clinic open?>")
    # No click, no reload: the list's timed refresh shows it.
    row.get_by_text("grace asks: <is the clinic open?>").wait_for(timeout=30_000)
    assert "waiting" in row.inner_text() and "unassigned" in row.inner_text()
    page.locator(f".st-key-waiting_{grace}").get_by_role("button", name="Assign to me").click()
    row.get_by_text("assigned to Amy").wait_for(timeout=30_000)
    _incoming(url, "+254712345678", "and do you have malaria tests?")
    row.get_by_text("and do you have malaria tests?").wait_for(timeout=30_000)
    settle(page)
    page.screenshot(path=str(ARTIFACTS / "inbox.png"), full_page=True)
    # Answered from the chat: it leaves the list by itself.
    page.goto(f"{base}/chat?contact={grace}")
    page.locator(".smschat-assignee", has_text="Assigned to Amy").wait_for(timeout=30_000)
    page.get_by_role("textbox", name="Message").fill("Yes, until 5pm.")
    page.get_by_role("button", name="Send", exact=True).click()
    page.locator(".smschat-history .msg", has_text="Yes, until 5pm.").wait_for(timeout=30_000)
    page.goto(f"{base}/inbox")
    page.get_by_role("heading", name="Waiting replies").wait_for()
    settle(page)
    assert page.locator(f".smschat-waiting[data-contact='{grace}']").count() == 0


def test_a_quick_reply_is_inserted_and_sent_and_a_note_stays_home(live_app, amy):
    base, url = live_app
    marie = _ids(url)["marie"]
    with dbmod.session_scope(url) as s:
        sam = s.scalar(select(WebUser).where(WebUser.username == "sam"))
        project = s.scalar(select(Project))
        quickreplies.save_quick_reply(s, Actor.web(sam.id), project.id, "Visit reminder",
                                      "Hello {first_name}, {project} reminds you of your visit tomorrow.")
        project_name = project.name
    expected = f"Hello Marie, {project_name} reminds you of your visit tomorrow."
    _, page = amy
    page.goto(f"{base}/chat?contact={marie}")
    page.get_by_text("Chat - marie").wait_for()
    settle(page)
    page.get_by_role("combobox", name="Quick reply").click()
    page.get_by_role("option", name="Visit reminder").click()
    box = page.get_by_role("textbox", name="Message")
    page.wait_for_function("t => document.querySelector('textarea[aria-label=\"Message\"]')?.value === t",
                           arg=expected, timeout=30_000)
    # The live counter counts the inserted text.
    page.wait_for_function("n => document.querySelector('.smschat-counter')?.textContent === n",
                           arg=f"{len(expected)} / 160", timeout=10_000)
    page.get_by_role("button", name="Send", exact=True).click()
    sent = page.locator(".smschat-history .msg.out", has_text=expected)
    sent.locator(".status", has_text="delivered").wait_for(timeout=30_000)
    # A note: drawn as a note, never sent.
    box.fill("Marie prefers calls after 5pm")
    page.get_by_role("button", name="Add as note").click()
    note = page.locator(".smschat-history .msg.note", has_text="Marie prefers calls after 5pm")
    note.wait_for(timeout=30_000)
    assert note.locator(".who").inner_text() == "Note by Amy:"
    assert note.locator(".status").count() == 0
    settle(page)
    page.screenshot(path=str(ARTIFACTS / "chat-quick-reply-note.png"), full_page=True)
    with dbmod.session_scope(url, readonly=True) as s:
        stored = s.scalar(select(Message).where(Message.body == "Marie prefers calls after 5pm"))
        assert (stored.direction, stored.status, stored.gateway, stored.attempts) == ("note", "note", None, 0)
        assert s.scalar(select(Message.status).where(Message.body == expected)) == "delivered"


def test_a_supervisor_adds_a_quick_reply_and_an_unknown_placeholder_is_refused(live_app, browser):
    base, _ = live_app
    context = browser.new_context(viewport={"width": 1280, "height": 1100})
    page = context.new_page()
    login(page, base, "sam", "/settings")
    page.get_by_role("heading", name="Quick replies").wait_for()
    page.get_by_placeholder("e.g. Clinic hours").fill("Clinic hours")
    page.get_by_placeholder("Hello {first_name}, the clinic opens at 8.").fill("Hi {frist_name}, we open at 8.")
    page.get_by_role("button", name="Add quick reply").click()
    page.get_by_text("Unknown placeholder {frist_name}").wait_for(timeout=30_000)
    page.get_by_placeholder("Hello {first_name}, the clinic opens at 8.").fill("Hi {first_name}, {project} opens at 8.")
    page.get_by_role("button", name="Add quick reply").click()
    page.get_by_text("Quick reply added.").wait_for(timeout=30_000)
    page.get_by_text("Clinic hours", exact=True).first.wait_for()
    settle(page)
    page.get_by_role("heading", name="Quick replies").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "settings-quick-replies.png"))
    context.close()
