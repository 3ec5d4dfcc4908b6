"""AppTest smoke tests: every page renders from a real database, as its role sees it."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from smschat.accounts.actor import Actor
from smschat.chat import window as chat
from smschat.messaging import inbound
from smschat.people import contacts

ROOT = Path(__file__).resolve().parent.parent


def app(script: str) -> AppTest:
    return AppTest.from_file(str(ROOT / script), default_timeout=30)


def _as(at: AppTest, user, project, role="agent") -> AppTest:
    at.session_state["viewer"] = {
        "user_id": user.id, "username": user.username, "display_name": user.display_name,
        "project_id": project.id, "project_name": project.name, "time_zone": project.time_zone, "role": role,
    }
    return at


def _login_link(at: AppTest) -> str | None:
    """Where a logged-out run sends the browser (the same address as its Log in link)."""
    links = [b.proto.url for b in at.get("link_button") if b.proto.label == "Log in"]
    return links[0] if links else None


def test_dashboard_logged_out_sends_the_browser_to_the_login_page(db_url, project, agent):
    at = app("dashboard.py").run()
    assert not at.exception
    # The login form lives on the server's /login page; this script never sees a password.
    assert not at.text_input and not at.button and not at.dataframe
    assert _login_link(at) == "/login?next=%2F"
    assert "viewer" not in at.session_state


def _logged_in(session, user, project, role="agent", token=None) -> AppTest:
    """The dashboard as after a login: the viewer and a live server-side session token.

    AppTest re-runs only the page script after the first run, so each "next click" on the
    dashboard itself is a fresh AppTest holding the same session state (same token)."""
    from smschat.accounts import auth

    if token is None:
        token = auth.start_web_session(session, user.id, project.id)
        session.commit()
    at = _as(app("dashboard.py"), user, project, role)
    at.session_state["identity"] = {"user_id": user.id, "username": user.username, "display_name": user.display_name}
    at.session_state["token"] = token
    return at


def test_dashboard_logged_in_shows_the_sidebar_and_the_default_page(db_url, session, project, agent, marie):
    at = _logged_in(session, agent, project).run()
    assert not at.exception
    assert "Logged in as amy (agent)" in [t.value for t in at.sidebar.text]
    assert [b.label for b in at.sidebar.button] == ["Log out"]
    assert list(at.dataframe[0].value["Contact Name"]) == ["marie"]  # Contacts is the default page


def test_contacts_page_lists_and_searches(db_url, session, project, agent, marie):
    grace = contacts.create_contact(session, project, "case", "Grace <b>Achieng</b>")
    contacts.register_phone(session, project, grace, "+254712345678")
    session.commit()
    at = _as(app("pages/contacts.py"), agent, project).run()
    assert not at.exception
    frame = at.dataframe[0].value
    assert list(frame.columns) == ["Contact Name", "Contact Type", "Phone Number", "Unread", "Last message",
                                   "Number status", "Chat", "Assigned to"]
    assert list(frame["Contact Name"]) == ["Grace <b>Achieng</b>", "marie"]
    assert "Showing 1 to 2 of 2 contacts" in [m.value for m in at.markdown]
    assert [m.label for m in at.metric] == ["Conversations with unread messages", "Messages in today",
                                            "Messages out today", "Failed today"]
    assert "Chat with Grace &lt;b&gt;Achieng&lt;/b&gt;" in " ".join(h.proto.body for h in at.get("html"))
    at.text_input[0].input("703 399").run()
    assert list(at.dataframe[0].value["Contact Name"]) == ["marie"]
    assert list(at.dataframe[0].value["Chat"]) == [f"chat?contact={marie.id}"]


def test_chat_page_shows_history_and_sends(db_url, session, project, agent, marie):
    inbound.receive_sms(session, project, "+17033996500", "I visited two patients")
    session.commit()
    at = _as(app("pages/chat.py"), agent, project)
    at.query_params["contact"] = str(marie.id)
    at.run()
    assert not at.exception
    html = " ".join(h.proto.body for h in at.get("html"))
    assert "Chat - marie" in html and "I visited two patients" in html
    at.text_area[0].input("Did you complete your supervisions today?")
    at.button(key=f"send_{marie.id}").click().run()
    assert not at.exception and not at.error
    assert [line.body for line in chat.get_history(session, project.id, marie.id)][-1] == (
        "Did you complete your supervisions today?")
    assert at.text_area[0].value == ""  # cleared after a successful send


def test_chat_page_keeps_the_text_when_sending_fails(db_url, session, project, agent, marie):
    at = _as(app("pages/chat.py"), agent, project)
    at.query_params["contact"] = str(marie.id)
    at.run()
    at.text_area[0].input("x" * 1601)
    at.button(key=f"send_{marie.id}").click().run()
    assert [e.value for e in at.error] == ["The message has 1,601 characters; the limit is 1,600."]
    assert at.text_area[0].value == "x" * 1601
    assert chat.get_history(session, project.id, marie.id) == []


def test_chat_page_refuses_an_unknown_contact(db_url, project, agent):
    at = _as(app("pages/chat.py"), agent, project)
    at.query_params["contact"] = "99999"
    at.run()
    assert [e.value for e in at.error] == ["No such contact in this project."]


def test_chat_page_without_contact_offers_a_picker(db_url, project, agent, marie):
    at = _as(app("pages/chat.py"), agent, project).run()
    assert not at.exception
    assert at.selectbox[0].options == ["marie · Mobile Worker · +17033996500"]


def test_simulator_reply_goes_through_the_inbound_path(db_url, session, project, agent, marie):
    chat.send_chat_message(session, project.id, marie.id, agent.id, "Are you there?")
    session.commit()
    at = _as(app("pages/simulator.py"), agent, project).run()
    assert not at.exception
    assert "Are you there?" in " ".join(h.proto.body for h in at.get("html"))
    at.text_input[0].input("Yes, I am")
    at.button[0].click().run()
    assert not at.error
    [*_, last] = chat.get_history(session, project.id, marie.id)
    assert (last.sender, last.body, last.direction) == ("marie", "Yes, I am", "in")


@pytest.mark.parametrize("page", ["pages/contacts.py", "pages/chat.py", "pages/simulator.py"])
def test_pages_hand_over_to_login_when_logged_out(db_url, page):
    at = app(page).run()
    assert at.session_state["after_login"]["page"] in page


def test_users_page_lists_users_and_the_audit_trail_for_admins(db_url, session, project, agent):
    from smschat.accounts import auth

    admin = auth.create_user(session, "root", "long enough pw", project=project, role="admin")
    session.commit()
    at = _as(app("pages/users.py"), admin, project, role="admin").run()
    assert not at.exception and not at.error
    assert list(at.dataframe[0].value["Username"]) == ["amy", "root"]
    assert "user_changed" in list(at.dataframe[1].value["What"])
    auth.authenticate(session, "amy", "correct horse battery", address="10.0.0.7")
    session.commit()
    at.run()
    at.selectbox(key="audit_action").select("login").run()
    trail = at.dataframe[1].value
    assert list(trail["What"]) == ["login"] and list(trail["Who"]) == ["amy"] and list(trail["Address"]) == ["10.0.0.7"]
    at.selectbox(key="audit_action").select("All")
    at.selectbox(key="audit_user").select("amy").run()
    assert set(at.dataframe[1].value["Who"]) == {"amy"}


def test_users_page_refuses_an_agent(db_url, project, agent):
    at = _as(app("pages/users.py"), agent, project).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Your role (agent) cannot manage web users."]


def test_contacts_page_shows_unread_counts_and_filters_to_unread(db_url, session, project, agent, marie):
    grace = contacts.create_contact(session, project, "case", "Grace")
    contacts.register_phone(session, project, grace, "+254712345678")
    inbound.receive_sms(session, project, "+17033996500", "one")
    inbound.receive_sms(session, project, "+17033996500", "two")
    session.commit()
    at = _as(app("pages/contacts.py"), agent, project).run()
    frame = at.dataframe[0].value
    assert dict(zip(frame["Contact Name"], frame["Unread"], strict=True)) == {"Grace": 0, "marie": 2}
    assert at.metric[0].value == "1"
    at.checkbox(key="contacts_unread").check().run()
    assert list(at.dataframe[0].value["Contact Name"]) == ["marie"]


def test_manage_contacts_page_adds_a_case_and_lists_unverified_workers(db_url, session, project, agent):
    from smschat.accounts import auth

    sup = auth.create_user(session, "sup", "long enough pw", project=project, role="supervisor")
    bob = contacts.create_contact(session, project, "mobile_worker", "bob")
    contacts.register_phone(session, project, bob, "+17035550101")
    session.commit()
    at = _as(app("pages/manage_contacts.py"), sup, project, role="supervisor").run()
    assert not at.exception and not at.error
    assert "bob · +17035550101" in [t.value for t in at.text]
    at.button(key="verify_%d" % bob.id).click().run()
    assert [s.value for s in at.success] == ["Sent."]
    [line] = chat.get_history(session, project.id, bob.id)
    assert line.body.startswith("Welcome to Test Project! Is this phone used by bob?")


def test_manage_contacts_page_refuses_an_agent(db_url, project, agent):
    at = _as(app("pages/manage_contacts.py"), agent, project).run()
    assert "Your role (agent) cannot manage contacts." in [e.value for e in at.error]


def test_unknown_senders_page_lists_numbers_that_are_no_contact(db_url, session, project, agent, marie):
    inbound.receive_sms(session, project, "+14155550123", "<b>who</b> is this?")
    inbound.receive_sms(session, project, "+17033996500", "marie is known")
    session.commit()
    at = _as(app("pages/unknown_senders.py"), agent, project).run()
    assert not at.exception
    frame = at.dataframe[0].value
    assert list(frame["Phone Number"]) == ["+14155550123"] and list(frame["Last text"]) == ["<b>who</b> is this?"]
    assert list(at.dataframe[1].value["Message"]) == ["<b>who</b> is this?"]


def test_chat_page_says_when_the_number_opted_out(db_url, session, project, agent, marie):
    inbound.receive_sms(session, project, "+17033996500", "STOP")
    session.commit()
    at = _as(app("pages/chat.py"), agent, project)
    at.query_params["contact"] = str(marie.id)
    at.run()
    assert not at.exception
    assert any("opted out" in w.value and "by replying STOP" in w.value for w in at.warning)


def test_chat_page_refuses_another_projects_contact_in_the_words_of_a_missing_one(db_url, session, project, agent):
    from smschat.accounts import projects

    other = projects.create_project(session, "other", "Other")
    secret = contacts.create_contact(session, other, "case", "Secret Case")
    contacts.register_phone(session, other, secret, "+254799999999")
    inbound.receive_sms(session, other, "+254799999999", "private words")
    session.commit()
    shown = {}
    for contact_id in (str(secret.id), "99999"):
        at = _as(app("pages/chat.py"), agent, project)
        at.query_params["contact"] = contact_id
        at.run()
        assert not at.exception
        shown[contact_id] = [e.value for e in at.error]
        page = " ".join(h.proto.body for h in at.get("html")) + " ".join(m.value for m in at.markdown)
        assert "Secret Case" not in page and "private words" not in page
    assert shown[str(secret.id)] == shown["99999"] == ["No such contact in this project."]


@pytest.mark.parametrize("page", ["pages/chat.py", "pages/simulator.py"])
def test_chat_and_simulator_pages_refuse_an_analyst_in_the_service(db_url, session, project, marie, page):
    from smschat.accounts import auth

    ana = auth.create_user(session, "ana", "long enough pw", project=project, role="analyst")
    session.commit()
    at = _as(app(page), ana, project, role="analyst")
    at.query_params["contact"] = str(marie.id)
    at.run()
    assert not at.exception
    assert any("Your role (analyst) cannot" in e.value for e in at.error)
    assert "marie" not in " ".join(h.proto.body for h in at.get("html"))


def test_an_idle_session_ends_on_the_server_and_the_next_click_shows_the_login_form(db_url, session, project, agent, marie):
    from datetime import timedelta

    from smschat.models import WebSession

    at = _logged_in(session, agent, project).run()
    assert "Logged in as amy (agent)" in [t.value for t in at.sidebar.text]
    # Idle past the timeout: the server's row has expired (nothing in the browser decides).
    ws = session.query(WebSession).one()
    ws.expires_at = ws.last_seen_at = ws.expires_at - timedelta(days=2)
    session.commit()
    at = _logged_in(session, agent, project, token=at.session_state["token"]).run()
    assert not at.exception
    assert _login_link(at) == "/login?next=%2F&ended=1"
    assert "Your session has ended. Please log in again." in [i.value for i in at.info]
    assert "viewer" not in at.session_state and "token" not in at.session_state
    assert not at.dataframe  # nothing of the contacts is left on the page


def test_a_disabled_user_is_logged_out_at_the_next_click(db_url, session, project, agent, marie):
    from smschat.accounts import auth

    at = _logged_in(session, agent, project).run()
    auth.set_active(session, "amy", False)
    session.commit()
    at = _logged_in(session, agent, project, token=at.session_state["token"]).run()
    assert _login_link(at) == "/login?next=%2F&ended=1"
    assert not at.dataframe


def test_a_changed_role_changes_the_navigation_at_the_next_click(db_url, session, project, agent, marie):
    from smschat.accounts import auth

    at = _logged_in(session, agent, project).run()
    auth.set_role(session, agent, project, "analyst")
    session.commit()
    at = _logged_in(session, agent, project, token=at.session_state["token"]).run()
    assert "Logged in as amy (analyst)" in [t.value for t in at.sidebar.text]


def test_projects_page_lists_adds_and_changes_projects_for_admins(db_url, session, project, agent):
    from smschat.accounts import auth, projects

    admin = auth.create_user(session, "root", "long enough pw", project=project, role="admin")
    session.commit()
    at = _as(app("pages/projects.py"), admin, project, role="admin").run()
    assert not at.exception and not at.error
    assert list(at.dataframe[0].value["Slug"]) == ["test"]
    assert list(at.dataframe[0].value["Sender numbers"]) == ["+15005550006"]
    at.text_input(key="sender_%d" % project.id).input("+1 500 555 0009")
    at.button(key="add_sender").click().run()
    assert not at.error
    assert list(at.dataframe[0].value["Sender numbers"]) == ["+15005550006, +15005550009"]
    form = at.get("form")[0]
    at.text_input[0].input("kenya")
    at.text_input[1].input("Kenya <b>pilot</b>")
    form.button[0].click()  # FormSubmitter "Add project"
    at.run()
    assert not at.error, [e.value for e in at.error]
    assert list(at.dataframe[0].value["Name"]) == ["Kenya <b>pilot</b>", "Test Project"]
    assert auth.role_in(session, admin.id, projects.get_project_by_slug(session, "kenya").id) == "admin"


def test_projects_page_refuses_a_supervisor(db_url, session, project):
    from smschat.accounts import auth

    sup = auth.create_user(session, "sup", "long enough pw", project=project, role="supervisor")
    session.commit()
    at = _as(app("pages/projects.py"), sup, project, role="supervisor").run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Your role (supervisor) cannot manage projects and sender numbers."]
    assert not at.dataframe


def test_users_page_changes_are_committed(db_url, session, project, agent):
    from smschat.accounts import auth

    admin = auth.create_user(session, "root", "long enough pw", project=project, role="admin")
    session.commit()
    at = _as(app("pages/users.py"), admin, project, role="admin").run()
    at.selectbox(key="users_target").select("amy")
    at.selectbox(key="users_role").select("supervisor")
    at.button(key="users_set_role").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    session.expire_all()
    assert auth.role_in(session, agent.id, project.id) == "supervisor"
    assert dict(zip(at.dataframe[0].value["Username"], at.dataframe[0].value["Role"], strict=True))["amy"] == "supervisor"


def test_message_log_page_filters_pages_charts_and_prepares_a_download(db_url, session, project, agent, tmp_path,
                                                                       monkeypatch):
    from datetime import date

    from smschat.config import reload_settings
    from smschat.log.messagelog import COLUMNS
    from smschat.models import AuditEvent

    from . import logdata

    monkeypatch.setenv("SMSCHAT_EXPORTS_DIR", str(tmp_path / "exports"))
    reload_settings()
    data = logdata.load(session, project, agent)
    at = _as(app("pages/message_log.py"), data.users["ana"], project, role="analyst").run()
    assert not at.exception and not at.error
    assert at.title[0].value == "Message log"
    # Default range: the last 30 local days (today is after the data's November days).
    at.date_input(key="log_dates").set_value((date(2026, 3, 1), date(2026, 11, 30))).run()
    assert "10 messages match the filter" in [s.value for s in at.subheader]
    frame = at.dataframe[0].value
    assert list(frame.columns) == list(COLUMNS)
    assert frame.iloc[0]["Message"] == "<img src=x onerror=alert(1)>"  # newest first, literal text
    assert "Showing 1 to 10 of 10 messages" in [t.value for t in at.text]
    at.selectbox(key="log_direction").select("Incoming").run()
    assert "4 messages match the filter" in [s.value for s in at.subheader]
    at.text_input(key="log_text").input("VISIT").run()
    assert list(at.dataframe[0].value["Message"]) == ["I visited two patients"]
    at.text_input(key="log_text").input("").run()
    at.selectbox(key="log_page_size").select(25).run()
    at.button(key="log_prepare_csv").click().run()
    assert not at.exception and not at.error
    [prepared] = list((tmp_path / "exports").glob("messages-*.csv"))
    assert len(prepared.read_text().splitlines()) == 1 + 4
    session.expire_all()
    event = session.query(AuditEvent).filter_by(action="export").one()
    assert event.username == "ana" and event.detail["rows"] == 4
    reload_settings()


def test_message_log_page_refuses_an_agent(db_url, project, agent):
    at = _as(app("pages/message_log.py"), agent, project).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Your role (agent) cannot view the message log."]


# --- Settings and automation pages (issue 7) -----------------------------------------------


def _supervisor(session, project):
    from smschat.accounts import auth

    user = auth.create_user(session, "sam", "long enough pw", first_name="Sam", project=project, role="supervisor")
    session.commit()
    return user


def test_settings_page_shows_the_seeds_labels_and_saves_with_an_audit_row(db_url, session, project):
    from smschat.accounts import projects

    sam = _supervisor(session, project)
    at = _as(app("pages/settings.py"), sam, project, role="supervisor").run()
    assert not at.exception and not at.error
    labels = [w.label for w in at.selectbox] + [w.label for w in at.text_input]
    for label in ("Case Name Display", "Message Counter", "Delay Automated SMS", "Survey Traffic",
                  "A Message is Read...", "Chat Template"):
        assert label in labels
    assert at.selectbox(key="set_counter_mode").value == "Don't use counter"
    assert at.selectbox(key="set_delay_mode").value == "Disabled"
    assert at.selectbox(key="set_survey_traffic").format_func(at.selectbox(key="set_survey_traffic").value) == (
        "Show all survey traffic")
    at.selectbox(key="set_counter_mode").set_value("Use counter")
    at.number_input(key="set_counter_threshold").set_value(4)
    at.text_input(key="set_case_name_display").set_value("mother_name")
    at.button[0].click().run()
    assert not at.exception and not at.error
    assert [s.value for s in at.success] == ["Saved: Case Name Display, Message Counter."]
    session.expire_all()
    cs = projects.get_chat_settings(session, project.id)
    assert (cs.case_name_display, cs.message_counter_threshold) == ("mother_name", 4)
    changes = at.dataframe[0].value
    assert set(changes["Setting"]) == {"Case Name Display", "Message Counter"} and set(changes["Who"]) == {"sam"}


def test_settings_page_shows_the_error_beside_the_field_and_saves_nothing(db_url, session, project):
    from smschat.accounts import projects

    sam = _supervisor(session, project)
    at = _as(app("pages/settings.py"), sam, project, role="supervisor").run()
    at.selectbox(key="set_counter_mode").set_value("Use counter")
    at.number_input(key="set_counter_threshold").set_value(0)
    at.text_input(key="set_case_name_display").set_value("mother_name")
    at.button[0].click().run()
    # The field's own message sits under the field (above the banner at the form's end).
    assert [e.value for e in at.error] == ["The threshold must be greater than 0.",
                                           "Nothing was saved: check Message Counter."]
    session.expire_all()
    assert projects.get_chat_settings(session, project.id).case_name_display == "name"


def test_settings_page_refuses_an_agent(db_url, project, agent):
    at = _as(app("pages/settings.py"), agent, project).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Your role (agent) cannot change settings."]


def _automation_data(session, project, sam):
    from smschat.automation import keywords, reminders, surveys

    survey = surveys.create_survey(session, Actor.web(sam.id), project.id, "Household",
                                   [{"text": "How many children?", "kind": "number", "min": 0, "max": 20}])
    keywords.create_keyword(session, Actor.web(sam.id), project.id, "survey", "", survey_id=survey.id)
    reminders.create_reminder(session, Actor.web(sam.id), project.id, "Morning", "Good morning", {"kind": "mobile_workers"},
                              {"kind": "daily", "time": "09:00"})
    session.commit()
    return survey


def test_reminders_page_lists_and_shows_the_calendar(db_url, session, project, marie):
    sam = _supervisor(session, project)
    _automation_data(session, project, sam)
    at = _as(app("pages/reminders.py"), sam, project, role="supervisor").run()
    assert not at.exception and not at.error
    assert [t.label for t in at.tabs] == ["Reminders", "New reminder", "Reminder Calendar"]
    assert list(at.dataframe[0].value["Name"]) == ["Morning"]
    assert list(at.dataframe[0].value["Schedule"]) == ["Every day at 09:00"]
    calendar = at.dataframe[1].value
    assert set(calendar["Reminder"]) == {"Morning"} and len(calendar) in (29, 30)
    at.text_input(key="rem_name").input("Clinic")
    at.text_area(key="rem_body").input("Clinic day tomorrow")
    at.button(key="rem_add").click().run()
    assert not at.error and at.success[0].value.startswith("Added; first goes out")


def test_broadcasts_page_sends_now_and_shows_progress(db_url, session, project, marie):
    sam = _supervisor(session, project)
    at = _as(app("pages/broadcasts.py"), sam, project, role="supervisor").run()
    assert not at.exception and not at.error
    at.text_input(key="bc_name").input("Meeting")
    at.text_area(key="bc_body").input("Meeting at 6 pm")
    at.button(key="bc_send").click().run()
    assert not at.exception and not at.error
    frame = at.dataframe[0].value
    assert (list(frame["Name"]), list(frame["Queued"]), list(frame["Skipped (opted out)"])) == (["Meeting"], [1], [0])


def test_keywords_and_surveys_pages_render(db_url, session, project, marie):
    sam = _supervisor(session, project)
    _automation_data(session, project, sam)
    inbound.receive_sms(session, project, "+17033996500", "survey")
    inbound.receive_sms(session, project, "+17033996500", "2")
    session.commit()
    at = _as(app("pages/keywords.py"), sam, project, role="supervisor").run()
    assert not at.exception and not at.error
    assert list(at.dataframe[0].value["Keyword"]) == ["SURVEY"]
    at = _as(app("pages/surveys.py"), sam, project, role="supervisor").run()
    assert not at.exception and not at.error
    assert list(at.dataframe[0].value["Completed"]) == [1]
    assert list(at.dataframe[1].value["Accepts"]) == ["a number from 0 to 20"]
    answers = at.dataframe[2].value
    assert list(answers["Q1: How many children?"]) == ["2"]


@pytest.mark.parametrize("page", ["pages/reminders.py", "pages/broadcasts.py", "pages/keywords.py", "pages/surveys.py"])
def test_automation_pages_refuse_an_agent(db_url, project, agent, page):
    at = _as(app(page), agent, project).run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "Your role (agent) cannot manage reminders, broadcasts, keywords and surveys."]


def test_contacts_figures_open_the_message_log_filtered_to_what_they_count(db_url, session, project, agent, marie):
    from smschat.accounts import auth

    ana = auth.create_user(session, "ana", "long enough pw", project=project, role="analyst")
    inbound.receive_sms(session, project, "+17033996500", "in today")
    failed = chat.send_chat_message(session, project.id, marie.id, agent.id, "did not go")
    failed.status = "failed"
    chat.send_chat_message(session, project.id, marie.id, agent.id, "went out")
    session.commit()
    at = _as(app("pages/contacts.py"), ana, project, role="analyst").run()
    links = [m.value for m in at.markdown if "Message log" in m.value]
    assert links == ["[See them in the Message log](message_log?day=today&direction=in)",
                     "[See them in the Message log](message_log?day=today&direction=out)",
                     "[See them in the Message log](message_log?day=today&status=failed,undelivered)"]
    agents_view = _as(app("pages/contacts.py"), agent, project).run()
    assert not [m.value for m in agents_view.markdown if "Message log" in m.value]  # agents have no log

    def log(**params):
        at = _as(app("pages/message_log.py"), ana, project, role="analyst")
        for k, v in params.items():
            at.query_params[k] = v
        at.run()
        assert not at.exception
        return [s.value for s in at.subheader], list(at.dataframe[0].value["Message"])

    counts, rows = log(day="today", direction="in")
    assert "1 message matches the filter" in counts and rows == ["in today"]
    assert log(day="today", status="failed,undelivered")[1] == ["did not go"]
    assert sorted(log(day="today", direction="out")[1]) == ["did not go", "went out"]


def test_simulator_opens_on_the_contact_of_the_chat(db_url, session, project, agent, marie):
    grace = contacts.create_contact(session, project, "case", "Grace")
    contacts.register_phone(session, project, grace, "+254712345678")
    session.commit()
    at = _as(app("pages/simulator.py"), agent, project)
    at.query_params["contact"] = str(grace.id)
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="sim_number").value == "+254712345678"


def test_simulator_refuses_another_projects_contact_in_the_words_of_a_missing_one(db_url, session, project, agent, marie):
    from smschat.accounts import projects

    other = projects.create_project(session, "other", "Other")
    secret = contacts.create_contact(session, other, "case", "Secret Case")
    contacts.register_phone(session, other, secret, "+254799999999")
    session.commit()
    shown = {}
    for contact_id in (str(secret.id), "99999", "x"):
        at = _as(app("pages/simulator.py"), agent, project)
        at.query_params["contact"] = contact_id
        at.run()
        assert not at.exception
        shown[contact_id] = [e.value for e in at.error]
        assert "+254799999999" not in " ".join(h.proto.body for h in at.get("html"))
    assert shown[str(secret.id)] == shown["99999"] == shown["x"] == ["No such contact in this project."]


def test_pages_use_only_the_public_names_of_the_services():
    """A page calls what a service module offers, never its private helpers (`_name`): those skip
    the checks and the unit of work that the public functions promise."""
    import ast

    wrong = []
    for path in sorted((ROOT / "pages").glob("*.py")) + [ROOT / "dashboard.py"]:
        tree = ast.parse(path.read_text(), filename=str(path))
        modules = set()  # names bound to a module of smschat in this file
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in ("smschat", "pages"):
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        wrong.append(f"{path.name}:{node.lineno} imports {node.module}.{alias.name}")
                    modules.add(alias.asname or alias.name)
            elif isinstance(node, ast.Import):
                modules.update((a.asname or a.name).split(".")[0] for a in node.names if a.name.startswith("smschat"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules
                    and node.attr.startswith("_") and not node.attr.startswith("__")):
                wrong.append(f"{path.name}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert not wrong, "\n".join(wrong)
