"""The schema check every command makes at start (issue 16): a plain query of `alembic_version`
against the head read from the migration files, with no Alembic imported. It answers what
Alembic answers, on both backends, for a store that is current, behind, ahead (a newer Carnet's)
or not initialised, with the messages the commands have always printed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from connector.core.errors import FatalError, StoreTooNew, UsageError
from connector.store.db import (
    MIGRATIONS,
    current_revision,
    head_revision,
    known_revisions,
    make_engine,
    require_current,
    store_name,
)
from connector.store.migrate import upgrade
from tests.conftest import fresh_db_url


def _alembic_script() -> ScriptDirectory:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg)


def _alembic_says(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@pytest.fixture
def empty(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A database of the backend with nothing in it."""
    engine = make_engine(fresh_db_url(backend, tmp_path, request))
    yield engine
    engine.dispose()


def _previous() -> str:
    script = _alembic_script()
    down = script.get_revision(head_revision()).down_revision
    assert isinstance(down, str)
    return down


def test_the_head_and_the_revisions_read_from_the_files_are_alembics() -> None:
    script = _alembic_script()
    assert head_revision() == script.get_current_head()
    assert known_revisions() == {rev.revision for rev in script.walk_revisions()}


def test_a_store_never_initialised_is_refused_as_before(empty: Engine) -> None:
    assert current_revision(empty) is None
    assert _alembic_says(empty) is None
    with pytest.raises(UsageError) as refused:
        require_current(empty)
    assert str(refused.value) == "the store is not initialised: run 'carnet init'"


def test_a_current_store_passes(empty: Engine) -> None:
    upgrade(empty)
    assert current_revision(empty) == head_revision() == _alembic_says(empty)
    require_current(empty)  # no error


def test_a_store_behind_is_told_to_run_init(empty: Engine) -> None:
    upgrade(empty, _previous())
    assert current_revision(empty) == _previous() == _alembic_says(empty)
    with pytest.raises(UsageError) as refused:
        require_current(empty)
    assert str(refused.value) == (
        f"the store is at migration {_previous()}, this Carnet needs {head_revision()}: "
        "run 'carnet init'"
    )
    upgrade(empty)  # what `carnet init` does: then it passes
    require_current(empty)


def test_a_store_of_a_newer_carnet_is_refused_and_left_alone(empty: Engine) -> None:
    upgrade(empty)
    with empty.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099_newer'"))
    for check in (current_revision, require_current):
        with pytest.raises(StoreTooNew) as refused:
            check(empty)
        assert str(refused.value) == (
            f"{store_name(empty.url)}: migrated by a newer Carnet (migration 0099_newer; this "
            f"Carnet knows up to {head_revision()}): upgrade Carnet to open this store; it was "
            "left as it is"
        )
    with pytest.raises(StoreTooNew):
        upgrade(empty)  # nor migrated
    assert _alembic_says(empty) == "0099_newer"


def test_an_emptied_version_table_is_not_initialised_and_two_heads_are_an_error(
    empty: Engine,
) -> None:
    upgrade(empty)
    with empty.begin() as conn:
        conn.execute(text("DELETE FROM alembic_version"))
    assert current_revision(empty) is None
    assert _alembic_says(empty) is None
    with empty.begin() as conn:
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('0001'), ('0002')"))
    with pytest.raises(FatalError, match=re.escape("several migration heads (0001, 0002)")):
        current_revision(empty)


def test_a_store_that_cannot_be_reached_is_one_line(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}")  # a folder: SQLite cannot open it
    with pytest.raises(FatalError, match=r"^cannot reach the store: unable to open database file"):
        current_revision(engine)
    engine.dispose()
