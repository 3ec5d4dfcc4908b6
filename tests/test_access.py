import pytest

from smschat.accounts import access, auth, projects
from smschat.accounts.access import Action
from smschat.accounts.actor import OPERATOR, Actor
from smschat.errors import PermissionDenied
from smschat.models import Role

EXPECTED = {
    Role.AGENT: {Action.VIEW_CONTACTS, Action.CHAT, Action.SIMULATE},
    Role.ANALYST: {Action.VIEW_CONTACTS, Action.VIEW_LOG, Action.EXPORT},
    Role.SUPERVISOR: {Action.VIEW_CONTACTS, Action.CHAT, Action.SIMULATE, Action.VIEW_LOG, Action.EXPORT,
                      Action.CHANGE_SETTINGS, Action.MANAGE_CONTACTS, Action.MANAGE_AUTOMATION}
    | {Action.RETRY_STUCK},
    Role.ADMIN: set(Action),
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(Action))
def test_role_allows_exactly_its_actions_in_its_own_project_only(session, project, role, action):
    other = projects.create_project(session, "other", "Other")
    user = auth.create_user(session, f"u-{role.value}", "long enough pw", project=project, role=role)
    if action in EXPECTED[role]:
        assert access.require(session, Actor.web(user.id), project.id, action) == role
    else:
        with pytest.raises(PermissionDenied, match=f"Your role \\({role.value}\\) cannot"):
            access.require(session, Actor.web(user.id), project.id, action)
    with pytest.raises(PermissionDenied, match="You do not have access to this project"):
        access.require(session, Actor.web(user.id), other.id, action)


@pytest.mark.parametrize("action", list(Action))
def test_the_operator_acts_as_an_admin_of_every_project(session, project, action):
    other = projects.create_project(session, "other", "Other")
    for pid in (project.id, other.id):
        assert access.require(session, OPERATOR, pid, action) == Role.ADMIN
        assert access.require(session, Actor.command_line(), pid, action) == Role.ADMIN


# A user id, no user at all, a username: a programming error, never a pass or a quiet refusal.
@pytest.mark.parametrize("value", [1, None, "root", True, {"user_id": 1}])
def test_anything_but_an_actor_is_a_programming_error(session, project, value):
    with pytest.raises(TypeError, match="must be an Actor"):
        access.require(session, value, project.id, Action.VIEW_CONTACTS)


def test_a_web_user_without_a_role_in_the_project_has_no_access(session, project):
    with pytest.raises(PermissionDenied, match="You do not have access to this project"):
        access.require(session, Actor.web(987654), project.id, Action.VIEW_CONTACTS)
