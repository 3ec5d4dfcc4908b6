"""The dashboard's session, headers, errors and offline use, as real Chromium sees them."""

from __future__ import annotations

import os
import re

import pytest
from sqlalchemy import select

from smschat import db as dbmod
from smschat.accounts import auth
from smschat.models import Contact

from ..conftest import free_port
from ..waiting import wait_until
from .conftest import ARTIFACTS, PASSWORDS, login, start_dashboard

# Every page an admin has, by address.
ADMIN_PAGES = ["/", "/chat", "/search", "/simulator", "/unknown_senders", "/manage_contacts", "/users", "/projects",
               "/message_log", "/reminders", "/broadcasts", "/keywords", "/surveys", "/settings"]


def _marie(url: str) -> int:
    with dbmod.session_scope(url, readonly=True) as s:
        return s.scalar(select(Contact.id).where(Contact.name == "marie"))


def _session_cookie(context) -> dict | None:
    return next((c for c in context.cookies() if c["name"] == "smschat_session"), None)


def _page_text_and_scripts(page) -> str:
    """The page's HTML and every script it runs (inline texts and the sources of its files)."""
    return page.content() + "".join(page.locator("script").all_inner_texts())


def test_the_session_cookie_never_reaches_a_script_or_a_page_and_nothing_loads_from_outside(live_app, browser):
    base, url = live_app
    marie = _marie(url)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requests: list[str] = []
    console: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: console.append(m.text))
    # A deep link opened while logged out goes through the login page and comes back.
    login(page, base, "admin", f"/chat?contact={marie}")
    page.get_by_text("Chat - marie").wait_for(timeout=20_000)
    assert page.url == f"{base}/chat?contact={marie}"

    cookie = _session_cookie(context)
    token = cookie["value"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert token not in page.evaluate("document.cookie")
    assert "smschat_session" not in page.evaluate("document.cookie")
    # The hashed inline scripts run under the CSP: the counter follows the typing.
    page.get_by_role("textbox", name="Message").fill("hello")
    page.get_by_text("5 / 160").wait_for(timeout=10_000)

    for path in ADMIN_PAGES:
        page.goto(base + path)
        page.get_by_text("Logged in as admin").wait_for(timeout=20_000)
        page.wait_for_load_state("networkidle")
        assert token not in _page_text_and_scripts(page), path
        assert token not in page.evaluate("document.cookie"), path
    page.screenshot(path=str(ARTIFACTS / "security_walk_last_page.png"), full_page=True)

    origin = base.rstrip("/")
    outside = sorted({r for r in requests if not (r.startswith(origin + "/") or r.startswith(origin.replace("http", "ws", 1) + "/"))
                      and not r.startswith(("data:", "blob:"))})
    assert not outside, f"requests left the machine: {outside}"
    violations = [m for m in console if "Content Security Policy" in m or "Refused to" in m]
    assert not violations, violations
    context.close()


def test_the_headers_reach_the_browser(live_app, browser):
    base, _ = live_app
    context = browser.new_context()
    page = context.new_page()
    for path in ("/", "/login"):
        headers = page.goto(base + path).headers
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
    context.close()


def test_logout_clears_the_cookie_and_a_new_tab_is_logged_out(live_app, browser):
    base, url = live_app
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    login(page, base, "sam")
    token = _session_cookie(context)["value"]
    page.get_by_role("button", name="Log out").click()
    page.get_by_text("You are logged out.").wait_for(timeout=20_000)
    assert _session_cookie(context) is None
    with dbmod.session_scope(url, readonly=True) as s:
        assert auth.live_web_session(s, token) is None  # ended on the server, not just forgotten
    other = context.new_page()
    other.goto(base + "/settings")
    other.get_by_role("textbox", name="Password").wait_for(timeout=20_000)
    assert "/login?" in other.url and other.get_by_text("Logged in as").count() == 0
    context.close()


def test_a_login_form_on_another_site_cannot_log_the_browser_in(live_app, browser):
    base, _ = live_app
    context = browser.new_context()
    page = context.new_page()
    # A page of another site whose form posts a (valid) login to the dashboard.
    page.route("http://evil.example/**", lambda route: route.fulfill(content_type="text/html", body=(
        f'<form id="f" method="post" action="{base}/login">'
        f'<input name="username" value="amy"><input name="password" value="{PASSWORDS["amy"]}">'
        '<input name="next" value="/"></form><button onclick="f.submit()">go</button>')))
    page.goto("http://evil.example/")
    with page.expect_navigation():
        page.get_by_role("button", name="go").click()
    page.get_by_text("Refused").wait_for(timeout=20_000)
    assert _session_cookie(context) is None
    context.close()


def test_next_pointing_at_another_site_stays_on_the_dashboard(live_app, browser):
    base, _ = live_app
    context = browser.new_context()
    page = context.new_page()
    page.route("http://evil.example/**", lambda route: route.fulfill(body="left the site"))
    page.goto(f"{base}/login?next=//evil.example/")
    page.get_by_role("textbox", name="Username").fill("amy")
    page.get_by_role("textbox", name="Password").fill(PASSWORDS["amy"])
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Logged in as amy").wait_for(timeout=20_000)
    assert page.url.startswith(base + "/") and "evil" not in page.url
    context.close()


HOSTILE_PROJECT = "![x](http://evil.example/x.png) **bold** :red[hi] see www.evil.example or a@evil.example"


def test_a_notice_quoting_a_name_shows_it_as_typed_with_no_link_or_image(live_app, browser):
    base, _ = live_app
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    login(page, base, "admin", "/projects")
    page.get_by_role("textbox", name="Slug").fill("hostile")
    page.get_by_role("textbox", name="Name").first.fill(HOSTILE_PROJECT)
    page.get_by_role("button", name="Add project").click()
    alert = page.locator("[data-testid=stAlertContentSuccess]", has_text="Added")
    alert.wait_for(timeout=20_000)
    assert alert.inner_text().startswith(f"Added {HOSTILE_PROJECT}.")
    assert alert.locator("a, img, strong").count() == 0
    assert all(r.startswith(base) for r in requests), [r for r in requests if not r.startswith(base)]
    context.close()


def test_a_contact_id_past_any_key_reads_no_such_contact_without_a_traceback(live_app, browser):
    base, _ = live_app
    context = browser.new_context()
    page = context.new_page()
    login(page, base, "amy", "/chat?contact=99999999999999999999999")
    page.get_by_text("No such contact in this project.").wait_for(timeout=20_000)
    html = page.content()
    assert "Traceback" not in html and "OverflowError" not in html and ".py" not in html
    context.close()


@pytest.fixture(scope="module")
def dashboard_without_database(tmp_path_factory, chromium_path):
    """The dashboard App with its database away (a port nobody listens on)."""
    log = tmp_path_factory.mktemp("nodb") / "dashboard.log"
    env = {**os.environ, "SMSCHAT_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"}
    proc, base = start_dashboard(env, log)
    yield base, log
    proc.terminate()
    proc.wait(timeout=15)


def test_a_database_that_is_away_shows_one_line_and_an_error_id_found_in_the_log(dashboard_without_database, browser):
    base, log = dashboard_without_database
    context = browser.new_context(viewport={"width": 1280, "height": 700})
    # A browser that logged in before the database went away.
    context.add_cookies([{"name": "smschat_session", "value": "a-token-from-before", "url": base,
                          "httpOnly": True, "sameSite": "Strict"}])
    page = context.new_page()
    page.goto(base + "/contacts")
    line = page.get_by_text(re.compile(r"The database is not reachable; retrying… \(error id [0-9a-f]{8}\)"))
    line.wait_for(timeout=20_000)
    error_id = re.search(r"error id ([0-9a-f]{8})", line.inner_text()).group(1)
    html = page.content()
    assert "Traceback" not in html and "psycopg" not in html and ".py" not in html
    page.screenshot(path=str(ARTIFACTS / "security_error_id.png"), full_page=True)
    wait_until(lambda: error_id in log.read_text(), 10, "the error id in the server log")
    text = log.read_text()
    assert f"error id {error_id}" in text and "Traceback" in text
    context.close()
