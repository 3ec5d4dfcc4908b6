"""claims by sender: each sender's queued messages, oldest first, from a small index

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-03
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUED = "status = 'queued' AND direction = 'out'"


def upgrade() -> None:
    op.create_index("ix_message_queued_sender", "message", ["sender", "id"],
                    sqlite_where=sa.text(QUEUED), postgresql_where=sa.text(QUEUED))


def downgrade() -> None:
    op.drop_index("ix_message_queued_sender", table_name="message")
