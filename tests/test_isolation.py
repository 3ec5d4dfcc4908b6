"""Project isolation and hostile input in search boxes."""

import pytest
from sqlalchemy import func, select

from smschat import chat, contacts, projects
from smschat.errors import ContactNotFound
from smschat.models import Contact

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
    assert contacts.list_contacts(session, project.id, search=text) == []
    assert contacts.count_contacts(session, project.id, search=text) == 0
    assert session.scalar(select(func.count()).select_from(Contact)) == before


def test_listing_never_shows_another_projects_contacts(session, project, marie, other_project):
    assert [r.name for r in contacts.list_contacts(session, project.id)] == ["marie"]
    assert [r.name for r in contacts.list_contacts(session, project.id, search="foreign")] == []


def test_a_foreign_contact_id_is_refused_like_a_missing_one(session, project, agent, marie, other_project):
    foreign = session.scalar(select(Contact.id).where(Contact.project_id == other_project.id))
    with pytest.raises(ContactNotFound, match="No such contact in this project"):
        chat.send_chat_message(session, project.id, foreign, agent.id, "hello")
    with pytest.raises(ContactNotFound, match="No such contact in this project"):
        chat.get_history(session, project.id, foreign)
