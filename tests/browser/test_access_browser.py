"""Roles, project isolation and hostile text, as a user sees them in real Chromium."""

from sqlalchemy import select

from smschat import db as dbmod
from smschat.accounts import auth, projects
from smschat.messaging import inbound
from smschat.models import Contact, Project, WebSession
from smschat.people import contacts

from .conftest import ARTIFACTS, login, settle, wait_for_refreshes

HOSTILE_NAME = "<b>x</b><script>alert(1)</script>"
HOSTILE_BODIES = ["<img src=x onerror=alert(1)>", "**bold**"]
HIDDEN_FROM_AGENTS = ["Settings", "Message log", "Web users", "Projects", "Add contacts"]


def _nav(page) -> list[str]:
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.wait_for()
    # Each link reads "<icon name>\n\n<title>": keep the title.
    return [t.strip().splitlines()[-1].strip() for t in nav.locator("a").all_inner_texts()]


def nav_link_count(page, title: str) -> int:
    return page.locator('[data-testid="stSidebarNav"] a', has_text=title).count()


def _watch_dialogs(page) -> list[str]:
    fired: list[str] = []

    def on_dialog(dialog):
        fired.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return fired


def test_an_agent_sees_only_the_pages_of_their_role(live_app, browser):
    base, _ = live_app
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    login(page, base, "amy")
    links = _nav(page)
    assert {"Contacts", "Chat", "Phone simulator"} <= set(links)
    for title in HIDDEN_FROM_AGENTS:
        assert title not in links, f"an agent sees {title!r} in the navigation"
        assert nav_link_count(page, title) == 0
    # Typing the address of an admin page does not open it either.
    page.goto(base + "/users")
    page.get_by_text("Logged in as amy").wait_for()
    settle(page)  # the page's run is over: what it would show is shown
    assert page.get_by_text("Audit trail").count() == 0
    assert page.get_by_role("heading", name="Web users").count() == 0
    page.screenshot(path=str(ARTIFACTS / "access_agent_navigation.png"), full_page=True)
    context.close()

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    login(page, base, "admin")
    assert {"Web users", "Projects"} <= set(_nav(page))
    context.close()

    # The pages an agent does not see are there for the roles that may use them.
    for username, expected in (("sam", {"Settings", "Message log", "Add contacts"}), ("ana", {"Message log"})):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        login(page, base, username)
        links = set(_nav(page))
        assert expected <= links, (username, links)
        if username == "ana":
            assert not {"Chat", "Search", "Settings", "Web users"} & links
        context.close()


def test_a_supervisor_opening_another_projects_contact_link_is_refused_and_sees_nothing_of_it(live_app, browser):
    base, url = live_app
    with dbmod.session_scope(url) as s:
        other = projects.create_project(s, "bravo", "Bravo Project", default_region="KE")
        secret = contacts.create_contact(s, other, "case", "Bravo Secret Case")
        contacts.register_phone(s, other, secret, "+254711222333")
        inbound.receive_sms(s, other, "+254711222333", "bravo private words")
        secret_id = secret.id
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    fired = _watch_dialogs(page)
    login(page, base, "sam", f"/chat?contact={secret_id}")
    refusal = page.get_by_text("No such contact in this project.")
    refusal.wait_for(timeout=20_000)
    settle(page)
    # Nothing of the contact may appear later either: the refused page has no history to refresh.
    assert page.locator(".smschat-history").count() == 0
    html = page.content()
    for leak in ("Bravo Secret Case", "bravo private words", "+254711222333", "254711222333", "Bravo Project"):
        assert leak not in html
    assert page.get_by_role("textbox", name="Message").count() == 0  # no compose box, no send
    page.screenshot(path=str(ARTIFACTS / "access_foreign_contact_refused.png"), full_page=True)
    # A contact id that does not exist at all reads exactly the same.
    page.goto(f"{base}/chat?contact=987654")
    page.get_by_text("No such contact in this project.").wait_for(timeout=20_000)
    assert not fired
    context.close()


def test_html_and_script_in_names_and_bodies_render_as_literal_text(live_app, browser):
    base, url = live_app
    with dbmod.session_scope(url) as s:
        demo = s.scalar(select(Project).where(Project.slug == "demo"))
        case = contacts.create_contact(s, demo, "case", HOSTILE_NAME)
        contacts.register_phone(s, demo, case, "+254733444555")
        for body in HOSTILE_BODIES:
            inbound.receive_sms(s, demo, "+254733444555", body)
        case_id = case.id
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    fired = _watch_dialogs(page)
    login(page, base, "amy")

    # Contacts: the name in the list (search narrows it to this row) and in the Chat links.
    page.get_by_role("textbox", name="Search").fill("script")
    page.keyboard.press("Enter")
    page.get_by_text("Showing 1 to 1 of 1 contacts").wait_for()
    # The table draws on a canvas; its accessible copy (a DOM table) carries the cell text.
    cells = page.locator('[data-testid="stDataFrame"] table td')
    page.wait_for_function(
        "n => document.querySelectorAll('[data-testid=\"stDataFrame\"] table tbody tr').length === n", arg=1)
    assert HOSTILE_NAME in cells.all_inner_texts()
    page.get_by_text("Open a chat in a new tab").click()
    link = page.locator(".smschat-chat-links a")
    page.wait_for_function("() => document.querySelectorAll('.smschat-chat-links a').length === 1")
    assert link.first.inner_text() == f"Chat with {HOSTILE_NAME}"
    assert page.locator("img[src='x']").count() == 0 and page.locator("b", has_text="x").count() == 0
    page.screenshot(path=str(ARTIFACTS / "access_hostile_contacts.png"), full_page=True)

    # Chat: the title, the sender label and the bodies, all as the literal characters.
    page.goto(f"{base}/chat?contact={case_id}")
    heading = page.locator("h1.smschat-heading")
    heading.wait_for(timeout=20_000)
    assert heading.inner_text() == f"Chat - {HOSTILE_NAME}"
    history = page.locator(".smschat-history")
    for body in HOSTILE_BODIES:
        line = history.locator(".msg", has_text=body)
        line.wait_for(timeout=15_000)
        assert line.locator(".body").inner_text() == body
        assert line.locator(".who").inner_text() == f"{HOSTILE_NAME}:"
    assert page.title() in (f"Chat - {HOSTILE_NAME}", f"(New Message) - Chat - {HOSTILE_NAME}")
    wait_for_refreshes(page)  # a refresh or two of the history
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("strong", has_text="bold").count() == 0
    assert page.locator("b", has_text="x").count() == 0
    assert "alert(1)" not in "".join(page.locator("script").all_inner_texts())
    page.screenshot(path=str(ARTIFACTS / "access_hostile_chat.png"), full_page=True)

    # Phone simulator: the number's label carries the name; the phone shows the bodies.
    page.goto(f"{base}/simulator")
    bodies = page.locator(".phone .body")
    bodies.first.wait_for(timeout=20_000)
    box = page.locator('[data-testid="stSelectbox"]')
    label = box.inner_text() + " ".join(i.input_value() for i in box.locator("input").all())
    assert f"+254733444555 · {HOSTILE_NAME}" in label  # sorts first: '<' < 'A'
    assert bodies.all_inner_texts()[-2:] == HOSTILE_BODIES
    assert page.locator("img[src='x']").count() == 0 and page.locator("strong", has_text="bold").count() == 0
    assert not fired, f"a dialog fired: {fired}"
    context.close()


def _end_sessions(url: str, username: str) -> None:
    with dbmod.session_scope(url) as s:
        user = auth.get_user(s, username)
        for ws in s.scalars(select(WebSession).where(WebSession.user_id == user.id)):
            ws.expires_at = ws.last_seen_at  # idle for the whole timeout: ended on the server


def test_an_idle_session_ends_on_the_server_and_the_next_click_shows_the_login_form(live_app, browser):
    base, url = live_app
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    login(page, base, "amy")
    page.get_by_text("Showing 1 to").wait_for()
    _end_sessions(url, "amy")
    page.get_by_role("textbox", name="Search").fill("marie")  # the next interaction
    page.keyboard.press("Enter")
    page.get_by_text("Your session has ended. Please log in again.").wait_for(timeout=20_000)
    page.get_by_role("textbox", name="Password").wait_for(state="visible", timeout=20_000)
    # The form starts empty: the earlier login's password is not waiting in it.
    assert page.get_by_role("textbox", name="Password").input_value() == ""
    assert page.get_by_role("textbox", name="Username").input_value() == ""
    assert page.get_by_text("Logged in as amy").count() == 0
    # The session stays ended: a new tab of this browser is logged out.
    other_tab = context.new_page()
    other_tab.goto(base + "/")
    other_tab.get_by_role("textbox", name="Password").wait_for(timeout=20_000)
    page.screenshot(path=str(ARTIFACTS / "access_session_ended.png"), full_page=True)
    context.close()


def test_an_open_chat_window_stops_by_itself_once_the_session_has_ended(live_app, browser):
    base, url = live_app
    with dbmod.session_scope(url, readonly=True) as s:
        marie = s.scalar(select(Contact.id).where(Contact.name == "marie"))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    login(page, base, "amy", f"/chat?contact={marie}")
    page.get_by_text("Chat - marie").wait_for(timeout=20_000)
    _end_sessions(url, "amy")
    # Nobody touches the page: its own refresh notices and the login form replaces the chat.
    page.get_by_text("Your session has ended. Please log in again.").wait_for(timeout=20_000)
    assert page.locator(".smschat-history").count() == 0
    context.close()
