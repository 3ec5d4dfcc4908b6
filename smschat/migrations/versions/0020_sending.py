"""many sends in flight: sticky sender numbers, reconcile of unknown sends

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("phone_number", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sender", sa.String(length=64), nullable=True))
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sender", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("reconciled_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_column("reconciled_at")
        batch_op.drop_column("sender")
    with op.batch_alter_table("phone_number", schema=None) as batch_op:
        batch_op.drop_column("sender")
