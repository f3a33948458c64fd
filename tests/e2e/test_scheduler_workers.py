"""Three `carnet run` workers against one PostgreSQL store and the sandbox, for a bounded time:
every scheduled run happens exactly once (no slot twice, none lost, no two runs at once), the
work is shared, `carnet status --json` shows next runs and lease holders, and SIGTERM makes each
worker exit 0 within 10 s."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from sandbox.runner import Sandbox
from tests.conftest import fresh_db_url, run_carnet
from tests.e2e.scheduler_support import (
    init_store,
    runs,
    start_worker,
    stop_worker,
    wait_until,
    worker_config,
)

EVERY = {"salesforce": 3, "exchange": 4, "hubspot": 6}  # seconds
RUN_FOR = 18.0


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _status(config: Path, url: str) -> dict[str, Any]:
    done = run_carnet("--config", str(config), "status", "--json", env={"CARNET_DATABASE_URL": url})
    assert done.returncode == 0, done.stderr
    doc: dict[str, Any] = json.loads(done.stdout)
    return doc


@pytest.mark.timeout(150)
def test_three_workers_run_every_slot_exactly_once(
    fresh_sandbox: Sandbox, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = fresh_db_url("postgresql", tmp_path, request)
    config = worker_config(fresh_sandbox, {k: f"{v}s" for k, v in EVERY.items()})
    init_store(config, url)
    first = run_carnet("--config", str(config), "sync", env={"CARNET_DATABASE_URL": url})
    assert first.returncode in (0, 1), first.stderr  # the workers' runs are incremental ones
    logs = [tmp_path / f"worker{i}.log" for i in range(3)]
    workers = [start_worker(config, url, log) for log in logs]
    try:
        started = time.monotonic()
        # while they run, status shows who holds which lease and when each source runs next
        seen = wait_until(
            lambda: [x for x in _status(config, url)["leases"] if not x["expired"]], timeout=15
        )
        assert {x["name"] for x in seen} <= {"overlay", *(f"sync:{s}" for s in EVERY)}
        asked = datetime.now(UTC)
        doc = _status(config, url)
        answered = datetime.now(UTC)
        for source, every in EVERY.items():
            due = _at(doc["sources"][source]["next_run"])
            assert asked < due <= answered + timedelta(seconds=every)
            assert doc["sources"][source]["every"] == f"{every}s"
        time.sleep(max(0.0, RUN_FOR - (time.monotonic() - started)))
    finally:
        stopped = [stop_worker(w) for w in workers]
    output = "\n".join(log.read_text() for log in logs)
    assert [code for code, _ in stopped] == [0, 0, 0], output[-3000:]
    assert all(seconds < 10 for _, seconds in stopped), stopped

    recorded = runs(url)
    by_job: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for run in recorded:
        by_job[run["job"]].append(run)
    assert set(by_job) == {f"sync:{s}" for s in EVERY}, "no full run was due"
    for job, job_runs in by_job.items():
        step = timedelta(seconds=EVERY[job.split(":")[1]])
        assert all(r["status"] in ("ok", "stopped") for r in job_runs), job_runs
        # each run covers the slots since the one before it (several when coalesced), so the
        # slots from the first to the last are each covered exactly once: none twice, none lost
        for before, after in pairwise(job_runs):
            assert _at(after["covers_from"]) == _at(before["scheduled_for"]) + step, (job, after)
        for run in job_runs:
            span = _at(run["scheduled_for"]) - _at(run["covers_from"])
            assert run["slots"] == span / step + 1, run
        slots = sum(r["slots"] for r in job_runs)
        assert slots >= RUN_FOR / step.total_seconds() - 2, (job, slots)
        assert len(job_runs) >= 0.5 * slots, f"{job}: {len(job_runs)} runs for {slots} slots"
    # one sync writes to the overlay at a time: no two runs overlap, whatever their source
    spans = sorted((_at(r["started_at"]), _at(r["finished_at"]), r["job"]) for r in recorded)
    for (_, end, job), (start, _, nxt) in pairwise(spans):
        assert start >= end, f"{nxt} started before {job} ended"
    assert len({r["worker"] for r in recorded}) >= 2, "the work was not shared"
    json_lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    done = [x for x in json_lines if x.get("event") == "run"]
    assert sorted(x["run_id"] for x in done) == sorted(r["run_id"] for r in recorded)
