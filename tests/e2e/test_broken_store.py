"""Stores Carnet cannot use as they are (issue 13): a full disk, a file that is not a database, a
store migrated by a newer Carnet. Each ends a command with one line naming the store and what to
do, exit 1 (a full disk) or 2 (the others), no traceback, and the store left as it was. And a
new SQLite store is made 0600, its -wal and -shm files too.

How the disk is made full, without root: SQLite answers SQLITE_FULL ("database or disk is full",
the error a full disk gives it) as well when the database reaches its `max_page_count`, a limit
each connection sets for itself; so the CLI is started through a few lines (FULL_AT) that set it
on every connection the command opens, then run `carnet` unchanged. (A file-size rlimit gives
EFBIG, which SQLite reports as an I/O error, not as a full disk.) On PostgreSQL, a trigger
raises the server's own disk-full error (SQLSTATE 53100, psycopg's DiskFull) once the store
holds a given number of links.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from connector.store.db import head_revision, make_engine, normalise_url, store_name
from sandbox.runner import NAMES, Sandbox
from tests.conftest import fresh_db_url, run_carnet
from tests.sandbox_fixture import admin, reset_sandbox

pytestmark = pytest.mark.timeout(300)

FULL_AT = """
import sqlite3, sys
from sqlite3 import dbapi2
from connector.cli.main import main

PAGES = int(sys.argv.pop(1))

def connect(*args, _connect=dbapi2.connect, **kwargs):
    conn = _connect(*args, **kwargs)
    conn.execute(f"PRAGMA max_page_count = {PAGES}")
    return conn

sqlite3.connect = dbapi2.connect = connect
sys.argv[0] = "carnet"
sys.exit(main())
"""
DISK_FULL_TRIGGER = [  # the disk "fills" as the 150th link is written
    """CREATE FUNCTION carnet_test_disk_full() RETURNS trigger AS $$
    BEGIN
      IF (SELECT count(*) FROM source_link) >= 150 THEN
        RAISE EXCEPTION 'could not extend file "base/16384/16385": No space left on device'
          USING ERRCODE = 'disk_full', HINT = 'Check free disk space.';
      END IF;
      RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER carnet_test_disk_full BEFORE INSERT ON source_link
      FOR EACH ROW EXECUTE FUNCTION carnet_test_disk_full()""",
]
FULL = (
    "the disk holding the store is full: free some space, then run the command again "
    "(nothing was lost: the transaction in hand was rolled back)"
)


@pytest.fixture(autouse=True)
def _sandbox_reset_after(sandbox: Sandbox) -> Iterator[None]:
    """The faults set here do not reach the tests that use the session's sandbox next."""
    yield
    reset_sandbox(sandbox)


def where(url: str) -> str:
    """The store as Carnet's messages name it."""
    return store_name(make_engine(url).url)


def sql(url: str, statement: str, **params: Any) -> list[Any]:
    engine = make_engine(normalise_url(url))
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def init(config: Path, env: dict[str, str]) -> None:
    done = run_carnet("--config", str(config), "init", env=env)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_full_disk_stops_the_sync_with_one_line_and_loses_nothing(
    fresh_sandbox: Sandbox, tmp_path: Path, request: pytest.FixtureRequest, backend: str
) -> None:
    url = fresh_db_url(backend, tmp_path, request)
    env = {"CARNET_DATABASE_URL": url}
    config = str(fresh_sandbox.config_file)
    init(fresh_sandbox.config_file, env)
    if backend == "sqlite":
        (pages,) = sql(url, "PRAGMA page_count")[0]
        full = sync_through(FULL_AT, str(pages + 40), "--config", config, "sync", env=env)
    else:
        for statement in DISK_FULL_TRIGGER:
            sql(url, statement)
        full = run_carnet("--config", config, "sync", env=env)

    assert full.returncode == 1, full.stderr[-3000:]
    assert "Traceback" not in full.stderr
    assert errors(full.stderr) == [f"error: {where(url)}: {FULL}"], full.stderr[-3000:]
    # what was committed before the disk filled stays: the first objects, with their cursors
    done = sql(url, "SELECT object FROM sync_state WHERE cursor IS NOT NULL")
    assert ("User",) in done
    assert sql(url, "SELECT count(*) FROM source_link WHERE object = 'User'")[0][0] > 0

    if backend == "sqlite":
        assert sql(url, "PRAGMA integrity_check") == [("ok",)]
    else:
        sql(url, "DROP TRIGGER carnet_test_disk_full ON source_link")
    again = run_carnet("--config", config, "sync", "--json", env=env)  # space freed
    assert again.returncode in (0, 1), again.stderr[-3000:]
    summary = json.loads(again.stdout)
    assert not [o for objs in summary.values() for o, r in objs.items() if "stopped" in r]


def sync_through(script: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CARNET_")} | env
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=240,
    )


COMMANDS = [["status"], ["init"], ["sync"], ["who-knows", "nobody@example.com", "--as", "x@y.z"]]


def test_a_file_that_is_not_a_database_is_named_and_left_alone(
    fresh_sandbox: Sandbox, tmp_path: Path
) -> None:
    store = tmp_path / "carnet.db"
    junk = b"Notes for the sales meeting, not a database.\n" * 100
    store.write_bytes(junk)
    env = {"CARNET_DATABASE_URL": f"sqlite:///{store}"}
    said = (
        f"error: {store.resolve()}: not a Carnet store (the file is not a database): point "
        "database_url at the store, or move this file away and run 'carnet init' to create a "
        "new one"
    )
    for command in COMMANDS:
        done = run_carnet("--config", str(fresh_sandbox.config_file), *command, env=env)
        assert done.returncode == 2, (command, done.stderr[-3000:])
        assert errors(done.stderr) == [said], (command, done.stderr[-3000:])
        assert "Traceback" not in done.stderr
    assert store.read_bytes() == junk


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_store_of_a_newer_carnet_is_named_and_left_alone(
    fresh_sandbox: Sandbox, tmp_path: Path, request: pytest.FixtureRequest, backend: str
) -> None:
    url = fresh_db_url(backend, tmp_path, request)
    env = {"CARNET_DATABASE_URL": url}
    init(fresh_sandbox.config_file, env)
    sql(url, "UPDATE alembic_version SET version_num = '0099_from_a_newer_carnet'")
    tables = sql(url, "SELECT count(*) FROM sync_state")
    said = (
        f"error: {where(url)}: migrated by a newer Carnet (migration 0099_from_a_newer_carnet; "
        f"this Carnet knows up to {head_revision()}): upgrade Carnet to open this store; it was "
        "left as it is"
    )
    for command in COMMANDS:
        done = run_carnet("--config", str(fresh_sandbox.config_file), *command, env=env)
        assert done.returncode == 2, (command, done.stderr[-3000:])
        assert errors(done.stderr) == [said], (command, done.stderr[-3000:])
        assert "Traceback" not in done.stderr
    assert sql(url, "SELECT version_num FROM alembic_version") == [("0099_from_a_newer_carnet",)]
    assert sql(url, "SELECT count(*) FROM sync_state") == tables


def test_the_sqlite_store_and_its_wal_and_shm_are_made_0600(
    fresh_sandbox: Sandbox, tmp_path: Path
) -> None:
    store = tmp_path / "carnet.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARNET_")}
    env["CARNET_DATABASE_URL"] = f"sqlite:///{store}"
    carnet = str(Path(sys.executable).parent / "carnet")
    config = str(fresh_sandbox.config_file)
    init_done = subprocess.run(
        [carnet, "--config", config, "init"], env=env, capture_output=True, umask=0o022
    )
    assert init_done.returncode == 0, init_done.stderr
    assert stat.S_IMODE(store.stat().st_mode) == 0o600

    for name in NAMES:  # a slow sync: its -wal and -shm files are there while it runs
        admin(fresh_sandbox, name, "POST", "/__sandbox/faults", {"rate": 1.0, "kinds": ["slow"]})
    wal, shm = Path(f"{store}-wal"), Path(f"{store}-shm")
    args = [carnet, "--config", config, "sync"]
    with subprocess.Popen(
        args, env=env, stdout=subprocess.DEVNULL, umask=0o022, start_new_session=True
    ) as sync:
        deadline = time.monotonic() + 120
        while not (wal.exists() and shm.exists()) and time.monotonic() < deadline:
            time.sleep(0.01)
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (wal, shm)}
        os.killpg(sync.pid, signal.SIGINT)  # no need to wait for the whole sync
    assert modes == {wal.name: 0o600, shm.name: 0o600}


def test_sqlite_really_calls_a_store_at_its_page_limit_full(tmp_path: Path) -> None:
    """What the full-disk test relies on: the error SQLite gives is SQLITE_FULL."""
    conn = sqlite3.connect(tmp_path / "limit.db")
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    (pages,) = conn.execute("PRAGMA page_count").fetchone()
    conn.execute(f"PRAGMA max_page_count = {pages + 1}")
    with pytest.raises(sqlite3.OperationalError) as caught:
        for _ in range(100):
            conn.execute("INSERT INTO t VALUES (?)", ("x" * 4000,))
    assert caught.value.sqlite_errorname == "SQLITE_FULL"
    conn.close()
