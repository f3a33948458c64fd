"""web: recent sign-in attempts per client (the client address stored as a keyed digest)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from connector.store.models import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signin_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signin_attempt")),
    )
    op.create_index("ix_signin_attempt_key_at", "signin_attempt", ["key_hash", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_signin_attempt_key_at", table_name="signin_attempt")
    op.drop_table("signin_attempt")
