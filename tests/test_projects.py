"""Admins manage projects and sender numbers; every change is audited."""

import pytest

from smschat.accounts import audit, auth, projects
from smschat.accounts.actor import Actor
from smschat.errors import InvalidPhoneNumber, PermissionDenied, ValidationError


@pytest.fixture
def admin(session, project):
    user = auth.create_user(session, "root", "long enough pw", project=project, role="admin")
    session.commit()
    return user


def test_creating_a_project_makes_the_creating_admin_its_admin(session, project, admin):
    row = projects.add_project(session, Actor.web(admin.id), project.id, "kenya", "Kenya pilot", time_zone="Africa/Nairobi",
                               default_region="ke", sender_numbers=["0712 000 111"])
    assert (row.slug, row.name, row.time_zone, row.default_region, row.sender_numbers) == (
        "kenya", "Kenya pilot", "Africa/Nairobi", "KE", ["+254712000111"])
    assert auth.role_in(session, admin.id, row.id) == "admin"
    assert [p.slug for p in projects.managed_projects(session, Actor.web(admin.id))] == ["kenya", "test"]


def test_managed_projects_lists_only_those_the_user_administers(session, project, admin, agent):
    other = projects.create_project(session, "other", "Other")
    auth.set_role(session, agent, other, "admin")
    assert [p.slug for p in projects.managed_projects(session, Actor.web(agent.id))] == ["other"]  # agent in "test"
    assert [p.slug for p in projects.managed_projects(session, Actor.web(admin.id))] == ["test"]


def test_rename_time_zone_region_and_bad_values(session, project, admin):
    assert projects.rename_project(session, Actor.web(admin.id), project.id, "  Renamed ").name == "Renamed"
    assert projects.set_time_zone(session, Actor.web(admin.id), project.id, "Africa/Dakar").time_zone == "Africa/Dakar"
    assert projects.set_default_region(session, Actor.web(admin.id), project.id, "sn").default_region == "SN"
    with pytest.raises(ValidationError, match="needs a name"):
        projects.rename_project(session, Actor.web(admin.id), project.id, " ")
    with pytest.raises(ValidationError, match="Unknown time zone"):
        projects.set_time_zone(session, Actor.web(admin.id), project.id, "Mars/Olympus")
    with pytest.raises(InvalidPhoneNumber, match="Unknown region"):
        projects.set_default_region(session, Actor.web(admin.id), project.id, "XX")


def test_a_sender_number_belongs_to_one_project_only(session, project, admin):
    other = projects.add_project(session, Actor.web(admin.id), project.id, "other", "Other")
    assert projects.add_sender_number(session, Actor.web(admin.id), other.id, "(500) 555-0007").sender_numbers == ["+15005550007"]
    with pytest.raises(ValidationError, match=r"\+15005550007 is already the sender number of another project"):
        projects.add_sender_number(session, Actor.web(admin.id), project.id, "+1 500 555 0007")
    with pytest.raises(ValidationError, match="already the sender number of another project"):
        projects.create_project(session, "third", "Third", sender_numbers=["+15005550006"])
    with pytest.raises(InvalidPhoneNumber):
        projects.add_sender_number(session, Actor.web(admin.id), project.id, "12")
    # Adding it again to its own project changes nothing; removing frees it.
    assert projects.add_sender_number(session, Actor.web(admin.id), other.id, "+15005550007").sender_numbers == ["+15005550007"]
    assert projects.remove_sender_number(session, Actor.web(admin.id), other.id, "+15005550007").sender_numbers == []
    assert "+15005550007" in projects.add_sender_number(session, Actor.web(admin.id), project.id, "+15005550007").sender_numbers
    assert projects.project_for_number(session, "+15005550007").id == project.id


def test_project_changes_are_audited_for_that_projects_admins(session, project, admin):
    projects.rename_project(session, Actor.web(admin.id), project.id, "Renamed")
    projects.add_sender_number(session, Actor.web(admin.id), project.id, "+15005550009")
    projects.set_time_zone(session, Actor.web(admin.id), project.id, "UTC")
    session.commit()
    events = [(e.action, e.username, e.detail) for e in audit.list_events(session, project.id)
              if e.action == audit.PROJECT_CHANGED]
    assert events == [
        ("project_changed", "root", {"project": "test", "change": "time_zone", "old": "America/New_York", "new": "UTC"}),
        ("project_changed", "root", {"project": "test", "change": "sender_added", "number": "+15005550009"}),
        ("project_changed", "root", {"project": "test", "change": "name", "old": "Test Project", "new": "Renamed"}),
    ]


def test_an_admin_of_one_project_cannot_change_another(session, project, admin):
    other = projects.create_project(session, "other", "Other")
    with pytest.raises(PermissionDenied, match="You do not have access to this project"):
        projects.rename_project(session, Actor.web(admin.id), other.id, "Mine now")
    with pytest.raises(PermissionDenied):
        projects.managed_project(session, Actor.web(admin.id), other.id)
