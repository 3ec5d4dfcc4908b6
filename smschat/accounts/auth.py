"""Web users, their passwords (argon2) and their role in each project."""

from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

from smschat.accounts import audit, throttle
from smschat.accounts.actor import OPERATOR, Actor
from smschat.accounts.tokens import new_token, token_hash
from smschat.config import get_settings
from smschat.errors import (
    AuthError,
    LoginThrottled,
    PermissionDenied,
    UserNotFound,
    ValidationError,
)
from smschat.models import Membership, Project, Role, WebSession, WebUser, utcnow
from smschat.text import clean

# Hasher parameters per SMSCHAT_PASSWORD_HASHER; "fast" exists for the test suite only.
HASHERS = {
    "argon2": {},  # argon2-cffi's defaults (RFC 9106, low-memory profile)
    "fast": {"time_cost": 1, "memory_cost": 8, "parallelism": 1},
}
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@+-]{1,150}\Z")
MIN_PASSWORD_LENGTH = 10
# zxcvbn's score (0-4): below 3 is a common password, or a small variation of one.
MIN_PASSWORD_SCORE = 3


@cache
def _hashing(name: str) -> tuple[PasswordHasher, str]:
    """The configured hasher, and a hash of its own cost to verify against when the username
    is unknown, so both paths cost the same."""
    hasher = PasswordHasher(**HASHERS[name])
    return hasher, hasher.hash("not-a-real-password")


def _hasher() -> PasswordHasher:
    return _hashing(get_settings().password_hasher)[0]


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def check_password(password: str, username: str = "") -> None:
    """ValidationError with a one-line reason unless the password is acceptable."""
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"A password has at least {MIN_PASSWORD_LENGTH} characters.")
    if any(unicodedata.category(c) == "Cc" for c in password):
        raise ValidationError("A password cannot contain control characters (such as a tab or a line break).")
    # zxcvbn refuses more than 72 characters; what follows cannot make a password weaker.
    result = zxcvbn(password[:72], user_inputs=[username] if username else None)
    if result["score"] < MIN_PASSWORD_SCORE:
        warning = (result["feedback"].get("warning") or "").strip().rstrip(".")
        because = f" ({warning})" if warning else ""
        raise ValidationError(f"This password is too easy to guess{because}; try a few unrelated words.")


def parse_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise ValidationError(f"Unknown role {role!r}; use one of {allowed}.") from None


def create_user(
    session: Session,
    username: str,
    password: str,
    *,
    first_name: str = "",
    project: Project | None = None,
    role: str | Role | None = None,
    actor: Actor = OPERATOR,
    site_admin: bool = False,
) -> WebUser:
    if not USERNAME_RE.match(username or ""):
        raise ValidationError("A username is 1-150 letters, digits or _.@+-")
    check_password(password, username)
    if session.scalar(select(WebUser.id).where(WebUser.username == username)) is not None:
        raise ValidationError(f"The username {username!r} is taken.")
    user = WebUser(username=username, first_name=clean(first_name or "").strip(), password_hash=hash_password(password),
                   is_site_admin=site_admin)
    session.add(user)
    session.flush()
    _audit_user(session, "created", user, actor, project, **({"site_admin": True} if site_admin else {}))
    if project is not None:
        set_role(session, user, project, role or Role.AGENT, actor=actor)
    return user


def _audit_user(session: Session, change: str, user: WebUser, actor: Actor, project: Project | None = None, **detail) -> None:
    audit.record(
        session, audit.USER_CHANGED, user_id=actor.user_id, project_id=project.id if project else None,
        detail={"user": user.username, "change": change, **detail},
    )


def set_role(session: Session, user: WebUser, project: Project, role: str | Role, *, actor: Actor = OPERATOR) -> Membership:
    role = parse_role(str(role))
    membership = session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.project_id == project.id)
    )
    if membership is None:
        membership = Membership(user_id=user.id, project_id=project.id, role=role.value)
        session.add(membership)
    else:
        membership.role = role.value
    session.flush()
    _audit_user(session, "role", user, actor, project, role=role.value)
    return membership


def get_user(session: Session, username: str) -> WebUser:
    user = session.scalar(select(WebUser).where(WebUser.username == username))
    if user is None:
        raise UserNotFound(f"No web user {username!r}.")
    return user


def set_password(session: Session, username: str, password: str, *, actor: Actor = OPERATOR) -> WebUser:
    check_password(password, username)
    user = get_user(session, username)
    user.password_hash = hash_password(password)
    session.flush()
    _audit_user(session, "password", user, actor)
    return user


def set_active(session: Session, username: str, active: bool, *, actor: Actor = OPERATOR) -> WebUser:
    user = get_user(session, username)
    user.is_active = active
    if not active:
        # A disabled user is logged out everywhere at once.
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    session.flush()
    _audit_user(session, "enabled" if active else "disabled", user, actor)
    return user


def set_site_admin(session: Session, username: str, site_admin: bool, *, actor: Actor = OPERATOR) -> WebUser:
    """Grant or take back site-wide admin rights (the command line's `users site-admin`)."""
    user = get_user(session, username)
    user.is_site_admin = site_admin
    session.flush()
    _audit_user(session, "site admin" if site_admin else "not site admin", user, actor)
    return user


def list_users(session: Session) -> list[tuple[WebUser, list[tuple[str, str]]]]:
    rows = []
    for user in session.scalars(select(WebUser).order_by(WebUser.username)):
        roles = [
            (slug, role)
            for slug, role in session.execute(
                select(Project.slug, Membership.role)
                .join(Membership, Membership.project_id == Project.id)
                .where(Membership.user_id == user.id)
                .order_by(Project.slug)
            )
        ]
        rows.append((user, roles))
    return rows


def authenticate(session: Session, username: str, password: str, *, address: str | None = None,
                 device: str | None = None) -> WebUser:
    """The user if the password is right; one message for every failure, whether the user
    exists or not. The attempt is counted against the login throttle (smschat/throttle.py)
    before the password is checked; `device` is the `smschat_device` cookie of a browser that
    logged in before. Failures are audited (the caller commits even when this raises)."""
    username = clean(username or "").strip()
    try:
        reservation = throttle.reserve(session, username, address, device)
    except LoginThrottled:
        audit.record(session, audit.LOGIN_THROTTLED, username=username, address=address)
        raise
    user = session.scalar(select(WebUser).where(WebUser.username == username))
    try:
        hasher, dummy = _hashing(get_settings().password_hasher)
        hasher.verify(user.password_hash if user else dummy, password or "")
        ok = user is not None and user.is_active
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        audit.record(session, audit.LOGIN_FAILED, username=username, address=address,
                     user_id=user.id if user else None)
        raise AuthError("Wrong username or password.")
    throttle.release(session, reservation)
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    audit.record(session, audit.LOGIN, user_id=user.id, username=user.username, address=address)
    return user


# The login route stores remember_device's value in this HttpOnly cookie, for this long.
DEVICE_COOKIE = "smschat_device"
DEVICE_COOKIE_MAX_AGE = throttle.DEVICE_DAYS * 24 * 3600


def remember_device(session: Session, user_id: int) -> str:
    """A token for the browser that just logged in as this user (the `smschat_device` cookie).
    On later logins from that browser the throttle gives it a budget of its own; only the
    token's hash is stored."""
    token = new_token()
    throttle.remember(session, user_id, token)
    return token


def memberships(session: Session, user_id: int) -> list[tuple[Project, str]]:
    rows = session.execute(
        select(Project, Membership.role)
        .join(Membership, Membership.project_id == Project.id)
        .where(Membership.user_id == user_id)
        .order_by(Project.name)
    )
    return [(project, role) for project, role in rows]


def role_in(session: Session, user_id: int, project_id: int) -> Role:
    role = session.scalar(
        select(Membership.role).where(Membership.user_id == user_id, Membership.project_id == project_id)
    )
    if role is None:
        raise PermissionDenied("You do not have access to this project.")
    return Role(role)


# --- browser sessions ---------------------------------------------------------------------

def session_idle() -> timedelta:
    return timedelta(minutes=get_settings().session_idle_minutes)


def start_web_session(session: Session, user_id: int, project_id: int | None) -> str:
    """A new login token; only its hash is stored."""
    token = new_token()
    now = utcnow()
    session.add(WebSession(token_hash=token_hash(token), user_id=user_id, project_id=project_id,
                           created_at=now, last_seen_at=now, expires_at=now + session_idle()))
    session.flush()
    return token


# A page run within this long of the last one does not write the session row again.
TOUCH_EVERY = timedelta(seconds=60)


def live_web_session(session: Session, token: str | None) -> WebSession | None:
    """The session behind a token if it is still live (not expired, not ended, user active).
    Reads only: the dashboard checks this on every run of a logged-in page."""
    if not isinstance(token, str) or not token:
        return None
    ws = session.scalar(select(WebSession).where(WebSession.token_hash == token_hash(token)))
    if ws is None or ws.expires_at <= utcnow():
        return None
    user = session.get(WebUser, ws.user_id)
    if user is None or not user.is_active:
        return None
    return ws


def needs_touch(ws: WebSession) -> bool:
    return utcnow() - ws.last_seen_at >= TOUCH_EVERY


def resume_web_session(session: Session, token: str | None) -> WebSession | None:
    """The live session behind a token (sliding expiry), or None: expired, ended, user disabled."""
    ws = live_web_session(session, token)
    if ws is None:
        return None
    now = utcnow()
    ws.last_seen_at = now
    ws.expires_at = now + session_idle()
    session.flush()
    return ws


def set_session_project(session: Session, token: str, project_id: int) -> None:
    ws = session.scalar(select(WebSession).where(WebSession.token_hash == token_hash(token)))
    if ws is not None:
        role_in(session, ws.user_id, project_id)
        ws.project_id = project_id
        session.flush()


def end_web_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(WebSession).where(WebSession.token_hash == token_hash(token)))


def log_out(session: Session, token: str | None) -> None:
    """End the session behind a token and audit the logout, once: a session already ended
    (by the other tab, or by the page before the browser reached /logout) changes nothing."""
    ws = live_web_session(session, token)
    if ws is None:
        return
    end_web_session(session, token)
    user = session.get(WebUser, ws.user_id)
    audit.record(session, audit.LOGOUT, user_id=ws.user_id, username=user.username if user else None)


def get_user_by_id(session: Session, user_id: int) -> WebUser:
    user = session.get(WebUser, user_id)
    if user is None:
        raise UserNotFound("No such web user.")
    return user
