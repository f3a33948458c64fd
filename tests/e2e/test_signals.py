"""Ctrl-C and SIGTERM during `carnet sync` (issue 13): the signal goes to the whole process group,
as a terminal sends Ctrl-C (and as a service manager often sends SIGTERM). The sync stops after
the page in hand, commits it, prints what it did and exits 130 (SIGINT) or 143 (SIGTERM): no
traceback from the sync nor from its pull process, and no process of the group left behind.

The stand-ins answer every call 150 ms late, so the signal arrives while the sync is still
pulling; it is sent after the stand-ins have served a few calls (in the run's own work, not
after some seconds). A first sync pulls in a child process, an incremental one in a thread of
the command (connector.sync.pulls_in_child): both stop the same way.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from connector.store.db import make_engine
from sandbox.runner import NAMES, Sandbox
from tests.conftest import fresh_db_url, run_carnet
from tests.e2e.test_processes import carnet, finish, group_members
from tests.sandbox_fixture import admin, calls_served, reset_sandbox

pytestmark = pytest.mark.timeout(300)
SLOW = {"rate": 1.0, "kinds": ["slow"], "slow_ms": 150}
ON_REQUEST = "stopped on request after a committed page; the next run carries on"


@pytest.fixture(autouse=True)
def _sandbox_reset_after(sandbox: Sandbox) -> Iterator[None]:
    """The faults set here do not reach the tests that use the session's sandbox next."""
    yield
    reset_sandbox(sandbox)


def interrupted_sync(sandbox: Sandbox, env: dict[str, str], sig: int) -> tuple[int, str, str]:
    """`carnet sync --json`, sent `sig` (to its whole group) after its third API call."""
    for name in NAMES:
        admin(sandbox, name, "POST", "/__sandbox/faults", SLOW)
    before = calls_served(sandbox)
    proc = carnet("--config", str(sandbox.config_file), "sync", "--json", env=env)
    while calls_served(sandbox) - before < 3 and proc.poll() is None:
        time.sleep(0.01)
    assert proc.poll() is None, "the sync ended before the signal"
    os.killpg(proc.pid, sig)
    return finish(proc, timeout=120)  # and the group is empty once it has exited


def stored(db_url: str, sql: str, **params: Any) -> list[Any]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params))
    finally:
        engine.dispose()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_signal_stops_the_sync_after_a_committed_page_without_a_traceback(
    fresh_sandbox: Sandbox, tmp_path: Path, request: pytest.FixtureRequest, backend: str, sig: int
) -> None:
    url = fresh_db_url(backend, tmp_path, request)
    env = {"CARNET_DATABASE_URL": url}
    done = run_carnet("--config", str(fresh_sandbox.config_file), "init", env=env)
    assert done.returncode == 0, done.stderr

    code, out, err = interrupted_sync(fresh_sandbox, env, sig)

    assert code == 128 + sig, err[-3000:]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-3000:]
    assert f"{signal.Signals(sig).name}: stopping after the page in hand" in err
    summary = json.loads(out)  # what was done, printed
    stops = [(s, o, r) for s, objs in summary.items() for o, r in objs.items() if "stopped" in r]
    assert [r["stopped"] for _, _, r in stops] == [ON_REQUEST], stops
    source, obj, run = stops[0]
    assert run["pulled"] > 0  # the page in hand was stored ...
    links = stored(url, "SELECT count(*) FROM source_link WHERE source = :s AND object = :o",
                   s=source, o=obj)[0][0]  # fmt: skip
    assert links > 0
    (counts,) = stored(url, "SELECT last_counts FROM sync_state WHERE source = :s AND object = :o",
                       s=source, o=obj)[0]  # fmt: skip
    counts = json.loads(counts) if isinstance(counts, str) else counts
    assert counts["pulled"] == run["pulled"]  # ... and committed with the state that says so


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_second_ctrl_c_stops_at_once_still_without_a_traceback(
    fresh_sandbox: Sandbox, tmp_path: Path, request: pytest.FixtureRequest, backend: str
) -> None:
    env = {"CARNET_DATABASE_URL": fresh_db_url(backend, tmp_path, request)}
    config = str(fresh_sandbox.config_file)
    assert run_carnet("--config", config, "init", env=env).returncode == 0
    for name in NAMES:  # a call takes 2 s: the first Ctrl-C alone would wait for it
        admin(fresh_sandbox, name, "POST", "/__sandbox/faults", SLOW | {"slow_ms": 2000})
    before = calls_served(fresh_sandbox)
    proc = carnet("--config", config, "sync", "--json", env=env)
    while calls_served(fresh_sandbox) - before < 2 and proc.poll() is None:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.stderr is not None
    said = ""
    while "SIGINT: stopping" not in said:  # the first one was taken: the second is a second
        line = proc.stderr.readline()
        assert line, "the sync ended before the second Ctrl-C"
        said += line
    os.killpg(proc.pid, signal.SIGINT)
    code, out, err = finish(proc, timeout=120)
    err = said + err
    assert code == 130, err[-3000:]
    assert "Traceback" not in err and "Exception ignored" not in err, err[-3000:]
    assert out == ""  # stopped at once: no summary
    assert run_carnet("--config", config, "status", env=env).returncode == 0  # the store is fine


def incremental_sync(sandbox: Sandbox, env: dict[str, str], slow_ms: int) -> subprocess.Popen[str]:
    """After a first sync, `carnet sync --json` again: each object from its cursor, its pull in
    a thread of the command (connector.sync.pulls_in_child); returned once a call that takes
    `slow_ms` is in hand, and the command still alone in its process group (no pull process)."""
    done = run_carnet("--config", str(sandbox.config_file), "sync", env=env)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    for name in NAMES:  # the queries (not the token calls) take `slow_ms`
        admin(sandbox, name, "POST", "/__sandbox/faults", SLOW | {"slow_ms": slow_ms})
    before = calls_served(sandbox)
    proc = carnet("--config", str(sandbox.config_file), "sync", "--json", env=env)
    while calls_served(sandbox) - before < 2 and proc.poll() is None:  # the token, a query
        time.sleep(0.01)
    assert proc.poll() is None, "the sync ended before the signal"
    assert [m.split()[0] for m in group_members(proc.pid)] == [str(proc.pid)]
    return proc


def test_an_incremental_sync_pulls_in_a_thread_and_stops_after_a_committed_page(
    fresh_sandbox: Sandbox, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    env = {"CARNET_DATABASE_URL": fresh_db_url("sqlite", tmp_path, request)}
    assert run_carnet("--config", str(fresh_sandbox.config_file), "init", env=env).returncode == 0
    proc = incremental_sync(fresh_sandbox, env, SLOW["slow_ms"])
    os.killpg(proc.pid, signal.SIGINT)
    code, out, err = finish(proc, timeout=120)
    assert code == 130, err[-3000:]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-3000:]
    summary = json.loads(out)
    stops = [r["stopped"] for objs in summary.values() for r in objs.values() if "stopped" in r]
    assert stops == [ON_REQUEST]


def test_a_second_ctrl_c_does_not_wait_for_the_call_in_hand_of_a_pull_thread(
    fresh_sandbox: Sandbox, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    env = {"CARNET_DATABASE_URL": fresh_db_url("sqlite", tmp_path, request)}
    config = str(fresh_sandbox.config_file)
    assert run_carnet("--config", config, "init", env=env).returncode == 0
    proc = incremental_sync(fresh_sandbox, env, 120_000)  # waited for, it would outlast `finish`
    try:
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.stderr is not None
        said = proc.stderr.readline()
        assert "SIGINT: stopping" in said, said
        os.killpg(proc.pid, signal.SIGINT)
        code, out, err = finish(proc, timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 130, (said + err)[-3000:]
    assert "Traceback" not in err and "Exception ignored" not in err, err[-3000:]
    assert out == ""  # stopped at once: no summary
    assert run_carnet("--config", config, "status", env=env).returncode == 0  # the store is fine
