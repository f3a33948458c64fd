"""Migration 0012 on a store with data, on SQLite and PostgreSQL: the partial index of pending
links (which resolve_pending's query uses), the `updated_at` indexes and the count of writes
(its triggers on SQLite) come up, and go back down leaving the rows as they were."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, select, text

from connector.store.migrate import downgrade, upgrade
from connector.store.models import SourceLink
from connector.store.models_refresh import COUNTED
from tests.conftest import fresh_db_url, store_at

BEFORE = "0011"  # the migration 0012 revises
INDEXES = {
    "source_link": {"ix_source_link_pending", "ix_source_link_updated"},
    "relationship": {"ix_relationship_updated"},
    "person": {"ix_person_updated"},
}
ROWS = (
    "INSERT INTO member (id, email, name, active, created_at, updated_at) "
    "VALUES (1, 'lea@us.example', 'Lea', true, '2026-01-01', '2026-01-01')",
    "INSERT INTO person (id, name, name_key, level, created_at, updated_at) "
    "VALUES (1, 'Ceo', 'ceo', 'c_level', '2026-01-01', '2026-01-01')",
    "INSERT INTO source_link (source, object, external_id, entity, pending, updated_at) "
    "VALUES ('salesforce', 'Contact', '003A', 'person', '{\"org\": [\"Account\", \"001A\"]}', "
    "'2026-01-01')",
)
RELATE = (
    "INSERT INTO relationship (member_id, person_id, is_owner, exclusive, signals, created_at, "
    "updated_at) VALUES (1, 1, false, false, '{}', '2026-01-01', '2026-01-01')"
)


def state(engine: Engine) -> tuple[Any, ...]:
    """(indexes of 0012 present, triggers present, whether change_count exists, links)."""
    insp = inspect(engine)
    names = {i["name"] for t in INDEXES for i in insp.get_indexes(t)}
    with engine.connect() as conn:
        links = conn.execute(text("SELECT count(*) FROM source_link")).scalar()
        triggers = set()
        if engine.dialect.name == "sqlite":
            found = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
            triggers = set(conn.execute(text(found)).scalars())
    wanted = set().union(*INDEXES.values())
    return wanted <= names, set(COUNTED) <= triggers, insp.has_table("change_count"), links


def pending_plan(engine: Engine) -> str:
    """The plan of resolve_pending's query over a source's pending links."""
    q = (
        select(SourceLink.id, SourceLink.pending)
        .where(SourceLink.source == "salesforce", SourceLink.pending.is_not(None))
        .where(SourceLink.id > 0)
        .order_by(SourceLink.id)
        .limit(5000)
    )
    sql = str(q.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":  # on a table this small it would rather scan
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            return " ".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {sql}"))
        return " ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))


def test_0012_up_and_down_with_data(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    engine = store_at(fresh_db_url(backend, tmp_path, request), BEFORE, ROWS)
    sqlite = backend == "sqlite"
    try:
        upgrade(engine)
        assert state(engine) == (True, sqlite, True, 1)
        assert "ix_source_link_pending" in pending_plan(engine)
        with engine.begin() as conn:
            conn.execute(text(RELATE))  # counted on SQLite: person and relationship writes
            conn.execute(text("UPDATE person SET level = 'vp' WHERE id = 1"))
            live = conn.execute(text("SELECT n FROM change_count WHERE name = 'live'")).scalar()
        assert live == (2 if sqlite else None)
        downgrade(engine, BEFORE)
        assert state(engine) == (False, False, False, 1)
        upgrade(engine)
        assert state(engine) == (True, sqlite, True, 1)
    finally:
        engine.dispose()
