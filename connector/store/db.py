"""Engines, sessions and migrations for the overlay store, on SQLite or PostgreSQL.

SQLite runs with WAL, foreign keys on, a busy timeout and BEGIN IMMEDIATE; PostgreSQL through
psycopg 3. Alembic migrations ship inside the package, so `carnet init` works from an installed
wheel.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from connector.core.errors import FatalError, UsageError

MIGRATIONS = Path(__file__).parent / "migrations"
CACHE_KIB = 65536  # SQLite's page cache per connection, at most (the default is 2 MiB)


def normalise_url(url: str) -> str:
    """postgresql:// and postgres:// mean psycopg 3 here."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # the driver's own BEGIN off: _begin_immediate says it
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    # a sync reads back the links and relationships it wrote pages ago: keep them in memory
    cur.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


def _begin_immediate(conn: Connection) -> None:
    """Every transaction takes SQLite's write lock when it begins, waiting up to the busy
    timeout for it. A deferred one that read first and then wrote would fail at once with
    "database is locked" when another writer committed in between (its snapshot is stale).
    Pure readers (`read_only_sessions`) begin deferred: under WAL they never wait."""
    if conn.get_execution_options().get("carnet_read_only"):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UsageError(f"database_url is not a database URL: {url!r}") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise UsageError(
            f"database_url: unsupported database {parsed.get_backend_name()!r} "
            "(use sqlite or postgresql)"
        )
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        folder = Path(parsed.database).parent
        if not folder.is_dir():
            raise UsageError(f"database_url: the folder {folder} does not exist")
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _begin_immediate)
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def read_only_sessions(engine: Engine) -> sessionmaker[Session]:
    """Sessions for answers that write nothing (status, reports): on SQLite they take no write
    lock, so they never wait for a running sync."""
    return sessionmaker(engine.execution_options(carnet_read_only=True), expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work commits together, or not at all."""
    with factory() as session, session.begin():
        yield session


def _alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    script = ScriptDirectory.from_config(_alembic_config(create_engine("sqlite://")))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:
        raise FatalError(f"cannot reach the store: {exc.orig}") from None


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(_alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    command.downgrade(_alembic_config(engine), revision)


def require_current(engine: Engine) -> None:
    """Refuse to work on a store that is missing or behind the code's migrations."""
    rev = current_revision(engine)
    if rev is None:
        raise UsageError("the store is not initialised: run 'carnet init'")
    if rev != head_revision():
        raise UsageError(
            f"the store is at migration {rev}, this Carnet needs {head_revision()}: "
            "run 'carnet init'"
        )
