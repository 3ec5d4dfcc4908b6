from datetime import timedelta

import pytest

from smschat import auth
from smschat.errors import AuthError, PermissionDenied, ValidationError
from smschat.models import WebSession


def test_password_is_stored_as_argon2_and_verifies(session, project, agent):
    assert agent.password_hash.startswith("$argon2")
    assert auth.authenticate(session, "amy", "correct horse battery").id == agent.id


@pytest.mark.parametrize("username,password", [("amy", "wrong password"), ("nobody", "whatever")])
def test_failed_login_never_says_whether_the_user_exists(session, project, agent, username, password):
    with pytest.raises(AuthError) as exc:
        auth.authenticate(session, username, password)
    assert str(exc.value) == "Wrong username or password."


def test_disabled_user_cannot_log_in(session, project, agent):
    auth.set_active(session, "amy", False)
    with pytest.raises(AuthError):
        auth.authenticate(session, "amy", "correct horse battery")


def test_bad_user_input_is_refused(session, project, agent):
    with pytest.raises(ValidationError):
        auth.create_user(session, "x y", "long enough pw")
    with pytest.raises(ValidationError):
        auth.create_user(session, "bo", "short")
    with pytest.raises(ValidationError, match="taken"):
        auth.create_user(session, "amy", "long enough pw")
    with pytest.raises(ValidationError, match="Unknown role"):
        auth.create_user(session, "bo", "long enough pw", project=project, role="king")


def test_role_is_per_project(session, project, agent):
    from smschat import projects

    other = projects.create_project(session, "other", "Other")
    assert auth.role_in(session, agent.id, project.id) == "agent"
    with pytest.raises(PermissionDenied):
        auth.role_in(session, agent.id, other.id)


def test_browser_session_resumes_until_it_ends_or_expires(session, project, agent):
    token = auth.start_web_session(session, agent.id, project.id)
    session.commit()
    assert auth.resume_web_session(session, token).user_id == agent.id
    assert auth.resume_web_session(session, "forged") is None
    ws = session.query(WebSession).one()
    ws.expires_at = ws.expires_at - auth.SESSION_IDLE - timedelta(seconds=1)
    session.commit()
    assert auth.resume_web_session(session, token) is None
    token2 = auth.start_web_session(session, agent.id, project.id)
    auth.end_web_session(session, token2)
    assert auth.resume_web_session(session, token2) is None


def test_disabled_user_loses_their_browser_session(session, project, agent):
    token = auth.start_web_session(session, agent.id, project.id)
    auth.set_active(session, "amy", False)
    assert auth.resume_web_session(session, token) is None
