"""AppTest smoke tests: every page renders from a real database, as its role sees it."""

import pytest
from streamlit.testing.v1 import AppTest

from smschat import chat, contacts, inbound

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def app(script: str) -> AppTest:
    return AppTest.from_file(str(ROOT / script), default_timeout=30)


def _as(at: AppTest, user, project, role="agent") -> AppTest:
    at.session_state["viewer"] = {
        "user_id": user.id, "username": user.username, "display_name": user.display_name,
        "project_id": project.id, "project_name": project.name, "time_zone": project.time_zone, "role": role,
    }
    return at


def test_dashboard_logged_out_shows_only_the_login_form(db_url, project, agent):
    at = app("dashboard.py").run()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert [b.label for b in at.button] == ["Log in"]
    assert "viewer" not in at.session_state


def test_dashboard_logged_in_shows_the_sidebar_and_the_default_page(db_url, project, agent, marie):
    at = _as(app("dashboard.py"), agent, project).run()
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
                                   "Opted out", "Chat"]
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
    from smschat import auth

    admin = auth.create_user(session, "root", "long enough pw", project=project, role="admin")
    session.commit()
    at = _as(app("pages/users.py"), admin, project, role="admin").run()
    assert not at.exception and not at.error
    assert list(at.dataframe[0].value["Username"]) == ["amy", "root"]
    assert "user_changed" in list(at.dataframe[1].value["What"])


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
    from smschat import auth

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


# --- Settings and automation pages (issue 7) -----------------------------------------------


def _supervisor(session, project):
    from smschat import auth

    user = auth.create_user(session, "sam", "long enough pw", first_name="Sam", project=project, role="supervisor")
    session.commit()
    return user


def test_settings_page_shows_the_seeds_labels_and_saves_with_an_audit_row(db_url, session, project):
    from smschat import projects

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
    from smschat import projects

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
    from smschat import keywords, reminders, surveys

    survey = surveys.create_survey(session, sam.id, project.id, "Household",
                                   [{"text": "How many children?", "kind": "number", "min": 0, "max": 20}])
    keywords.create_keyword(session, sam.id, project.id, "survey", "", survey_id=survey.id)
    reminders.create_reminder(session, sam.id, project.id, "Morning", "Good morning", {"kind": "mobile_workers"},
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
