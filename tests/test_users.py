import pytest

from smschat.accounts import auth, projects, users
from smschat.accounts.actor import Actor
from smschat.errors import AuthError, PermissionDenied, UserNotFound, ValidationError


@pytest.fixture
def admin(session, project):
    user = auth.create_user(session, "root", "long enough pw", project=project, role="admin")
    session.commit()
    return user


def test_admin_adds_changes_and_disables_users_of_their_project(session, project, admin, agent):
    users.add_user(session, Actor.web(admin.id), project.id, "kim", "long enough pw", first_name="Kim", role="analyst")
    users.change_role(session, Actor.web(admin.id), project.id, "amy", "supervisor")
    users.set_active(session, Actor.web(admin.id), project.id, "kim", False)
    session.commit()
    rows = {r.username: (r.role, r.active) for r in users.project_users(session, Actor.web(admin.id), project.id)}
    assert rows == {"amy": ("supervisor", True), "kim": ("analyst", False), "root": ("admin", True)}
    trail = users.audit_trail(session, Actor.web(admin.id), project.id)
    assert any(e.action == "user_changed" and e.username == "root" and e.detail.get("change") == "disabled" for e in trail)


def test_an_agent_cannot_manage_users(session, project, agent):
    with pytest.raises(PermissionDenied):
        users.add_user(session, Actor.web(agent.id), project.id, "kim", "long enough pw")
    with pytest.raises(PermissionDenied):
        users.project_users(session, Actor.web(agent.id), project.id)


def test_an_admin_cannot_touch_users_of_another_project(session, project, admin):
    other = projects.create_project(session, "other", "Other")
    auth.create_user(session, "zed", "long enough pw", project=other)
    with pytest.raises(UserNotFound, match="No such web user in this project"):
        users.set_active(session, Actor.web(admin.id), project.id, "zed", False)
    with pytest.raises(PermissionDenied):
        users.project_users(session, Actor.web(admin.id), other.id)


def test_bad_new_user_input_changes_nothing(session, project, admin):
    with pytest.raises(ValidationError):
        users.add_user(session, Actor.web(admin.id), project.id, "kim", "short")
    session.rollback()
    assert [r.username for r in users.project_users(session, Actor.web(admin.id), project.id)] == ["root"]


def test_audit_trail_filters_by_kind_of_event_and_by_user(session, project, agent):
    from smschat.accounts import audit, auth, projects, users

    admin = auth.create_user(session, "root", "long enough pw", project=project, role="admin")
    auth.authenticate(session, "amy", "correct horse battery")
    with pytest.raises(AuthError):
        auth.authenticate(session, "amy", "wrong password")
    auth.authenticate(session, "root", "long enough pw")
    projects.rename_project(session, Actor.web(admin.id), project.id, "Renamed")
    session.commit()
    kinds, names = users.audit_filters(session, Actor.web(admin.id), project.id)
    assert {"login", "login_failed", "user_changed", "project_changed"} <= set(kinds)
    assert {"amy", "root"} <= set(names)
    amy_logins = users.audit_trail(session, Actor.web(admin.id), project.id, action=audit.LOGIN, username="amy")
    assert [(e.action, e.username) for e in amy_logins] == [("login", "amy")]
    roots = users.audit_trail(session, Actor.web(admin.id), project.id, username="root")
    assert {e.action for e in roots} == {"login", "project_changed"}
    assert [e.action for e in users.audit_trail(session, Actor.web(admin.id), project.id, action="project_changed")] == [
        "project_changed"]
    assert users.audit_trail(session, Actor.web(admin.id), project.id, username="' OR 1=1 --") == []
