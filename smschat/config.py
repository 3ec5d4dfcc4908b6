"""Process settings, read from the environment (and a `.env` file) in this one place."""

from __future__ import annotations

import re
from functools import lru_cache
from ipaddress import IPv6Address
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///data/smschat.db"
DEFAULT_TEST_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# The gateway registry: an SMSCHAT_GATEWAY name and the folder of smschat/gateways/ that
# implements it. Adding a gateway is its folder plus one line here.
GATEWAYS = {
    "loopback": "smschat.gateways.loopback",
    "twilio": "smschat.gateways.twilio",
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SMSCHAT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = DEFAULT_DATABASE_URL
    gateway: str = "loopback"
    dashboard_port: int = Field(default=8501, ge=1, le=65535)
    # The dashboard listens here only (loopback by default: put a TLS proxy in front of it).
    dashboard_address: str = "127.0.0.1"
    # The dashboard's address as browsers see it: its host is the name the dashboard answers
    # to (beside loopback), its origin the one a login form must come from; https makes its
    # cookies Secure.
    dashboard_url: str | None = None
    webhook_port: int = Field(default=8502, ge=1, le=65535)
    # The webhooks' address as the gateway calls it (Twilio signs that URL); its host is the
    # name the webhooks answer to (beside loopback).
    public_url: str | None = None
    # More host names both servers answer to, comma-separated (the name a proxy or a load
    # balancer's health check uses inside the network; "*.example.org" for its subdomains).
    allowed_hosts: Annotated[list[str], NoDecode] = []
    twilio_api_url: str | None = None

    # How long a SQLite writer waits for the lock before giving up (then: HTTP 503, retry).
    sqlite_busy_timeout_ms: int = Field(default=30_000, ge=100)
    # Worker tuning: how often an idle worker looks for work, and how long a claim lasts.
    worker_poll_seconds: float = Field(default=1.0, gt=0)
    worker_batch_size: int = Field(default=50, ge=1, le=1000)
    send_lease_seconds: int = Field(default=120, ge=5)
    # Password hashes: argon2 at argon2-cffi's recommended cost. "fast" is the same algorithm
    # at its lowest cost, for the test suite only (like Django's test hashers); a hash of either
    # verifies under the other, since argon2 stores its parameters in the hash.
    password_hasher: Literal["argon2", "fast"] = "argon2"
    # Logins: idle time before a browser session ends.
    session_idle_minutes: int = Field(default=720, ge=5)
    # Login throttle (smschat/throttle.py). One account from one address: this many failures
    # free, then a wait before the next try that starts at login_delay_seconds and doubles up
    # to login_max_delay_seconds. One account from every address that is neither a remembered
    # browser nor one the account logged in from before: at most login_account_max_failures
    # per login_window_minutes. A remembered browser: its own login_device_max_failures.
    login_free_failures: int = Field(default=3, ge=1)
    login_delay_seconds: int = Field(default=5, ge=1)
    login_max_delay_seconds: int = Field(default=900, ge=1)
    login_account_max_failures: int = Field(default=20, ge=1)
    login_device_max_failures: int = Field(default=10, ge=1)
    login_window_minutes: int = Field(default=60, ge=1)
    # Sending: gateway timeout, and the retry policy for temporary errors.
    twilio_timeout_seconds: float = Field(default=15.0, gt=0)
    retry_base_seconds: float = Field(default=2.0, gt=0)
    retry_cap_seconds: float = Field(default=300.0, gt=0)
    max_send_attempts: int = Field(default=8, ge=1, le=50)
    # Sends one worker keeps in flight at once (a bounded thread pool).
    worker_concurrency: int = Field(default=50, ge=1, le=500)
    # Headroom under each sender's rate, as a fraction: spacing is kept at rate/(1+margin), so
    # jitter between departure and arrival never puts a sender over its limit in any second.
    rate_margin: float = Field(default=0.03, ge=0, le=0.5)
    # An `unknown` send is looked up in the gateway's message list; not found for this long
    # after its hand-over, it is declared never created ("Retry is safe").
    reconcile_grace_seconds: float = Field(default=300.0, gt=0)
    # How often the worker looks up `unknown` sends.
    reconcile_every_seconds: float = Field(default=10.0, gt=0)
    # Webhooks: a request whose headers, or whose body, have not all arrived by then is cut off.
    webhook_read_timeout_seconds: float = Field(default=5.0, gt=0, le=300)
    # How often the open chat asks for new messages.
    chat_refresh_seconds: float = Field(default=3.0, gt=0)
    # Where the dashboard prepares export files before the browser downloads them.
    exports_dir: str = "data/exports"
    # A queued or sending message older than this is listed on the Stuck messages page.
    stuck_after_minutes: int = Field(default=15, ge=1)

    twilio_account_sid: str | None = Field(
        default=None, validation_alias=AliasChoices("TWILIO_ACCOUNT_SID")
    )
    twilio_auth_token: str | None = Field(
        default=None, validation_alias=AliasChoices("TWILIO_AUTH_TOKEN")
    )
    twilio_messaging_service_sid: str | None = Field(
        default=None, validation_alias=AliasChoices("TWILIO_MESSAGING_SERVICE_SID")
    )

    # Test-suite settings (read by tests/conftest.py through this module).
    test_postgres_url: str = DEFAULT_TEST_POSTGRES_URL
    chromium: str | None = None
    ci: bool = Field(default=False, validation_alias=AliasChoices("CI"))

    @field_validator("gateway")
    @classmethod
    def _known_gateway(cls, name: str) -> str:
        if name not in GATEWAYS:
            raise ValueError("Input should be " + " or ".join(repr(n) for n in GATEWAYS))
        return name


    @field_validator("dashboard_url", "public_url", mode="before")
    @classmethod
    def _base_url(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        value = value.strip()
        if not value:
            return None  # set but empty: not set
        if url_host(value) is None:
            raise ValueError("must be an address like https://chat.example.org: http or https, a host "
                             "name, an optional port and path, no user, query or fragment")
        return value

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _host_names(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        names = [name.strip().lower() for name in value.split(",") if name.strip()]
        for name in names:
            if not _host_pattern(name):
                raise ValueError(f"{name!r} is not a host name (a name or address without scheme or "
                                 "port, or *.example.org for its subdomains; a bare * is not allowed)")
        return names


_LABEL = r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?"
_HOST_NAME = re.compile(rf"{_LABEL}(\.{_LABEL})*\.?")


def _host_pattern(name: str) -> bool:
    """A host as Starlette's TrustedHostMiddleware compares it: a name or IPv4 address, an IPv6
    address in brackets, or *.domain."""
    if name.startswith("[") and name.endswith("]"):
        try:
            IPv6Address(name[1:-1])
        except ValueError:
            return False
        return True
    return bool(_HOST_NAME.fullmatch(name.removeprefix("*.")))


def url_host(url: str) -> str | None:
    """The host of an http(s) base URL as a Host header names it ("[::1]" in brackets), or
    None when the URL is not one (no host, a user, a query, a fragment, a bad port)."""
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return None
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return host if _host_pattern(host) and "*" not in host else None


def url_origin(url: str) -> str | None:
    """scheme://host[:port] of a URL, as a browser's Origin header spells it (lower case, no
    default port), or None when it is not an http(s) URL."""
    host = url_host(url)
    if host is None:
        return None
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port
    if port is None or port == {"http": 80, "https": 443}[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def variable_of(field: str) -> str:
    """The environment variable a settings field is read from (error messages name it)."""
    info = Settings.model_fields.get(str(field))
    if info is not None and isinstance(info.validation_alias, AliasChoices):
        return str(info.validation_alias.choices[0])
    return f"SMSCHAT_{str(field).upper()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reload_settings() -> Settings:
    """Forget the cached settings (tests and the CLI change the environment)."""
    get_settings.cache_clear()
    return get_settings()
