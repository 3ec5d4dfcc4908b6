"""Schema management: the schema comes only from the Alembic migrations."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from .config import get_settings
from .db import normalize_url


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "smschat:migrations")
    # '%' must be doubled for configparser interpolation.
    cfg.set_main_option("sqlalchemy.url", normalize_url(url or get_settings().database_url).replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
