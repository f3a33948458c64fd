"""write-back refresh marks: refresh_rel, refresh_person

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "refresh_rel",
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("sig", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("source", "id", name=op.f("pk_refresh_rel")),
    )
    op.create_table(
        "refresh_person",
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("sig", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("source", "id", name=op.f("pk_refresh_person")),
    )
    op.create_index("ix_refresh_person_org", "refresh_person", ["source", "org_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_refresh_person_org", table_name="refresh_person")
    op.drop_table("refresh_person")
    op.drop_table("refresh_rel")
