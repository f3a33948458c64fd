"""Shared fixtures: a store on each backend (SQLite and PostgreSQL), and a way to run the CLI.

Every test that takes `engine` or `session` runs twice, once per backend. PostgreSQL tests use a
database of their own per test process (so parallel runs never collide); when the server is down
they skip, except under CI=true where that is a failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from connector.store.db import make_engine, session_factory
from connector.store.migrate import upgrade
from connector.store.models import Base

pytest_plugins = ["tests.sandbox_fixture"]

# every `carnet` the suite runs is a process of its own: no command server is started (the
# command server's own tests turn it on, in a folder of their own)
os.environ["CARNET_COMMAND_SERVER"] = "off"

PG_ADMIN_URL = os.environ.get("CARNET_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REPO = Path(__file__).resolve().parents[1]


def _pg_admin() -> Engine | None:
    try:
        admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
        return admin
    except Exception:
        return None


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test process; its URL."""
    admin = _pg_admin()
    if admin is None:
        if os.environ.get("CI"):
            pytest.fail(
                f"PostgreSQL is not reachable at {PG_ADMIN_URL}; CI must run the PostgreSQL tests"
            )
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
    name = f"carnet_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def fresh_db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An empty database of the backend: a new SQLite file, or a new PostgreSQL database."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'carnet.db'}"
    base = request.getfixturevalue("pg_database")
    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    name = f"carnet_t_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()

    def drop() -> None:
        a = make_engine(base, isolation_level="AUTOCOMMIT")
        with a.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        a.dispose()

    request.addfinalizer(drop)
    return base.rsplit("/", 1)[0] + f"/{name}"


def store_at(url: str, revision: str, rows: tuple[str, ...]) -> Engine:
    """An engine on a new store migrated up to `revision`, holding `rows` (SQL statements):
    what a migration's test upgrades from."""
    engine = make_engine(url)
    upgrade(engine, revision)
    with engine.begin() as conn:
        for sql in rows:
            conn.execute(text(sql))
    return engine


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def _pg_migrated(pg_database: str) -> Iterator[Engine]:
    engine = make_engine(pg_database)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated, empty store on each backend."""
    if backend == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'carnet.db'}")
        upgrade(eng)
        yield eng
        eng.dispose()
        return
    eng = request.getfixturevalue("_pg_migrated")
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with eng.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    yield eng


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with session_factory(engine)() as s:
        yield s


def run_carnet(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the `carnet` command as a user would, in a subprocess. The caller's CARNET_* variables
    are not inherited; pass them in `env` (the command server is off unless `env` turns it on)."""
    carnet = Path(sys.executable).parent / "carnet"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CARNET_")}
    full_env["CARNET_COMMAND_SERVER"] = "off"
    full_env.update(env or {})
    return subprocess.run(
        [str(carnet), *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout
    )
