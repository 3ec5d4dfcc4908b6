"""contact activity columns and a lower(name) index for the contacts list

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_message_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_incoming_id", sa.BigInteger(), nullable=True))
    op.create_index("ix_contact_project_lname", "contact", ["project_id", sa.text("lower(name)"), "id"])
    op.create_index("ix_contact_project_last_incoming", "contact", ["project_id", "last_incoming_id"])
    op.create_index("ix_contact_project_recent", "contact", ["project_id", sa.text("coalesce(last_message_id, 0)")])
    # Backfill from the messages already there.
    op.execute(
        "UPDATE contact SET "
        "last_message_id = (SELECT MAX(m.id) FROM message m WHERE m.project_id = contact.project_id AND m.contact_id = contact.id), "
        "last_incoming_id = (SELECT MAX(m.id) FROM message m WHERE m.project_id = contact.project_id AND m.contact_id = contact.id AND m.direction = 'in')"
    )
    op.execute(
        "UPDATE contact SET last_message_at = (SELECT m.created_at FROM message m WHERE m.id = contact.last_message_id) "
        "WHERE last_message_id IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index("ix_contact_project_recent", table_name="contact")
    op.drop_index("ix_contact_project_last_incoming", table_name="contact")
    op.drop_index("ix_contact_project_lname", table_name="contact")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_column("last_incoming_id")
        batch_op.drop_column("last_message_at")
        batch_op.drop_column("last_message_id")
