from datetime import timedelta

import pytest

from smschat.accounts import auth
from smschat.accounts.actor import Actor
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
    from smschat.accounts import projects

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
    ws.expires_at = ws.expires_at - auth.session_idle() - timedelta(seconds=1)
    session.commit()
    assert auth.resume_web_session(session, token) is None
    token2 = auth.start_web_session(session, agent.id, project.id)
    auth.end_web_session(session, token2)
    assert auth.resume_web_session(session, token2) is None


def test_disabled_user_loses_their_browser_session(session, project, agent):
    token = auth.start_web_session(session, agent.id, project.id)
    auth.set_active(session, "amy", False)
    assert auth.resume_web_session(session, token) is None


# The login throttle is tested in tests/test_security_accounts.py.


def test_logins_and_user_changes_are_audited_for_admins_of_that_project(session, project, agent):
    from smschat.accounts import audit, projects

    other = projects.create_project(session, "other", "Other")
    stranger = auth.create_user(session, "zed", "long enough pw", project=other)
    auth.authenticate(session, "amy", "correct horse battery", address="10.0.0.1")
    auth.authenticate(session, "zed", "long enough pw")
    auth.set_active(session, "amy", False, actor=Actor.web(stranger.id))
    session.commit()
    events = audit.list_events(session, project.id)
    logins = [(e.action, e.username) for e in events if e.action == audit.LOGIN]
    assert logins == [("login", "amy")]  # zed's login belongs to another project
    changes = [e.detail for e in events if e.action == audit.USER_CHANGED]
    assert {"user": "amy", "change": "created"} in changes
    assert {"user": "amy", "change": "role", "role": "agent"} in changes


def test_an_active_session_slides_forward_but_is_written_at_most_once_a_minute(session, project, agent):
    token = auth.start_web_session(session, agent.id, project.id)
    session.commit()
    ws = session.query(WebSession).one()
    assert auth.live_web_session(session, token) is ws and not auth.needs_touch(ws)
    ws.last_seen_at -= timedelta(minutes=5)
    ws.expires_at -= timedelta(minutes=5)
    old_expiry = ws.expires_at
    assert auth.needs_touch(ws)
    auth.resume_web_session(session, token)
    assert ws.expires_at > old_expiry and not auth.needs_touch(ws)


def test_an_expired_session_is_not_live_even_if_the_browser_keeps_the_cookie(session, project, agent):
    token = auth.start_web_session(session, agent.id, project.id)
    ws = session.query(WebSession).one()
    ws.expires_at = ws.last_seen_at  # idle for the whole timeout
    session.commit()
    assert auth.live_web_session(session, token) is None
    assert auth.resume_web_session(session, token) is None
