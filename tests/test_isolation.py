"""Project isolation and hostile input in search boxes."""

import pytest
from sqlalchemy import func, select

from smschat.accounts import projects
from smschat.accounts.actor import Actor
from smschat.chat import window as chat
from smschat.errors import ContactNotFound
from smschat.models import Contact
from smschat.people import contacts

HOSTILE = ["'; DROP TABLE contact; --", "\" OR 1=1 --", "%' OR '1'='1", "_", "\\", "marie' UNION SELECT 1,2,3,4 --"]


@pytest.fixture
def other_project(session):
    other = projects.create_project(session, "other", "Other")
    c = contacts.create_contact(session, other, "case", "foreign case")
    contacts.register_phone(session, other, c, "+254799999999")
    session.commit()
    return other


@pytest.mark.parametrize("text", HOSTILE)
def test_injection_attempts_in_contact_search_change_nothing_and_find_nothing(session, project, marie, other_project, text):
    before = session.scalar(select(func.count()).select_from(Contact))
    assert contacts._list_contacts(session, project.id, search=text) == []
    assert contacts.count_contacts(session, project.id, search=text) == 0
    assert session.scalar(select(func.count()).select_from(Contact)) == before


def test_listing_never_shows_another_projects_contacts(session, project, marie, other_project):
    assert [r.name for r in contacts._list_contacts(session, project.id)] == ["marie"]
    assert [r.name for r in contacts._list_contacts(session, project.id, search="foreign")] == []


def test_a_foreign_contact_id_is_refused_like_a_missing_one(session, project, agent, marie, other_project):
    foreign = session.scalar(select(Contact.id).where(Contact.project_id == other_project.id))
    with pytest.raises(ContactNotFound, match="No such contact in this project"):
        chat.send_chat_message(session, project.id, foreign, agent.id, "hello")
    with pytest.raises(ContactNotFound, match="No such contact in this project"):
        chat.get_history(session, project.id, foreign)


# --- every search and filter box of the Contacts, Chat and Web users pages -----------------


def _table_counts(session) -> dict[str, int]:
    from smschat.models import Base

    return {t.name: session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}


def _boxes(session, user_id, project_id, text):
    """Each box of the pages, through the checked entry point the page calls, filled with `text`.
    Yields (box, outcome): the rows it returned, or the SmsChatError it was refused with."""
    from smschat.accounts import users
    from smschat.errors import SmsChatError
    from smschat.messaging import simulator

    calls = {
        "Contacts / Search": lambda: contacts.browse(session, Actor.web(user_id), project_id, search=text).rows,
        "Contacts / Search, unread only": lambda: contacts.browse(session, Actor.web(user_id), project_id, search=text,
                                                                  unread_only=True).rows,
        "Contacts / Contact Type": lambda: contacts.browse(session, Actor.web(user_id), project_id, kind=text).rows,
        "Contacts / Sort by": lambda: contacts.browse(session, Actor.web(user_id), project_id, sort=text).rows,
        "Chat / Find a contact": lambda: chat.find_contacts(session, Actor.web(user_id), project_id, text),
        "Chat / ?contact=": lambda: chat.open_window(session, Actor.web(user_id), project_id, text),
        "Chat / Message History": lambda: chat.window_history(session, Actor.web(user_id), project_id, marie_id(session, project_id),
                                                              range_name=text),
        "Phone simulator / Phone": lambda: simulator.thread(session, Actor.web(user_id), project_id, text),
        "Web users / What": lambda: users.audit_trail(session, Actor.web(user_id), project_id, action=text),
        "Web users / Who": lambda: users.audit_trail(session, Actor.web(user_id), project_id, username=text),
    }
    for box, call in calls.items():
        try:
            yield box, call()
        except SmsChatError as exc:
            yield box, exc
        session.rollback()


def marie_id(session, project_id):
    return session.scalar(select(Contact.id).where(Contact.project_id == project_id, Contact.name == "marie"))


@pytest.mark.parametrize("text", HOSTILE)
def test_injection_attempts_in_every_search_and_filter_box_change_nothing_and_return_no_foreign_rows(
        session, project, marie, other_project, text):
    from smschat.accounts import auth
    from smschat.messaging import inbound

    admin = auth.create_user(session, "root", "long enough pw", project=project, role="admin")
    inbound.receive_sms(session, other_project, "+254799999999", "foreign secret")
    session.commit()
    before = _table_counts(session)
    for box, outcome in _boxes(session, admin.id, project.id, text):
        shown = repr(outcome)
        assert "foreign" not in shown, f"{box}: {shown}"
        if isinstance(outcome, list):
            names = {getattr(r, "name", None) for r in outcome} - {None}
            assert names <= {"marie"}, f"{box}: {names}"
        # Typed input never reaches SQL as code: bound parameters only, so nothing changed.
        assert _table_counts(session) == before, box
    assert [r.name for r in contacts.browse(session, Actor.web(admin.id), project.id).rows] == ["marie"]
