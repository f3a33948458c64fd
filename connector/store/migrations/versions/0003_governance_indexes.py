"""governance: who-knows reads relationships from a covering index; person.reports_to_id indexed

The covering index starts with person_id, so it replaces ix_relationship_person_id. Direct reports
(second-degree paths, account-plan hierarchies) are found through ix_person_reports_to_id.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 09:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

WHO_KNOWS_COLUMNS = [
    "person_id",
    "member_id",
    "shareability",
    "exclusive",
    "rating",
    "score",
    "last_interaction_at",
    "id",
]


def upgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_person_reports_to_id"), ["reports_to_id"], unique=False
        )
    with op.batch_alter_table("relationship", schema=None) as batch_op:
        batch_op.create_index("ix_relationship_who_knows", WHO_KNOWS_COLUMNS, unique=False)
        batch_op.drop_index("ix_relationship_person_id")


def downgrade() -> None:
    with op.batch_alter_table("relationship", schema=None) as batch_op:
        batch_op.create_index("ix_relationship_person_id", ["person_id"], unique=False)
        batch_op.drop_index("ix_relationship_who_knows")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_reports_to_id"))
