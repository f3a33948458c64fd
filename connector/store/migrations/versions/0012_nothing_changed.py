"""A sync with nothing changed reads what changed, not every row (issue 16)

- ix_source_link_pending: the links with references still pending, by source, in id order. A
  partial index (its predicate, `pending IS NOT NULL`, the same SQL on both stores): every
  object's pull, and the source's, ends by resolving them (connector.ingest.pages,
  `resolve_pending`, reads them in id order), and they are few or none among every link.
- ix_source_link_updated, ix_relationship_updated, ix_person_updated: the rows written since the
  last write-back refresh's mark (connector.writeback.changes) are found among those written,
  not by reading every row.
- change_count, and on SQLite the triggers that count every write to a relationship or a person,
  and every link deleted or re-keyed, in its `live` row (connector.store.models_refresh): a
  refresh whose count has not moved since the last has no relationship or person to compare
  with what that one saw, and no outbox row whose link went.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

PENDING = "pending IS NOT NULL"
INDEXES = (  # name, table, columns
    ("ix_source_link_updated", "source_link", ["source", "updated_at"]),
    ("ix_relationship_updated", "relationship", ["updated_at"]),
    ("ix_person_updated", "person", ["updated_at"]),
)
TRIGGERS = [  # name, table, event
    ("tr_relationship_insert_counted", "relationship", "INSERT"),
    ("tr_relationship_update_counted", "relationship", "UPDATE"),
    ("tr_relationship_delete_counted", "relationship", "DELETE"),
    ("tr_person_insert_counted", "person", "INSERT"),
    ("tr_person_update_counted", "person", "UPDATE"),
    ("tr_person_delete_counted", "person", "DELETE"),
    ("tr_source_link_delete_counted", "source_link", "DELETE"),
    ("tr_source_link_update_counted", "source_link", "UPDATE OF source, object, external_id"),
]
BUMP = "UPDATE change_count SET n = n + 1 WHERE name = 'live';"


def upgrade() -> None:
    op.create_index(
        "ix_source_link_pending",
        "source_link",
        ["source", "id"],
        unique=False,
        sqlite_where=sa.text(PENDING),
        postgresql_where=sa.text(PENDING),
    )
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)
    op.create_table(
        "change_count",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_change_count")),
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute("INSERT INTO change_count (name, n) VALUES ('live', 0)")
        for name, table, what in TRIGGERS:
            op.execute(f"CREATE TRIGGER {name} AFTER {what} ON {table} BEGIN {BUMP} END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name, _, _ in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("change_count")
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_index("ix_source_link_pending", table_name="source_link")
