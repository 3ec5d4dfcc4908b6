import pytest

from smschat.accounts import access, auth, projects
from smschat.accounts.access import Action
from smschat.errors import PermissionDenied
from smschat.models import Role

EXPECTED = {
    Role.AGENT: {Action.VIEW_CONTACTS, Action.CHAT, Action.SIMULATE},
    Role.ANALYST: {Action.VIEW_CONTACTS, Action.VIEW_LOG, Action.EXPORT},
    Role.SUPERVISOR: {Action.VIEW_CONTACTS, Action.CHAT, Action.SIMULATE, Action.VIEW_LOG, Action.EXPORT,
                      Action.CHANGE_SETTINGS, Action.MANAGE_CONTACTS, Action.MANAGE_AUTOMATION},
    Role.ADMIN: set(Action),
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(Action))
def test_role_allows_exactly_its_actions_in_its_own_project_only(session, project, role, action):
    other = projects.create_project(session, "other", "Other")
    user = auth.create_user(session, f"u-{role.value}", "long enough pw", project=project, role=role)
    if action in EXPECTED[role]:
        assert access.require(session, user.id, project.id, action) == role
    else:
        with pytest.raises(PermissionDenied, match=f"Your role \\({role.value}\\) cannot"):
            access.require(session, user.id, project.id, action)
    with pytest.raises(PermissionDenied, match="You do not have access to this project"):
        access.require(session, user.id, other.id, action)


def test_no_user_has_no_access(session, project):
    with pytest.raises(PermissionDenied):
        access.require(session, None, project.id, Action.VIEW_CONTACTS)
