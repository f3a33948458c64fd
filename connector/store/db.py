"""Engines, sessions and migrations for the overlay store, on SQLite or PostgreSQL.

SQLite runs with WAL, foreign keys on, a busy timeout and BEGIN IMMEDIATE, in a file made mode
0600 (its -wal and -shm files take the same mode); PostgreSQL through psycopg 3. Alembic
migrations ship inside the package, so `carnet init` works from an installed wheel; running them
is connector.store.migrate's (the only module that imports Alembic). Here, the cheap check every
command makes at start: the store's `alembic_version` read with a plain query, against the head
revision read from the migration files' `revision =` / `down_revision =` lines.

A store that cannot be used as it is becomes one line naming it and what to do, in one place
(`_store_problem`, on every engine): a full disk (StoreFull), a file that is not a database
(NotAStore), a migration this Carnet does not know (StoreTooNew, from `current_revision`).
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from connector.core.errors import (
    FatalError,
    NotAStore,
    StoreFull,
    StoreTooNew,
    UsageError,
)

MIGRATIONS = Path(__file__).parent / "migrations"
# SQLite's page cache per connection, at most (the default is 2 MiB); a sort holds as much in
# memory before it spills to a temporary file. 16 MiB held 10 MB more of a sync's peak (its
# cache and its write-back refresh's sorts) and the sync was no faster: the operating system
# caches the file too
CACHE_KIB = 8192
# prepared statements the driver keeps per connection (Python's default is 128): a sync's
# multi-row inserts and long IN lists compile to programs of up to a megabyte each, and 128 of
# them held 20-30 MB; the few a page runs again and again stay prepared
CACHED_STATEMENTS = 16
SERVING_STATEMENTS = 128  # a web server's pages run the same few dozen again and again


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
    # temporary files in files: each page of a sync is stored in a savepoint, whose journal (the
    # pages it changed, as they were) SQLite keeps in a temporary file; in memory it held 40-60
    # MB of a sync's peak, more the larger the store (more pages touched per page of records);
    # a file's first 64 KiB stay in memory, the rest goes to the operating system's cache
    cur.execute("PRAGMA temp_store=FILE")
    cur.close()


def _begin_immediate(conn: Connection) -> None:
    """Every transaction takes SQLite's write lock when it begins, waiting up to the busy
    timeout for it. A deferred one that read first and then wrote would fail at once with
    "database is locked" when another writer committed in between (its snapshot is stale).
    Pure readers (`read_only_sessions`) begin deferred: under WAL they never wait."""
    conn.info.pop(_ROLLED_BACK_FULL, None)
    if conn.get_execution_options().get("carnet_read_only"):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, statements: int = CACHED_STATEMENTS, **kwargs: Any) -> Engine:
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
    # no error message, traceback or log line carries a statement's values (names, emails)
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"cached_statements": statements} | kwargs.get("connect_args", {})
    elif parsed.get_driver_name() == "psycopg":
        # no server-side prepared statements: after five runs of one statement psycopg prepares
        # it, and PostgreSQL may then plan it once for any values. A page's lookup of 2,000 ids
        # (`IN (...)`) planned so tested each link of the object against each id: 0.4 s a page on
        # average, 1.0 s once an object has 30,000 links; planned with its values, 15 ms. (Also
        # what PgBouncer in transaction mode asks of its clients.)
        kwargs["connect_args"] = {"prepare_threshold": None} | kwargs.get("connect_args", {})
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "do_connect", _private_file)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _begin_immediate)
    event.listen(engine, "handle_error", _store_problem)
    return engine


def store_name(url: URL) -> str:
    """The store as a message names it: the SQLite file's path, or the PostgreSQL URL without
    its password."""
    if url.get_backend_name() == "sqlite":
        return str(Path(url.database).resolve()) if url.database else ":memory:"
    return url.set(drivername=url.get_backend_name(), password=None).render_as_string()


def _private_file(dialect: Any, conn_rec: Any, cargs: Any, cparams: Any) -> None:
    """Before SQLite first opens the store: create its file readable and writable by its owner
    only (0600, like the secret files); SQLite gives the -wal and -shm files the same mode."""
    path = cargs[0] if cargs else cparams.get("database")
    if not path or path == ":memory:" or str(path).startswith("file:"):
        return
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


SQLITE_FULL, SQLITE_NOTADB = 13, 26  # SQLite's primary result codes
PG_DISK_FULL = "53100"  # PostgreSQL's SQLSTATE disk_full
# SQLite rolls the whole transaction back on SQLITE_FULL: what then fails in it (the rollback to a
# savepoint it took along) fails because the disk is full
_ROLLED_BACK_FULL = "carnet_rolled_back_full"


def _store_problem(context: ExceptionContext) -> None:
    """Every database error passes here: the few that mean the store cannot be used as it is
    are raised as one line naming it and what to do; the others go on unchanged."""
    error, engine = context.original_exception, context.engine
    if engine is None:
        return
    code = getattr(error, "sqlite_errorcode", 0) & 0xFF if isinstance(error, sqlite3.Error) else 0
    conn = context.connection
    if code == SQLITE_FULL and conn is not None:
        conn.info[_ROLLED_BACK_FULL] = True  # until the next transaction begins
    lost = conn is not None and conn.info.get(_ROLLED_BACK_FULL, False)
    if code == SQLITE_FULL or lost or getattr(error, "sqlstate", None) == PG_DISK_FULL:
        raise StoreFull(store_name(engine.url), _FULL) from None
    if code == SQLITE_NOTADB:
        raise NotAStore(store_name(engine.url), _NOT_A_DB) from None


_FULL = (
    "the disk holding the store is full: free some space, then run the command again "
    "(nothing was lost: the transaction in hand was rolled back)"
)
_NOT_A_DB = (
    "not a Carnet store (the file is not a database): point database_url at the store, "
    "or move this file away and run 'carnet init' to create a new one"
)


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


VERSIONS = MIGRATIONS / "versions"
VERSION_TABLE = "alembic_version"  # Alembic's own table and column


# a migration file's `revision = "0007"` and `down_revision = "0006"` (or None, or a tuple)
_ASSIGNED = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.+?)\s*(?:#.*)?$", re.M)
_QUOTED = re.compile(r"""["']([^"']+)["']""")


@cache
def _migrations() -> dict[str, tuple[str, ...]]:
    """Every migration this Carnet ships: its revision and the ones it revises, read from the
    files' `revision =` and `down_revision =` lines (without importing Alembic or the files)."""
    graph: dict[str, tuple[str, ...]] = {}
    for path in sorted(VERSIONS.glob("[!_]*.py")):
        source = path.read_text(encoding="utf-8")
        found: dict[str, str] = {m[1]: m[2] for m in _ASSIGNED.finditer(source)}  # the last wins
        revision = _QUOTED.fullmatch(found.get("revision", ""))
        if revision is None:
            raise FatalError(f'{path}: no `revision = "..."` line: not a Carnet migration')
        graph[revision[1]] = tuple(_QUOTED.findall(found.get("down_revision", "")))
    return graph


def head_revision() -> str:
    """The newest migration: the one no other revises (exactly one; the files are checked)."""
    graph = _migrations()
    revised = {down for downs in graph.values() for down in downs}
    heads = sorted(set(graph) - revised)
    if len(heads) != 1:
        raise FatalError(f"the migrations shipped in {VERSIONS} have heads {heads}, not one")
    return heads[0]


def known_revisions() -> frozenset[str]:
    """Every migration this Carnet ships."""
    return frozenset(_migrations())


def current_revision(engine: Engine) -> str | None:
    """The store's migration (None: not initialised). StoreTooNew when a newer Carnet migrated
    it: this one must not read it, nor try to migrate it."""
    try:
        with engine.connect() as conn:
            rev = _stored_revision(conn)
    except OperationalError as exc:
        raise FatalError(f"cannot reach the store: {exc.orig}") from None
    if rev is not None and rev not in known_revisions():
        raise StoreTooNew(
            store_name(engine.url),
            f"migrated by a newer Carnet (migration {rev}; this Carnet knows up to "
            f"{head_revision()}): upgrade Carnet to open this store; it was left as it is",
        )
    return rev


def _stored_revision(conn: Connection) -> str | None:
    """What Alembic's MigrationContext.get_current_revision answers, by a plain query: None without
    the version table or with it empty; an error when it holds several heads (Carnet has one)."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    rows = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(rows) > 1:
        raise FatalError(f"the store has several migration heads ({', '.join(sorted(rows))})")
    return rows[0] if rows else None


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
