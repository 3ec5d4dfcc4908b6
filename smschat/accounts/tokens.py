"""Random tokens handed to a browser (login sessions, remembered browsers): only their hash
is stored, so a copy of the database logs nobody in."""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
