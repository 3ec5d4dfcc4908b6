"""per-sender rate limit and slots

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rate_limit", sa.Float(), nullable=False, server_default="1.0"))
    op.create_table(
        "sender_slot",
        sa.Column("sender", sa.String(length=64), nullable=False),
        sa.Column("next_free_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sender"),
    )
    op.create_index("ix_message_unknown_sender", "message", ["project_id", "direction", "id"],
                    sqlite_where=sa.text("contact_id IS NULL"), postgresql_where=sa.text("contact_id IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_message_unknown_sender", table_name="message")
    op.drop_table("sender_slot")
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.drop_column("rate_limit")
