"""`carnet run` against the sandbox with a short interval: a change a CRM user makes to a contact
(its title, its owner) reaches the overlay, and the value Carnet writes back that it changes (the
relationship owner) is in the CRM record, within one interval of the change. And the nightly full
reconciliation waits for its source's lease where a sync skips."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connector.store.db import make_engine
from sandbox.runner import Sandbox
from scheduler.leases import acquire, release
from tests.conftest import run_carnet
from tests.e2e.scheduler_support import (
    init_store,
    runs,
    sqlite_url,
    start_worker,
    stop_worker,
    wait_until,
    worker_config,
)
from tests.sandbox_fixture import admin, reset_sandbox

EVERY = 3  # seconds
TITLE = "Chief Carnet Officer"


@pytest.fixture
def sandbox_then_reset(fresh_sandbox: Sandbox) -> Iterator[Sandbox]:
    """The sandbox reset before and after: the fields installed and values written here do
    not reach the tests that read the session's sandbox as seeded."""
    yield fresh_sandbox
    reset_sandbox(fresh_sandbox)


def _contact(sandbox: Sandbox, contact_id: str) -> dict[str, Any]:
    rows = admin(sandbox, "salesforce", "GET", "/__sandbox/records/Contact").json()
    return next(r for r in rows if r["Id"] == contact_id)


def _overlay_title(db: Path, contact_id: str) -> str | None:
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT p.title FROM person p JOIN source_link l ON l.entity_id = p.id "
            "WHERE l.source = 'salesforce' AND l.object = 'Contact' AND l.external_id = ?",
            (contact_id,),
        ).fetchone()
    return row[0] if row else None


@pytest.mark.timeout(120)
def test_a_crm_change_reaches_the_overlay_and_is_written_back_within_one_interval(
    sandbox_then_reset: Sandbox, tmp_path: Path
) -> None:
    fresh_sandbox = sandbox_then_reset
    url = sqlite_url(tmp_path)
    config = worker_config(fresh_sandbox, {"salesforce": f"{EVERY}s"})
    init_store(config, url)
    env = {"CARNET_DATABASE_URL": url}
    for step in (("install", "--source", "salesforce"), ("sync",), ("push",)):
        done = run_carnet("--config", str(config), *step, env=env)
        assert done.returncode in (0, 1), done.stderr
    contact = admin(fresh_sandbox, "salesforce", "GET", "/__sandbox/records/Contact").json()[0]
    users = admin(fresh_sandbox, "salesforce", "GET", "/__sandbox/records/User").json()
    rep = next(
        u
        for u in users
        if u["Id"] != contact["OwnerId"] and u["IsActive"] and "Integration" not in u["Name"]
    )
    assert contact["Carnet_Relationship_Owner__c"] not in (None, rep["Name"])
    worker = start_worker(config, url, tmp_path / "worker.log")
    try:
        wait_until(lambda: runs(url), timeout=20)  # running
        posted = datetime.now(UTC)
        change = {"id": contact["Id"], "Title": TITLE, "OwnerId": rep["Id"]}
        admin(fresh_sandbox, "salesforce", "POST", "/__sandbox/records/Contact", json=change)
        wait_until(lambda: _overlay_title(tmp_path / "carnet.db", contact["Id"]) == TITLE, 20)
        in_overlay = datetime.now(UTC)
        wait_until(
            lambda: (
                _contact(fresh_sandbox, contact["Id"])["Carnet_Relationship_Owner__c"]
                == rep["Name"]
            ),
            timeout=20,
        )
        written = datetime.now(UTC)
    finally:
        code, seconds = stop_worker(worker)
    assert code == 0 and seconds < 10
    after = [r for r in runs(url) if datetime.fromisoformat(r["started_at"]) > posted]
    took = max((r["duration_s"] for r in after if "duration_s" in r), default=0.0)
    within = posted + timedelta(seconds=EVERY + took + 1.0)  # the next run, plus a poll's slack
    assert in_overlay <= within, (posted, in_overlay, after)
    assert written <= within, (posted, written, after)


@pytest.mark.timeout(90)
def test_the_full_reconciliation_waits_for_the_source_lease_the_sync_skips(
    fresh_sandbox: Sandbox, tmp_path: Path
) -> None:
    url = sqlite_url(tmp_path)
    # a full run every minute and a sync every hour: both are due at start (catch-up)
    config = worker_config(fresh_sandbox, {"salesforce": "1h"}, full_sync_cron="* * * * *")
    init_store(config, url)
    engine = make_engine(url)
    assert acquire(engine, "sync:salesforce", "another worker", 300)  # busy with the source
    log = tmp_path / "worker.log"
    worker = start_worker(config, url, log)
    try:
        skipped = "sync:salesforce: skipped, lease sync:salesforce is held by another run"
        wait_until(lambda: skipped in log.read_text(), timeout=20)
        time.sleep(1.0)  # the full run is waiting meanwhile
        assert runs(url) == []
        release(engine, "sync:salesforce", "another worker")
        released = datetime.now(UTC)
        full = wait_until(
            lambda: [r for r in runs(url, "full:salesforce") if r["status"] != "running"], 30
        )[0]
    finally:
        code, seconds = stop_worker(worker)
        engine.dispose()
    assert code == 0 and seconds < 10
    assert full["full"] and full["status"] == "ok"
    assert datetime.fromisoformat(full["started_at"]) >= released - timedelta(seconds=0.1)
    contacts = admin(fresh_sandbox, "salesforce", "GET", "/__sandbox/records/Contact").json()
    assert full["counts"]["pulled"] >= len(contacts)
