"""member.manager_id: who a member reports to in the CRM (Salesforce User.ManagerId)

A nullable reference to another member (ON DELETE SET NULL), indexed for the walk down a manager's
reports (connector.governance.hierarchy). Existing members keep NULL until the next pull of
Salesforce users fills it. On SQLite the member table is rebuilt in batch mode with foreign keys
off for the rebuild (`_foreign_keys_off`), so the rows that point at members are kept.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 09:30:00
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

FK = "fk_member_manager_id_member"
INDEX = "ix_member_manager_id"


def upgrade() -> None:
    with _foreign_keys_off(), op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("manager_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(FK, "member", ["manager_id"], ["id"], ondelete="SET NULL")
        batch_op.create_index(INDEX, ["manager_id"], unique=False)


def downgrade() -> None:
    with _foreign_keys_off(), op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_index(INDEX)
        batch_op.drop_constraint(FK, type_="foreignkey")
        batch_op.drop_column("manager_id")


@contextmanager
def _foreign_keys_off() -> Iterator[None]:
    """SQLite rebuilds the member table to change its constraints, and dropping the old copy
    with foreign keys on would run every ON DELETE of the tables that point at members (their
    relationships, sessions, credits... deleted). SQLite's own procedure for such a change: foreign
    keys off (only possible outside a transaction), rebuild, check, foreign keys on."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    bind.commit()
    raw = bind.connection.dbapi_connection
    assert raw is not None
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
        bind.commit()
        broken = raw.execute("PRAGMA foreign_key_check(member)").fetchall()
        if broken:
            raise RuntimeError(f"member rows with a dangling reference after the rebuild: {broken}")
    finally:
        raw.execute("PRAGMA foreign_keys=ON")
