"""SMS gateways, one folder each, chosen by SMSCHAT_GATEWAY through `config.GATEWAYS`.

A gateway's folder holds its sender (the `Gateway` of base.py), its webhook routes, its
settings check and its errors; its package offers `create(settings)`, `check_settings(settings)`,
`check_senders(settings, senders)` and `routes()`. Only the configured gateway is imported.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import import_module
from types import ModuleType

from starlette.routing import Route

from smschat.config import GATEWAYS, Settings, get_settings
from smschat.gateways.base import Gateway, OutgoingSms, SendResult

__all__ = ["Gateway", "OutgoingSms", "SendResult", "check_senders", "check_settings", "get_gateway",
           "webhook_routes"]


def _package(settings: Settings) -> ModuleType:
    # config validated the name; the registry maps it to the folder.
    return import_module(GATEWAYS[settings.gateway])


def get_gateway(settings: Settings | None = None) -> Gateway:
    settings = settings or get_settings()
    return _package(settings).create(settings)


def check_settings(settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    _package(settings).check_settings(settings)


def check_senders(senders: Iterable[tuple[str, list[str]]], settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    _package(settings).check_senders(settings, senders)


def webhook_routes(settings: Settings | None = None) -> list[Route]:
    return _package(settings or get_settings()).routes()
