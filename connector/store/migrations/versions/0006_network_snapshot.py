"""network quality: the weekly network_snapshot (per team, and per account a team works)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from connector.store.models import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

COUNTS = (
    "accounts",
    "single_threaded_accounts",
    "people",
    "known",
    "key",
    "key_known",
    "key_known_strong",
    "single_threaded",
    "relationships",
)


def upgrade() -> None:
    op.create_table(
        "network_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(length=200), nullable=False),
        sa.Column("scope", sa.String(length=40), nullable=False),
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS],
        sa.Column(
            "strength",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("taken_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["org.id"],
            name=op.f("fk_network_snapshot_org_id_org"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_snapshot")),
        sa.UniqueConstraint(
            "team", "scope", "week", name=op.f("uq_network_snapshot_team_scope_week")
        ),
    )


def downgrade() -> None:
    op.drop_table("network_snapshot")
