"""send later and quiet hours, stuck messages

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-02
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNDELIVERED = "status IN ('failed', 'undelivered', 'unknown')"


def upgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("not_before", sa.DateTime(timezone=True), nullable=True))
        # The stuck-messages page: one project's messages that did not get through, oldest first.
        # Partial, so no other query (the outbox's claim above all) is tempted by it.
        batch_op.create_index("ix_message_undelivered", ["project_id", "id"], unique=False,
                              sqlite_where=sa.text(UNDELIVERED), postgresql_where=sa.text(UNDELIVERED))
    with op.batch_alter_table("chat_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quiet_hours", sa.String(length=11), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chat_settings", schema=None) as batch_op:
        batch_op.drop_column("quiet_hours")
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_undelivered")
        batch_op.drop_column("not_before")
        batch_op.drop_column("scheduled_for")
