"""`carnet run` when a worker dies or is told to stop in the middle of a slow run: the lease of a
worker killed with SIGKILL is taken over by another once it expires (not before), and SIGTERM
ends a run after the page in hand and exits 0 within 10 s."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sandbox.runner import Sandbox
from tests.conftest import fresh_db_url, run_carnet
from tests.e2e.scheduler_support import (
    init_store,
    runs,
    sqlite_url,
    start_worker,
    stop_worker,
    wait_until,
    worker_config,
)
from tests.sandbox_fixture import admin

SLOW = {"rate": 1.0, "kinds": ["slow"], "slow_ms": 1200}


@pytest.fixture
def slow_salesforce(fresh_sandbox: Sandbox) -> Iterator[Sandbox]:
    """The sandbox with only Salesforce's answers slowed, put back afterwards."""
    yield fresh_sandbox
    admin(fresh_sandbox, "salesforce", "POST", "/__sandbox/faults", json={"rate": 0})


def _slow(sandbox: Sandbox, on: bool) -> None:
    admin(sandbox, "salesforce", "POST", "/__sandbox/faults", json=SLOW if on else {"rate": 0})


def _synced(config: Path, url: str) -> None:
    done = run_carnet("--config", str(config), "sync", env={"CARNET_DATABASE_URL": url})
    assert done.returncode in (0, 1), done.stderr


def _leases(config: Path, url: str) -> dict[str, dict[str, Any]]:
    done = run_carnet("--config", str(config), "status", "--json", env={"CARNET_DATABASE_URL": url})
    assert done.returncode == 0, done.stderr
    return {x["name"]: x for x in json.loads(done.stdout)["leases"]}


def _running(url: str) -> dict[str, Any] | None:
    going = [r for r in runs(url, "sync:salesforce") if r["status"] == "running"]
    return going[-1] if going else None


@pytest.mark.timeout(120)
def test_the_lease_of_a_killed_worker_is_taken_over_after_it_expires(
    slow_salesforce: Sandbox, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = fresh_db_url("postgresql", tmp_path, request)
    config = worker_config(slow_salesforce, {"salesforce": "2s"}, lease_seconds=10)
    init_store(config, url)
    _synced(config, url)
    _slow(slow_salesforce, True)
    first = start_worker(config, url, tmp_path / "first.log")
    try:
        dead = wait_until(lambda: _running(url), timeout=20)
        time.sleep(1.0)
    finally:
        code, _ = stop_worker(first, signal.SIGKILL)
    assert code == -signal.SIGKILL
    held = _leases(config, url)["sync:salesforce"]
    assert held["holder"].startswith(dead["worker"]) and not held["expired"]
    expires = datetime.fromisoformat(held["expires_at"])
    _slow(slow_salesforce, False)
    second = start_worker(config, url, tmp_path / "second.log")
    try:
        taken = wait_until(
            lambda: [r for r in runs(url, "sync:salesforce") if r["status"] == "ok"], timeout=40
        )[0]
    finally:
        code, seconds = stop_worker(second)
    log = (tmp_path / "second.log").read_text()
    assert code == 0 and seconds < 10, log[-2000:]
    assert taken["worker"] != dead["worker"]
    assert datetime.fromisoformat(taken["started_at"]) >= expires
    assert (
        "skipped, lease sync:salesforce is held by another run" in log
    )  # while the lease was valid
    # the killed run stays as it was left; the next covers every slot since it
    left = next(r for r in runs(url, "sync:salesforce") if r["run_id"] == dead["run_id"])
    assert left["status"] == "running" and "finished_at" not in left
    assert taken["covers_from"] > dead["scheduled_for"]


@pytest.mark.timeout(90)
def test_sigterm_ends_a_slow_run_after_its_page_and_exits_0_within_10_s(
    slow_salesforce: Sandbox, tmp_path: Path
) -> None:
    url = sqlite_url(tmp_path)
    config = worker_config(slow_salesforce, {"salesforce": "2s"})
    init_store(config, url)
    _synced(config, url)
    _slow(slow_salesforce, True)
    worker = start_worker(config, url, tmp_path / "worker.log")
    try:
        going = wait_until(lambda: _running(url), timeout=20)
        time.sleep(1.5)  # inside the run: token, then the first slow pages
    finally:
        code, seconds = stop_worker(worker)
    log = (tmp_path / "worker.log").read_text()
    assert code == 0, log[-2000:]
    assert seconds < 10
    ended = next(r for r in runs(url, "sync:salesforce") if r["run_id"] == going["run_id"])
    assert ended["status"] == "stopped" and ended["finished_at"]
    assert any("stopped on request" in e for e in ended["errors"])
    lines = [json.loads(x) for x in log.splitlines() if x.startswith("{")]
    assert [x["message"] for x in lines if x.get("event") == "stop"] == [
        f"worker {ended['worker']} stopped"
    ]
    assert _leases(config, url) == {}  # given back on the way out
