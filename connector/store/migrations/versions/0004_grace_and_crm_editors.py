"""governance: the grace period (relationship.discovered_at, chosen_at); member.hubspot_user_id

A relationship a sync discovers waits `sharing.grace_days` for its holder's choice before anyone
else (or a CRM) sees it. Relationships already in the store when this migration runs keep both
new columns NULL: they are not waiting (they were published under the rules of their day, and
hiding them now would only take answers away), so nothing visible before the upgrade disappears.
The covering index of who-knows gains the two columns, so the rule still reads from it alone.

HubSpot names the user who last changed a record (`hs_updated_by_user_id`), not the owner: the
member keeps the user id beside the owner id, so a CRM edit can be traced to its member.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from connector.store.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

OLD_COLUMNS = [
    "person_id",
    "member_id",
    "shareability",
    "exclusive",
    "rating",
    "score",
    "last_interaction_at",
    "id",
]
NEW_COLUMNS = [*OLD_COLUMNS, "discovered_at", "chosen_at"]


def upgrade() -> None:
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hubspot_user_id", sa.String(length=40), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_member_hubspot_user_id"), ["hubspot_user_id"], unique=False
        )
    with op.batch_alter_table("relationship", schema=None) as batch_op:
        batch_op.add_column(sa.Column("discovered_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("chosen_at", UTCDateTime(), nullable=True))
        batch_op.drop_index("ix_relationship_who_knows")
        batch_op.create_index("ix_relationship_who_knows", NEW_COLUMNS, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("relationship", schema=None) as batch_op:
        batch_op.drop_index("ix_relationship_who_knows")
        batch_op.create_index("ix_relationship_who_knows", OLD_COLUMNS, unique=False)
        batch_op.drop_column("chosen_at")
        batch_op.drop_column("discovered_at")
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_hubspot_user_id"))
        batch_op.drop_column("hubspot_user_id")
