"""SMS gateways. `get_gateway()` picks the one the settings name."""

from __future__ import annotations

from ..config import Settings, get_settings
from ..errors import ConfigError
from .base import Gateway, OutgoingSms, SendResult
from .loopback import LoopbackGateway

__all__ = ["Gateway", "OutgoingSms", "SendResult", "LoopbackGateway", "get_gateway"]


def get_gateway(settings: Settings | None = None) -> Gateway:
    settings = settings or get_settings()
    if settings.gateway == "loopback":
        return LoopbackGateway()
    if settings.gateway == "twilio":
        from .twilio import TwilioGateway  # the only place that pulls in the twilio package

        return TwilioGateway.from_settings(settings)
    raise ConfigError(f"SMSCHAT_GATEWAY={settings.gateway!r} is not a known gateway.")
