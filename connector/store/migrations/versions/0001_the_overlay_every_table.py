"""the overlay: every table

Revision ID: 0001
Revises:
Create Date: 2026-11-26 19:40:33.214679
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import connector.store.models

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "identity_issue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("object", sa.String(length=60), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "candidates",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", connector.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_issue")),
    )
    op.create_table(
        "lease",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("acquired_at", connector.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", connector.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_lease")),
    )
    op.create_table(
        "member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=400), nullable=False),
        sa.Column("team", sa.String(length=200), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("title", sa.String(length=400), nullable=True),
        sa.Column("salesforce_user_id", sa.String(length=18), nullable=True),
        sa.Column("hubspot_owner_id", sa.String(length=40), nullable=True),
        sa.Column("mailbox_id", sa.String(length=100), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", connector.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", connector.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member")),
        sa.UniqueConstraint("email", name=op.f("uq_member_email")),
    )
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_member_hubspot_owner_id"), ["hubspot_owner_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_member_mailbox_id"), ["mailbox_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_member_salesforce_user_id"), ["salesforce_user_id"], unique=False
        )

    op.create_table(
        "org",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=400), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("industry", sa.String(length=200), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("deleted_at", connector.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("created_at", connector.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", connector.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["org.id"],
            name=op.f("fk_org_merged_into_id_org"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["org.id"], name=op.f("fk_org_parent_id_org"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org")),
    )
    with op.batch_alter_table("org", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_org_name"), ["name"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("object", sa.String(length=60), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("field_set", sa.String(length=60), nullable=False),
        sa.Column(
            "desired",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("desired_hash", sa.String(length=64), nullable=False),
        sa.Column("written_hash", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "next_attempt_at", connector.store.models.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("updated_at", connector.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'done', 'failed', 'parked')", name=op.f("ck_outbox_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint(
            "source",
            "object",
            "external_id",
            "field_set",
            name=op.f("uq_outbox_source_object_external_id_field_set"),
        ),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_status", ["status", "source"], unique=False)

    op.create_table(
        "source_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("object", sa.String(length=60), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("entity", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("modstamp", connector.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "seen",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("deleted_at", connector.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("merged_into", sa.String(length=200), nullable=True),
        sa.Column("updated_at", connector.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_link")),
        sa.UniqueConstraint(
            "source", "object", "external_id", name=op.f("uq_source_link_source_object_external_id")
        ),
    )
    with op.batch_alter_table("source_link", schema=None) as batch_op:
        batch_op.create_index("ix_source_link_entity", ["entity", "entity_id"], unique=False)

    op.create_table(
        "sync_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("object", sa.String(length=60), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column(
            "last_started_at", connector.store.models.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "last_finished_at", connector.store.models.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "last_counts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "last_errors",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "api_usage",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_state")),
        sa.UniqueConstraint("source", "object", name=op.f("uq_sync_state_source_object")),
    )
    op.create_table(
        "account_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("strategy", sa.Text(), nullable=True),
        sa.Column("objectives", sa.Text(), nullable=True),
        sa.Column("updated_at", connector.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["org.id"], name=op.f("fk_account_plan_org_id_org"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_plan")),
        sa.UniqueConstraint("org_id", name=op.f("uq_account_plan_org_id")),
    )
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", connector.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("subject_type", sa.String(length=30), nullable=False),
        sa.Column("subject_id", sa.String(length=200), nullable=True),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["member.id"],
            name=op.f("fk_audit_event_actor_id_member"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_at"), ["at"], unique=False)

    op.create_table(
        "opportunity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=400), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("amount", sa.Float(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("stage", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=4), nullable=False),
        sa.Column("close_date", sa.Date(), nullable=True),
        sa.Column(
            "crm_created_at", connector.store.models.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("deleted_at", connector.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", connector.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('open', 'won', 'lost')", name=op.f("ck_opportunity_status")),
        sa.ForeignKeyConstraint(
            ["org_id"], ["org.id"], name=op.f("fk_opportunity_org_id_org"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["member.id"],
            name=op.f("fk_opportunity_owner_id_member"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opportunity")),
    )
    with op.batch_alter_table("opportunity", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_opportunity_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_opportunity_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "org_domain",
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["org.id"], name=op.f("fk_org_domain_org_id_org"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("domain", name=op.f("pk_org_domain")),
    )
    with op.batch_alter_table("org_domain", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_org_domain_org_id"), ["org_id"], unique=False)

    op.create_table(
        "person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_name", sa.String(length=400), nullable=True),
        sa.Column("last_name", sa.String(length=400), nullable=True),
        sa.Column("name", sa.String(length=800), nullable=False),
        sa.Column("name_key", sa.String(length=800), nullable=False),
        sa.Column("title", sa.String(length=400), nullable=True),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("phone", sa.String(length=100), nullable=True),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("reports_to_id", sa.Integer(), nullable=True),
        sa.Column("deleted_at", connector.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("created_at", connector.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", connector.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "level IN ('c_level', 'vp', 'director', 'manager', 'staff', 'unknown')",
            name=op.f("ck_person_level"),
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["person.id"],
            name=op.f("fk_person_merged_into_id_person"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["org.id"], name=op.f("fk_person_org_id_org"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["reports_to_id"],
            ["person.id"],
            name=op.f("fk_person_reports_to_id_person"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
    )
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_person_name_key"), ["name_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_person_org_id"), ["org_id"], unique=False)

    op.create_table(
        "contact_role",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("opportunity_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=100), nullable=True),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunity.id"],
            name=op.f("fk_contact_role_opportunity_id_opportunity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_contact_role_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_role")),
        sa.UniqueConstraint(
            "opportunity_id", "person_id", name=op.f("uq_contact_role_opportunity_id_person_id")
        ),
    )
    with op.batch_alter_table("contact_role", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_role_opportunity_id"), ["opportunity_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_contact_role_person_id"), ["person_id"], unique=False)

    op.create_table(
        "intro",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("broker_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column(
            "requested_at", connector.store.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("decided_at", connector.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("made_at", connector.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("opportunity_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('requested', 'approved', 'declined', 'made', 'cancelled')",
            name=op.f("ck_intro_status"),
        ),
        sa.ForeignKeyConstraint(
            ["broker_id"], ["member.id"], name=op.f("fk_intro_broker_id_member"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunity.id"],
            name=op.f("fk_intro_opportunity_id_opportunity"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_intro_person_id_person"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["requester_id"],
            ["member.id"],
            name=op.f("fk_intro_requester_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intro")),
    )
    with op.batch_alter_table("intro", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_intro_broker_id"), ["broker_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_intro_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_intro_requester_id"), ["requester_id"], unique=False)

    op.create_table(
        "person_email",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_person_email_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("email", name=op.f("pk_person_email")),
    )
    with op.batch_alter_table("person_email", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_person_email_person_id"), ["person_id"], unique=False)

    op.create_table(
        "plan_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("at", connector.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_plan_action_member_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["account_plan.id"],
            name=op.f("fk_plan_action_plan_id_account_plan"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_action")),
    )
    with op.batch_alter_table("plan_action", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_action_plan_id"), ["plan_id"], unique=False)

    op.create_table(
        "relationship",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column(
            "signals",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("is_owner", sa.Boolean(), nullable=False),
        sa.Column("shareability", sa.String(length=12), nullable=True),
        sa.Column("exclusive", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column(
            "last_interaction_at", connector.store.models.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("created_at", connector.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", connector.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "shareability IS NULL OR shareability IN ('private', 'discoverable', 'shared')",
            name=op.f("ck_relationship_share"),
        ),
        sa.CheckConstraint(
            "rating IS NULL OR (rating BETWEEN 1 AND 5)", name=op.f("ck_relationship_rating")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_relationship_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_relationship_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relationship")),
        sa.UniqueConstraint(
            "member_id", "person_id", name=op.f("uq_relationship_member_id_person_id")
        ),
    )
    with op.batch_alter_table("relationship", schema=None) as batch_op:
        batch_op.create_index("ix_relationship_person_id", ["person_id"], unique=False)

    op.create_table(
        "stakeholder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("stance", sa.String(length=10), nullable=False),
        sa.Column("influence", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=100), nullable=True),
        sa.CheckConstraint(
            "stance IN ('champion', 'ally', 'neutral', 'adversary', 'unknown')",
            name=op.f("ck_stakeholder_stance"),
        ),
        sa.CheckConstraint(
            "influence IS NULL OR (influence BETWEEN 1 AND 5)",
            name=op.f("ck_stakeholder_influence"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_stakeholder_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["account_plan.id"],
            name=op.f("fk_stakeholder_plan_id_account_plan"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stakeholder")),
        sa.UniqueConstraint("plan_id", "person_id", name=op.f("uq_stakeholder_plan_id_person_id")),
    )
    with op.batch_alter_table("stakeholder", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stakeholder_plan_id"), ["plan_id"], unique=False)

    op.create_table(
        "referral_credit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("opportunity_id", sa.Integer(), nullable=False),
        sa.Column("referrer_id", sa.Integer(), nullable=False),
        sa.Column("intro_id", sa.Integer(), nullable=True),
        sa.Column("percent", sa.Float(), nullable=False),
        sa.Column("amount", sa.Float(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("created_at", connector.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", connector.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'earned', 'void')", name=op.f("ck_referral_credit_status")
        ),
        sa.ForeignKeyConstraint(
            ["intro_id"],
            ["intro.id"],
            name=op.f("fk_referral_credit_intro_id_intro"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunity.id"],
            name=op.f("fk_referral_credit_opportunity_id_opportunity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["referrer_id"],
            ["member.id"],
            name=op.f("fk_referral_credit_referrer_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_credit")),
        sa.UniqueConstraint(
            "opportunity_id",
            "referrer_id",
            name=op.f("uq_referral_credit_opportunity_id_referrer_id"),
        ),
    )
    with op.batch_alter_table("referral_credit", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_referral_credit_referrer_id"), ["referrer_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("referral_credit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_credit_referrer_id"))

    op.drop_table("referral_credit")
    with op.batch_alter_table("stakeholder", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stakeholder_plan_id"))

    op.drop_table("stakeholder")
    with op.batch_alter_table("relationship", schema=None) as batch_op:
        batch_op.drop_index("ix_relationship_person_id")

    op.drop_table("relationship")
    with op.batch_alter_table("plan_action", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_action_plan_id"))

    op.drop_table("plan_action")
    with op.batch_alter_table("person_email", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_email_person_id"))

    op.drop_table("person_email")
    with op.batch_alter_table("intro", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intro_requester_id"))
        batch_op.drop_index(batch_op.f("ix_intro_person_id"))
        batch_op.drop_index(batch_op.f("ix_intro_broker_id"))

    op.drop_table("intro")
    with op.batch_alter_table("contact_role", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_role_person_id"))
        batch_op.drop_index(batch_op.f("ix_contact_role_opportunity_id"))

    op.drop_table("contact_role")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_org_id"))
        batch_op.drop_index(batch_op.f("ix_person_name_key"))

    op.drop_table("person")
    with op.batch_alter_table("org_domain", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_org_domain_org_id"))

    op.drop_table("org_domain")
    with op.batch_alter_table("opportunity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opportunity_owner_id"))
        batch_op.drop_index(batch_op.f("ix_opportunity_org_id"))

    op.drop_table("opportunity")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_at"))
        batch_op.drop_index(batch_op.f("ix_audit_event_actor_id"))

    op.drop_table("audit_event")
    op.drop_table("account_plan")
    op.drop_table("sync_state")
    with op.batch_alter_table("source_link", schema=None) as batch_op:
        batch_op.drop_index("ix_source_link_entity")

    op.drop_table("source_link")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_status")

    op.drop_table("outbox")
    with op.batch_alter_table("org", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_org_name"))

    op.drop_table("org")
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_salesforce_user_id"))
        batch_op.drop_index(batch_op.f("ix_member_mailbox_id"))
        batch_op.drop_index(batch_op.f("ix_member_hubspot_owner_id"))

    op.drop_table("member")
    op.drop_table("lease")
    op.drop_table("identity_issue")
