"""Migrations go up, all the way down, and up again on both backends, and match the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from connector.store.db import current_revision, head_revision, make_engine
from connector.store.migrate import downgrade, upgrade
from connector.store.models import Base
from tests.conftest import fresh_db_url


def test_upgrade_downgrade_upgrade(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    engine = make_engine(fresh_db_url(backend, tmp_path, request))
    try:
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        downgrade(engine, "base")
        assert current_revision(engine) is None
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_migrations_match_models(engine: Engine) -> None:
    """No model change is left without a migration."""
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata
        )
    assert diff == []


def test_indexes_for_the_lookups_that_matter(engine: Engine) -> None:
    insp = inspect(engine)

    def indexed(table: str, cols: list[str]) -> bool:
        idx = [i["column_names"] for i in insp.get_indexes(table)]
        uq = [u["column_names"] for u in insp.get_unique_constraints(table)]
        pk = [insp.get_pk_constraint(table)["constrained_columns"]]
        return any(c[: len(cols)] == cols for c in idx + uq + pk)

    assert indexed("person_email", ["email"])
    assert indexed("relationship", ["person_id"])
    assert indexed("relationship", ["member_id"])
    assert indexed("source_link", ["source", "object", "external_id"])
    assert indexed("outbox", ["status"])
    assert indexed("org_domain", ["domain"])
