"""site admins: accounts are global, admin rights per project

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02

The first admin (`smschat init`'s) becomes the site admin of an existing installation: the
oldest account with an admin role anywhere.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("web_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_site_admin", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(
        "UPDATE web_user SET is_site_admin = true WHERE id = "
        "(SELECT min(user_id) FROM membership WHERE role = 'admin')"
    )


def downgrade() -> None:
    with op.batch_alter_table("web_user", schema=None) as batch_op:
        batch_op.drop_column("is_site_admin")
