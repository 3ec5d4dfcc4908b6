"""The Twilio settings, checked before anything starts: one line naming the variable."""

from __future__ import annotations

from collections.abc import Iterable

from smschat.config import Settings
from smschat.errors import ConfigError


def check_settings(settings: Settings) -> None:
    """One clear line naming the variable when the Twilio settings cannot work."""
    if not settings.twilio_account_sid:
        raise ConfigError("TWILIO_ACCOUNT_SID is not set (needed with SMSCHAT_GATEWAY=twilio).")
    if not settings.twilio_account_sid.startswith("AC"):
        raise ConfigError("TWILIO_ACCOUNT_SID must start with 'AC' (the Account SID, not an API key).")
    if not settings.twilio_auth_token:
        raise ConfigError("TWILIO_AUTH_TOKEN is not set (needed with SMSCHAT_GATEWAY=twilio).")
    sid = settings.twilio_messaging_service_sid
    if sid is not None and not sid.startswith("MG"):
        raise ConfigError("TWILIO_MESSAGING_SERVICE_SID must start with 'MG' (or be unset to send from "
                          "the project's sender number).")
    if not settings.public_url:
        raise ConfigError("SMSCHAT_PUBLIC_URL is not set: Twilio needs it to reach the webhooks "
                          "(status callbacks, signature checks).")
    for name, url in (("SMSCHAT_PUBLIC_URL", settings.public_url), ("SMSCHAT_TWILIO_API_URL", settings.twilio_api_url)):
        if url is not None and not url.startswith(("http://", "https://")):
            raise ConfigError(f"{name} must start with http:// or https://.")


def check_senders(settings: Settings, senders: Iterable[tuple[str, list[str]]]) -> None:
    """Every project needs a sender number unless a messaging service sends for all."""
    if settings.twilio_messaging_service_sid:
        return
    for slug, numbers in senders:
        if not numbers:
            raise ConfigError(f"TWILIO_MESSAGING_SERVICE_SID is not set and project {slug!r} has no "
                              "sender number: set the variable or give the project a number.")
