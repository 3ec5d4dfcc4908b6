"""What one domain announces and a domain above it reacts to, without importing it.

A lower domain publishes a fact ("a project's time zone changed"); the module that owns the
reaction subscribes at import. `smschat.wiring` imports every subscribing module, and the
first publish in a process loads it, so no entry point can forget to."""

from __future__ import annotations

import importlib
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

# A project's time zone changed: handler(session, project_id=..., now=...), in the same
# transaction as the change.
TIME_ZONE_CHANGED = "time_zone_changed"

_handlers: dict[str, list[Callable[..., Any]]] = defaultdict(list)
_wired = False


def subscribe(event: str, handler: Callable[..., Any]) -> None:
    if handler not in _handlers[event]:
        _handlers[event].append(handler)


def publish(event: str, session: Session, **data: Any) -> None:
    """Run every handler of `event` now, in the caller's transaction: an error in one rolls
    the whole change back, as if the reaction were written inline."""
    global _wired
    if not _wired:
        importlib.import_module("smschat.wiring")  # the subscribers: above this layer, so not imported by name
        _wired = True
    for handler in list(_handlers[event]):
        handler(session, **data)
