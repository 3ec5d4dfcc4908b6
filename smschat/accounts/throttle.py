"""The login throttle: a bounded number of password guesses per account, without locking the
real user out because of someone else's failures.

Every login attempt draws on budgets, one row each in `login_throttle` (numbers in config.py):
- `addr:` one account from one address: `login_free_failures` failures free, then a wait
  before the next try that doubles (from `login_delay_seconds` up to `login_max_delay_seconds`);
  it forgets after `login_window_minutes` without an attempt. Guessing from one address slows
  that address down, nobody else's.
- `acct:` one account from every address that is neither a remembered browser nor an address
  the account logged in from before: at most `login_account_max_failures` per window.
- `dev:` a remembered browser (the `smschat_device` cookie, set after a successful login):
  its own `login_device_max_failures` per window and nothing else, so an attack elsewhere
  never reaches the user's own browser.

The attempt is reserved, counted and committed in a short transaction of its own with the
rows locked, before the password is checked: parallel guesses cannot go past a budget. A
successful login gives its reservation back. Unknown usernames are counted the same way, so
the answers say nothing about which accounts exist.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from smschat.accounts import audit
from smschat.accounts.tokens import token_hash
from smschat.config import get_settings
from smschat.errors import LoginThrottled
from smschat.models import AuditEvent, LoginDevice, LoginThrottle, WebUser, utcnow

# The time the throttle reads; tests set it instead of sleeping.
clock: Callable[[], datetime] = utcnow

# How long a remembered browser, and an address the account logged in from, stay known
# (the login route gives the device cookie the same max-age).
DEVICE_DAYS = 90

T = TypeVar("T")
_throttle = LoginThrottle.__table__


@dataclass(frozen=True)
class Reservation:
    keys: tuple[str, ...]
    device_id: int | None


def reserve(session: Session, username: str, address: str | None, device: str | None) -> Reservation:
    """Count one attempt against its budgets, or raise LoginThrottled (nothing counted)."""
    now = clock()
    settings = get_settings()

    def work(conn: Connection) -> tuple[Reservation, int]:
        device_id = _device_of(conn, username, device, now)
        if device_id is not None:
            keys = [f"dev:{device_id}"]
        else:
            keys = [f"addr:{username}\n{(address or '')[:64]}"]
            if not _usual_address(conn, username, address, now):
                keys.append(f"acct:{username}")
        rows = _lock(conn, sorted(keys), now)
        fresh = {k: _current(k, rows[k], now, settings) for k in keys}
        wait = max(_wait(k, *fresh[k], now, settings) for k in keys)
        if wait <= 0:
            for k, (attempts, window_start, _last) in fresh.items():
                conn.execute(update(_throttle).where(_throttle.c.key == k)
                             .values(attempts=attempts + 1, window_start=window_start, last_at=now))
        return Reservation(tuple(keys), device_id), wait

    reservation, wait = _own_transaction(session, work)
    if wait > 0:
        raise LoginThrottled(f"Too many failed logins. Try again in {_say(wait)}.", retry_after=wait)
    return reservation


def release(session: Session, reservation: Reservation) -> None:
    """After a successful login: this address or browser starts afresh, and the account
    budget gets the attempt back. Budgets quiet for a whole window are forgotten."""
    now = clock()
    window = timedelta(minutes=get_settings().login_window_minutes)

    def work(conn: Connection) -> None:
        for key in reservation.keys:
            if key.startswith("acct:"):
                conn.execute(update(_throttle).where(_throttle.c.key == key, _throttle.c.attempts > 0)
                             .values(attempts=_throttle.c.attempts - 1))
            else:
                conn.execute(delete(_throttle).where(_throttle.c.key == key))
        conn.execute(delete(_throttle).where(_throttle.c.last_at < now - window))

    # Committed at once too: the caller's open transaction must not keep these rows locked
    # while the next login of the same account waits on them.
    _own_transaction(session, work)


def remember(session: Session, user_id: int, token: str) -> None:
    now = clock()
    session.execute(delete(LoginDevice).where(LoginDevice.user_id == user_id,
                                              LoginDevice.created_at < now - timedelta(days=DEVICE_DAYS)))
    session.add(LoginDevice(user_id=user_id, token_hash=token_hash(token), created_at=now))
    session.flush()


def _own_transaction(session: Session, work: Callable[[Connection], T]) -> T:
    bind = session.get_bind()
    if bind.dialect.name == "sqlite":
        if session.in_transaction():
            # The caller's transaction may already hold SQLite's one write lock, which a second
            # connection would wait on; writers are serialized by that lock, so counting inside
            # it is just as atomic (and the caller commits, also when the login fails).
            return work(session.connection())
        bind = bind.execution_options(sqlite_begin="IMMEDIATE")
    with bind.connect() as conn, conn.begin():
        return work(conn)


def _device_of(conn: Connection, username: str, device: str | None, now: datetime) -> int | None:
    """The remembered browser behind a cookie if it is this user's and not expired; an
    unknown, forged or another user's value counts as no device."""
    if not isinstance(device, str) or not device:
        return None
    return conn.scalar(
        select(LoginDevice.id).join(WebUser, WebUser.id == LoginDevice.user_id)
        .where(LoginDevice.token_hash == token_hash(device), WebUser.username == username,
               LoginDevice.created_at > now - timedelta(days=DEVICE_DAYS))
    )


def _usual_address(conn: Connection, username: str, address: str | None, now: datetime) -> bool:
    if not address:
        return False
    return conn.scalar(
        select(AuditEvent.id).where(AuditEvent.action == audit.LOGIN, AuditEvent.username == username,
                                    AuditEvent.address == address[:64],
                                    AuditEvent.at > now - timedelta(days=DEVICE_DAYS)).limit(1)
    ) is not None


def _lock(conn: Connection, keys: list[str], now: datetime) -> dict[str, tuple[int, datetime, datetime]]:
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    for key in keys:
        conn.execute(insert(_throttle).values(key=key, attempts=0, window_start=now, last_at=now)
                     .on_conflict_do_nothing(index_elements=["key"]))
    # Keys in one order, so two logins never wait on each other's rows (PostgreSQL); SQLite's
    # IMMEDIATE transaction already holds the whole database.
    rows = conn.execute(select(_throttle).where(_throttle.c.key.in_(keys)).order_by(_throttle.c.key)
                        .with_for_update())
    return {r.key: (r.attempts, r.window_start, r.last_at) for r in rows}


def _current(key: str, row: tuple[int, datetime, datetime], now: datetime, settings) -> tuple[int, datetime, datetime]:
    """The budget as it stands now: a window that has passed starts again from nothing."""
    attempts, window_start, last_at = row
    window = timedelta(minutes=settings.login_window_minutes)
    # Address budgets forget after a quiet window (so steady guessing stays slow); the
    # others count in fixed windows.
    since = last_at if key.startswith("addr:") else window_start
    if since <= now - window:
        return 0, now, last_at
    return attempts, window_start, last_at


def _wait(key: str, attempts: int, window_start: datetime, last_at: datetime, now: datetime, settings) -> int:
    """Seconds until this budget allows another attempt (0: now)."""
    if key.startswith("addr:"):
        if attempts < settings.login_free_failures:
            return 0
        delay = min(settings.login_max_delay_seconds,
                    settings.login_delay_seconds * 2 ** min(attempts - settings.login_free_failures, 30))
        until = last_at + timedelta(seconds=delay)
    else:
        ceiling = settings.login_device_max_failures if key.startswith("dev:") else settings.login_account_max_failures
        if attempts < ceiling:
            return 0
        until = window_start + timedelta(minutes=settings.login_window_minutes)
    return max(0, math.ceil((until - now).total_seconds()))


def _say(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"
