"""waiting replies: assignment, quick replies, notes

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = "waiting_since_id IS NOT NULL"


def upgrade() -> None:
    # Plain ALTER TABLE on both backends: a batch copy of `contact` would lose its expression
    # indexes on SQLite.
    op.add_column("contact", sa.Column("waiting_since_id", sa.BigInteger(), nullable=True))
    op.add_column("contact", sa.Column("waiting_since_at", sa.DateTime(timezone=True), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE contact ADD COLUMN assignee_id INTEGER REFERENCES web_user (id) ON DELETE SET NULL")
    else:
        op.add_column("contact", sa.Column("assignee_id", sa.Integer(), nullable=True))
        op.create_foreign_key("fk_contact_assignee_id_web_user", "contact", "web_user", ["assignee_id"], ["id"],
                              ondelete="SET NULL")
    op.create_index("ix_contact_waiting", "contact", ["project_id", "waiting_since_id"],
                    sqlite_where=sa.text(WAITING), postgresql_where=sa.text(WAITING))
    op.create_index("ix_contact_waiting_assignee", "contact", ["project_id", "assignee_id", "waiting_since_id"],
                    sqlite_where=sa.text(WAITING), postgresql_where=sa.text(WAITING))
    # "note" (a staff note) is one letter longer than "in"/"out"; SQLite does not enforce lengths,
    # and on PostgreSQL a longer varchar is a catalogue change, not a rewrite.
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("message", "direction", type_=sa.String(4), existing_type=sa.String(3))
    # Backfill: a conversation waits since its first incoming message after the last reply
    # (an outgoing message other than a reminder or a broadcast).
    op.execute(
        "UPDATE contact SET waiting_since_id = (SELECT MIN(m.id) FROM message m "
        "WHERE m.project_id = contact.project_id AND m.contact_id = contact.id AND m.direction = 'in' "
        "AND m.id > COALESCE((SELECT MAX(r.id) FROM message r WHERE r.project_id = contact.project_id "
        "AND r.contact_id = contact.id AND r.direction = 'out' AND r.workflow NOT IN ('reminder', 'broadcast')), 0)) "
        "WHERE last_incoming_id IS NOT NULL"
    )
    op.execute(
        "UPDATE contact SET waiting_since_at = (SELECT m.created_at FROM message m WHERE m.id = contact.waiting_since_id) "
        "WHERE waiting_since_id IS NOT NULL"
    )
    op.create_table(
        "quick_reply",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by_id"], ["web_user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "title"),
    )


def downgrade() -> None:
    op.drop_table("quick_reply")
    op.execute("DELETE FROM message WHERE direction = 'note'")
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("message", "direction", type_=sa.String(3), existing_type=sa.String(4))
    op.drop_index("ix_contact_waiting_assignee", table_name="contact")
    op.drop_index("ix_contact_waiting", table_name="contact")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("fk_contact_assignee_id_web_user", "contact", type_="foreignkey")
    for column in ("assignee_id", "waiting_since_at", "waiting_since_id"):
        op.execute(f"ALTER TABLE contact DROP COLUMN {column}")
