"""trigram indexes for the contacts search (PostgreSQL)

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-25

A search matches anywhere in a name or number (`LIKE '%…%'`), which a b-tree cannot serve.
On PostgreSQL, pg_trgm's GIN indexes can; where the extension is not available the search
still works, by scanning. SQLite scans (fast enough at 100,000 contacts, see bench/).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _has_trgm(conn) -> bool:
    return conn.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).scalar() is not None


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql" or not _has_trgm(conn):
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE INDEX IF NOT EXISTS ix_phone_number_e164_trgm ON phone_number USING gin (e164 gin_trgm_ops)")
    op.execute("CREATE INDEX IF NOT EXISTS ix_contact_lname_trgm ON contact USING gin (lower(name) gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_contact_lname_trgm")
    op.execute("DROP INDEX IF EXISTS ix_phone_number_e164_trgm")
