"""invitation campaigns: campaign, nomination, and a referral credit's nomination

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 09:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from connector.store.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _json(none_as_null: bool = False) -> Any:
    return sa.JSON(none_as_null=none_as_null).with_variant(
        postgresql.JSONB(none_as_null=none_as_null), "postgresql"
    )


def upgrade() -> None:
    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("criteria", _json(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("done_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "state IN ('draft', 'open', 'closed', 'done')", name=op.f("ck_campaign_state")
        ),
        sa.CheckConstraint("capacity > 0", name=op.f("ck_campaign_capacity")),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["member.id"], name=op.f("fk_campaign_owner_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign")),
    )
    op.create_index(op.f("ix_campaign_owner_id"), "campaign", ["owner_id"], unique=False)
    op.create_table(
        "nomination",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("relationship_id", sa.Integer(), nullable=False),
        sa.Column("nominator_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("crm_status", _json(none_as_null=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('nominated', 'accepted', 'declined', 'withdrawn')",
            name=op.f("ck_nomination_status"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_nomination_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["nominator_id"],
            ["member.id"],
            name=op.f("fk_nomination_nominator_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["relationship_id"],
            ["relationship.id"],
            name=op.f("fk_nomination_relationship_id_relationship"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nomination")),
        sa.UniqueConstraint(
            "campaign_id", "relationship_id", name=op.f("uq_nomination_campaign_id_relationship_id")
        ),
    )
    op.create_index(
        "ix_nomination_campaign_status", "nomination", ["campaign_id", "status"], unique=False
    )
    op.create_index(
        op.f("ix_nomination_nominator_id"), "nomination", ["nominator_id"], unique=False
    )
    op.create_index(
        op.f("ix_nomination_relationship_id"), "nomination", ["relationship_id"], unique=False
    )
    with op.batch_alter_table("referral_credit") as batch:
        batch.add_column(sa.Column("nomination_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_referral_credit_nomination_id_nomination"),
            "nomination",
            ["nomination_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("referral_credit") as batch:
        batch.drop_constraint(
            batch.f("fk_referral_credit_nomination_id_nomination"), type_="foreignkey"
        )
        batch.drop_column("nomination_id")
    op.drop_table("nomination")
    op.drop_table("campaign")
