"""The loopback gateway: nothing leaves the machine (sender.py); the Phone simulator plays
the contact through its unsigned inbound path (routes.py), which exists with this gateway
only. It needs no settings and no sender numbers."""

from __future__ import annotations

from collections.abc import Iterable

from smschat.config import Settings
from smschat.gateways.loopback.routes import routes
from smschat.gateways.loopback.sender import LoopbackGateway

__all__ = ["check_senders", "check_settings", "create", "routes"]


def create(settings: Settings) -> LoopbackGateway:
    return LoopbackGateway()


def check_settings(settings: Settings) -> None:
    """Nothing to check: loopback needs no credentials."""


def check_senders(settings: Settings, senders: Iterable[tuple[str, list[str]]]) -> None:
    """Nothing to check: loopback sends without sender numbers."""
