"""Migration 0010 (member.manager_id) on a store with data, on SQLite and PostgreSQL: SQLite
rebuilds the member table, and the rows that point at members (relationships with ON DELETE
CASCADE, audit events with SET NULL) come through it untouched, up and back down again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, text

from connector.store.migrate import downgrade, upgrade
from tests.conftest import fresh_db_url, store_at

BEFORE = "0009"  # the migration 0010 revises
ROWS = (
    "INSERT INTO member (id, email, name, active, created_at, updated_at) VALUES "
    "(1, 'lea@us.example', 'Lea', true, '2026-01-01', '2026-01-01'), "
    "(2, 'rob@us.example', 'Rob', true, '2026-01-01', '2026-01-01')",
    "INSERT INTO person (id, name, name_key, level, created_at, updated_at) "
    "VALUES (1, 'Ceo', 'ceo', 'c_level', '2026-01-01', '2026-01-01')",
    "INSERT INTO relationship (member_id, person_id, is_owner, exclusive, signals, created_at, "
    "updated_at) VALUES (1, 1, false, false, '{}', '2026-01-01', '2026-01-01')",
    "INSERT INTO audit_event (at, actor_id, action, subject_type, details) "
    "VALUES ('2026-01-01', 2, 'test', 'member', '{}')",
)


def counts(engine: Engine) -> tuple[Any, Any, Any]:
    """(relationships, members, the audit event's actor)."""
    with engine.connect() as conn:
        return (
            conn.execute(text("SELECT count(*) FROM relationship")).scalar(),
            conn.execute(text("SELECT count(*) FROM member")).scalar(),
            conn.execute(text("SELECT actor_id FROM audit_event")).scalar(),
        )


def test_the_rows_pointing_at_members_survive_up_and_down(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    engine = store_at(fresh_db_url(backend, tmp_path, request), BEFORE, ROWS)
    try:
        upgrade(engine)
        assert "manager_id" in {c["name"] for c in inspect(engine).get_columns("member")}
        assert counts(engine) == (1, 2, 2)
        with engine.begin() as conn:
            conn.execute(text("UPDATE member SET manager_id = 1 WHERE id = 2"))
        downgrade(engine, BEFORE)
        assert "manager_id" not in {c["name"] for c in inspect(engine).get_columns("member")}
        assert counts(engine) == (1, 2, 2)
    finally:
        engine.dispose()
