"""messages that are too late: a deadline per queued message, per-kind settings, `expired`

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "status IN ('failed', 'undelivered', 'unknown')"
NEW = "status IN ('failed', 'undelivered', 'unknown', 'expired')"
QUEUED_EXPIRING = "status = 'queued' AND direction = 'out' AND expires_at IS NOT NULL"
KINDS = ("chat", "reminder", "broadcast", "survey", "verification", "keyword", "default")


def _undelivered(where: str) -> None:
    op.drop_index("ix_message_undelivered", table_name="message")
    op.create_index("ix_message_undelivered", "message", ["project_id", "id"],
                    sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy of `message`: SQLite would lose its search triggers).
    op.add_column("message", sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("message", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    for kind in KINDS:
        op.add_column("chat_settings", sa.Column(f"deadline_{kind}", sa.Integer(), nullable=True))
    _undelivered(NEW)
    # The sweep reads only the queued messages that have a deadline, soonest first.
    op.create_index("ix_message_queued_expires", "message", ["expires_at"],
                    sqlite_where=sa.text(QUEUED_EXPIRING), postgresql_where=sa.text(QUEUED_EXPIRING))
    # Held by Delay Automated SMS for more than 7 days: that was "too late" before it had a status.
    op.execute("UPDATE message SET status = 'expired' WHERE status = 'failed' AND error_code = 'delay-expired'")


def downgrade() -> None:
    op.execute("UPDATE message SET status = 'failed' WHERE status = 'expired'")
    op.drop_index("ix_message_queued_expires", table_name="message")
    _undelivered(OLD)
    for kind in KINDS:
        op.execute(f"ALTER TABLE chat_settings DROP COLUMN deadline_{kind}")
    op.execute("ALTER TABLE message DROP COLUMN expires_at")
    op.execute("ALTER TABLE message DROP COLUMN due_at")
