"""AppTest: the Waiting replies page, the chat's staff tools, quick replies on the Settings page."""

from smschat.accounts import auth
from smschat.accounts.actor import Actor
from smschat.chat import inbox, quickreplies
from smschat.chat import window as chat
from smschat.messaging import inbound

from .test_pages import _as, app


def _html(at) -> str:
    return " ".join(h.proto.body for h in at.get("html"))


def test_inbox_page_lists_waiting_conversations_and_assigns(db_url, session, project, agent, marie):
    inbound.receive_sms(session, project, "+17033996500", "<b>help</b> [me](http://x)")
    session.commit()
    at = _as(app("pages/inbox.py"), agent, project).run()
    assert not at.exception and not at.error
    html = _html(at)
    assert "&lt;b&gt;help&lt;/b&gt; [me](http://x)" in html and "waiting under a minute" in html
    assert f"data-contact='{marie.id}'" in html and "unassigned" in html
    at.button(key=f"mine_{marie.id}").click().run()
    assert not at.exception and not at.error
    assert inbox.assignee(session, Actor.web(agent.id), project.id, marie.id).username == "amy"
    assert "assigned to Amy" in _html(at)
    at.segmented_control(key="inbox_show").set_value("unassigned").run()
    assert f"data-contact='{marie.id}'" not in _html(at)


def test_chat_page_inserts_a_quick_reply_and_keeps_a_note(db_url, session, project, agent, sam, marie):
    reply = quickreplies.save_quick_reply(session, Actor.web(sam.id), project.id, "Greet", "Hi {first_name}, {project} here")
    session.commit()
    at = _as(app("pages/chat.py"), agent, project)
    at.query_params["contact"] = str(marie.id)
    at.run()
    assert not at.exception and "Unassigned" in _html(at)
    at.selectbox(key=f"quick_{marie.id}").set_value(reply.id).run()
    assert not at.exception and not at.error
    assert at.text_area(key=f"body_{marie.id}").value == "Hi marie, Test Project here"
    at.text_area(key=f"body_{marie.id}").input("Asked about the clinic: call Monday")
    at.button(key=f"note_{marie.id}").click().run()
    assert not at.exception and not at.error
    assert at.text_area(key=f"body_{marie.id}").value == ""
    [line] = chat.get_history(session, project.id, marie.id)
    assert (line.sender, line.direction, line.status) == ("Note by Amy", "note", "note")


def test_settings_page_refuses_an_unknown_placeholder_and_adds_a_quick_reply(db_url, session, project, sam):
    at = _as(app("pages/settings.py"), sam, project, role="supervisor").run()
    at.text_input(key="quick_reply_title").input("Hours")
    at.text_area(key="quick_reply_body").input("Hello {frist_name}")
    at.button(key="FormSubmitter:quick_reply_new-Add quick reply").click().run()
    assert any(e.value.startswith("Unknown placeholder \\{frist\\_name\\}") for e in at.error)  # shown literally
    assert at.text_area(key="quick_reply_body").value == "Hello {frist_name}"  # the text stays
    assert quickreplies.list_quick_replies(session, Actor.web(sam.id), project.id) == []
    at.text_area(key="quick_reply_body").input("Hello {first_name}")
    at.button(key="FormSubmitter:quick_reply_new-Add quick reply").click().run()
    assert not at.exception and not at.error
    assert at.text_area(key="quick_reply_body").value == ""  # emptied after the save
    session.rollback()  # a fresh snapshot
    assert [(r.title, r.body) for r in quickreplies.list_quick_replies(session, Actor.web(sam.id), project.id)] == [
        ("Hours", "Hello {first_name}")]


def test_contacts_page_shows_the_assignee_and_links_to_the_inbox(db_url, session, project, agent, marie):
    inbox.assign_to_me(session, Actor.web(agent.id), project.id, marie.id)
    session.commit()
    at = _as(app("pages/contacts.py"), agent, project).run()
    assert not at.exception
    assert list(at.dataframe[0].value["Assigned to"]) == ["Amy"]
    assert any("[Waiting replies](inbox)" in m.value for m in at.markdown)
    analyst = auth.create_user(session, "ana", "long enough pw", project=project, role="analyst")
    session.commit()
    at = _as(app("pages/contacts.py"), analyst, project, role="analyst").run()
    assert not at.exception and not any("Waiting replies" in m.value for m in at.markdown)
