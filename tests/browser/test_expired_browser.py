"""Messages that are too late, in real Chromium against a live dashboard and worker: the chat
line says why it was not sent, Stuck messages sends one anyway (the live worker sends it) and
cancels another, and the deadlines are on the Settings page."""

from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from smschat import db as dbmod
from smschat.messaging import deadlines
from smschat.models import Contact, Direction, Message, Project, Workflow

from ..waiting import wait_until
from .conftest import ARTIFACTS, login, settle

DOCS = ARTIFACTS.parent.parent.parent / "docs" / "screenshots"


def _expired(url, body, hours_late) -> tuple[int, int]:
    with dbmod.session_scope(url) as s:
        project = s.scalar(select(Project))
        marie = s.scalar(select(Contact).where(Contact.name == "marie"))
        now = datetime.now(UTC)
        message = Message(project_id=project.id, contact_id=marie.id, phone_number=marie.phone_numbers[0].e164,
                          direction=Direction.OUT.value, body=body, status="queued", workflow=Workflow.REMINDER.value,
                          created_at=now - timedelta(hours=hours_late), due_at=now - timedelta(hours=hours_late))
        deadlines.expire(message, now)
        s.add(message)
        s.flush()
        return message.id, marie.id


def test_expired_messages_in_the_chat_stuck_messages_and_settings(live_app, browser):
    base, url = live_app
    first, marie = _expired(url, "Your clinic visit is at 10 am today", 26)
    second, _ = _expired(url, "Meeting at the community center tonight", 30)
    DOCS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    login(page, base, "sam", f"/chat?contact={marie}")
    line = page.locator(".smschat-history .msg", has_text="Your clinic visit is at 10 am today")
    line.wait_for(timeout=30_000)
    assert line.locator(".status").inner_text() == "expired"
    assert line.locator(".err").inner_text() == "not sent: 26 hours late"
    settle(page)
    page.screenshot(path=str(DOCS / "chat-expired.png"), full_page=True)

    page.goto(base + "/stuck")
    page.get_by_text("Too late: not sent").wait_for(timeout=30_000)
    page.locator("[data-testid='stDataFrame'] canvas").first.wait_for(timeout=20_000)
    settle(page)
    page.screenshot(path=str(DOCS / "stuck-expired.png"), full_page=True)
    page.locator(f".st-key-expired_{first}").get_by_role("button", name="Send anyway").click()
    page.get_by_text("Queued again 1 message.").wait_for(timeout=30_000)
    page.locator(f".st-key-expired_{second}").get_by_role("button", name="Cancel").click()
    page.get_by_text("Cancelled 1 message.").wait_for(timeout=30_000)
    settle(page)
    assert page.locator(f".st-key-expired_{first}").count() == 0
    assert page.locator(f".st-key-expired_{second}").count() == 0

    def status(mid):
        with dbmod.session_scope(url, readonly=True) as s:
            return s.get(Message, mid).status

    # The live worker sends the one sent anyway; the cancelled one stays expired.
    wait_until(lambda: status(first) == "delivered", 60, "the message sent anyway to be delivered")
    assert status(second) == "expired"

    page.goto(base + "/settings")
    page.get_by_text("Messages that are too late").wait_for(timeout=30_000)
    # The section's heading arrives before its fields: wait for the field's value, as a user would.
    expect(page.get_by_role("textbox", name="Reminder deadline (hours)")).to_have_value("6", timeout=30_000)
    page.get_by_text("Messages that are too late").scroll_into_view_if_needed()
    settle(page)
    page.screenshot(path=str(DOCS / "settings-deadlines.png"), full_page=True)
    context.close()
