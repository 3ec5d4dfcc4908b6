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


def upgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("not_before", sa.DateTime(timezone=True), nullable=True))
        # The stuck-messages page: one project's outgoing messages by status, oldest first.
        batch_op.create_index("ix_message_project_status", ["project_id", "status", "id"], unique=False)
    with op.batch_alter_table("chat_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quiet_hours", sa.String(length=11), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chat_settings", schema=None) as batch_op:
        batch_op.drop_column("quiet_hours")
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_project_status")
        batch_op.drop_column("not_before")
        batch_op.drop_column("scheduled_for")
