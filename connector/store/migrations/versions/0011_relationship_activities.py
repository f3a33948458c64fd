"""ix_relationship_activities: the relationships whose signals hold CRM activities, by person

A partial index (its predicate in each store's SQL, as connector.store.models.HAS_ACTIVITIES
writes it): an account plan finds its people's CRM activities among a few rows rather than by
looking up every relationship it may show in full.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

INDEX = "ix_relationship_activities"


def upgrade() -> None:
    op.create_index(
        INDEX,
        "relationship",
        ["person_id"],
        unique=False,
        sqlite_where=sa.text("json_extract(signals, '$.\"activities\"') IS NOT NULL"),
        postgresql_where=sa.text("(signals ->> 'activities') IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="relationship")
