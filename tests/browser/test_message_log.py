"""The Message log in real Chromium: an analyst filters, sees the chart, downloads the CSV
and reads it back; a body that looks like HTML is shown as the literal text it is."""

import csv

from sqlalchemy import select

from smschat import db as dbmod
from smschat.messaging import inbound
from smschat.models import Project

from .conftest import ARTIFACTS, login

XSS = "<img src=x onerror=alert(1)>"


def test_analyst_filters_sees_the_chart_and_downloads_the_csv(live_app, browser, tmp_path):
    base, url = live_app
    with dbmod.session_scope(url) as s:
        inbound.receive_sms(s, s.scalar(select(Project)), "+17033996500", XSS)
    context = browser.new_context(viewport={"width": 1400, "height": 1200}, accept_downloads=True)
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    login(page, base, "ana")
    # The sidebar's link (the Contacts figures link to the log too).
    page.locator('[data-testid="stSidebarNav"] a', has_text="Message log").click()
    page.get_by_role("heading", name="Message log").wait_for()
    page.get_by_text("messages match the filter").wait_for()
    # The Vega chart is drawn (canvas or svg inside Streamlit's chart element).
    page.locator("[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg").first.wait_for()

    page.get_by_role("textbox", name="Search messages").fill("ONERROR")
    page.keyboard.press("Enter")
    page.get_by_text("1 message matches the filter").wait_for()
    # The table's cells (its accessible copy) hold the literal text; nothing was turned into markup.
    cell = page.locator("[data-testid='stDataFrame'] td[aria-colindex='6']", has_text="onerror").first
    cell.wait_for(state="attached")
    assert cell.text_content() == XSS
    assert page.locator("img[src='x']").count() == 0

    page.get_by_role("button", name="Prepare CSV").click()
    button = page.get_by_role("button", name="Download CSV (1 row)")
    button.wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "message_log.png"), full_page=True)
    with page.expect_download() as download:
        button.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name.startswith("message-log-") and saved.suffix == ".csv"
    with saved.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["Contact Name"], r["Direction"], r["Message"], r["Type"]) for r in rows] == [
        ("marie", "Incoming", XSS, "Default")
    ]
    assert dialogs == []
    context.close()
