"""full-text search over message bodies

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-02

The search finds bodies that contain the text anywhere, in any case: the message log's
`lower(body) LIKE '%text%'`, answered from an index instead of a scan.

- PostgreSQL: a pg_trgm GIN index on lower(body), which serves that very LIKE (a tsvector
  matches whole words, so "vacc" would not find "vaccines"). Without the extension the
  search still works, by scanning.
- SQLite: an FTS5 table with the trigram tokenizer (SQLite >= 3.34), holding each body under
  the message's id and kept in sync by the triggers below; the search narrows to its matches,
  then applies the same LIKE. A later migration that re-creates the message table (SQLite's
  batch mode does for some changes) drops these triggers and must create them again
  (tests/test_search.py fails if they are missing).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UP = [
    # External content: the text stays in message.body; the index holds only the trigrams.
    "CREATE VIRTUAL TABLE message_fts USING fts5(body, content='message', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER message_fts_insert AFTER INSERT ON message BEGIN "
    "INSERT INTO message_fts(rowid, body) VALUES (new.id, new.body); END",
    "CREATE TRIGGER message_fts_delete AFTER DELETE ON message BEGIN "
    "INSERT INTO message_fts(message_fts, rowid, body) VALUES ('delete', old.id, old.body); END",
    # Only a change of the body touches the index (status updates are the common write).
    "CREATE TRIGGER message_fts_update AFTER UPDATE OF body ON message BEGIN "
    "INSERT INTO message_fts(message_fts, rowid, body) VALUES ('delete', old.id, old.body); "
    "INSERT INTO message_fts(rowid, body) VALUES (new.id, new.body); END",
    "INSERT INTO message_fts(message_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS message_fts_update",
    "DROP TRIGGER IF EXISTS message_fts_delete",
    "DROP TRIGGER IF EXISTS message_fts_insert",
    "DROP TABLE IF EXISTS message_fts",
]


def _has_trgm(conn) -> bool:
    return conn.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).scalar() is not None


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)
    elif conn.dialect.name == "postgresql" and _has_trgm(conn):
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX IF NOT EXISTS ix_message_lbody_trgm ON message USING gin (lower(body) gin_trgm_ops)")


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        for statement in SQLITE_DOWN:
            op.execute(statement)
    elif conn.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_message_lbody_trgm")
