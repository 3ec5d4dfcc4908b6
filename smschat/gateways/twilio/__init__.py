"""The Twilio gateway: sending (sender.py), signed webhooks (routes.py), the settings check
(check.py), the error table (errors.py) and the fake API the tests and benchmarks use
(fake.py). Only sender.py and routes.py import the `twilio` package, and only this gateway
is imported when SMSCHAT_GATEWAY=twilio."""

from __future__ import annotations

from smschat.config import Settings
from smschat.gateways.twilio.check import check_senders, check_settings
from smschat.gateways.twilio.routes import routes
from smschat.gateways.twilio.sender import TwilioGateway

__all__ = ["check_senders", "check_settings", "create", "routes"]


def create(settings: Settings) -> TwilioGateway:
    return TwilioGateway.from_settings(settings)
