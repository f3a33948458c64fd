"""ingest: org name key; what ingest applied from each source record, its pending refs, when seen

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 20:00:00
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import connector.store.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
    )


def _name_key(name: str) -> str:
    """The org name normalisation of connector.ingest.identity at the time of this migration."""
    text = unicodedata.normalize("NFKC", name or "").casefold()
    return re.sub(r"\s+", " ", text).strip()[:400]


def upgrade() -> None:
    with op.batch_alter_table("org", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("name_key", sa.String(length=400), nullable=False, server_default="")
        )
        batch_op.create_index(batch_op.f("ix_org_name_key"), ["name_key"], unique=False)
    org = sa.table("org", sa.column("id", sa.Integer), sa.column("name", sa.String))
    conn = op.get_bind()
    rows = conn.execute(sa.select(org.c.id, org.c.name)).all()
    if rows:
        conn.execute(
            sa.text("UPDATE org SET name_key = :key WHERE id = :id"),
            [{"id": r.id, "key": _name_key(r.name)} for r in rows],
        )
    with op.batch_alter_table("source_link", schema=None) as batch_op:
        batch_op.add_column(sa.Column("applied", _json(), nullable=True))
        batch_op.add_column(sa.Column("pending", _json(), nullable=True))
        batch_op.add_column(
            sa.Column("seen_at", connector.store.models.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("source_link", schema=None) as batch_op:
        batch_op.drop_column("seen_at")
        batch_op.drop_column("pending")
        batch_op.drop_column("applied")
    with op.batch_alter_table("org", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_org_name_key"))
        batch_op.drop_column("name_key")
