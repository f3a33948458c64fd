"""Write-back when the CRMs refuse part of it: per-record failures ("partial" fault) leave the
rest of each batch written, show in `carnet status` with the CRM's own message, wait out their
backoff and go through on a later push; a record the CRM no longer has is parked with its message;
the API budget stops a push cleanly and `carnet status` says so."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sandbox.runner import Sandbox
from tests.e2e.test_writeback import orgs_in_both, query
from tests.e2e.test_writeback_world import (
    assert_contacts_hold,
    carnet,
    crm_contacts,
    expected_contacts,
    marker_notes,
    private_config,
)
from tests.sandbox_fixture import admin, reset_sandbox


@pytest.fixture(scope="module")
def synced(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store after init, install and a pull (the push step of sync taken out of it again by
    resetting the sandbox and the outbox), with one planned account: everything is due."""
    reset_sandbox(sandbox)
    folder = tmp_path_factory.mktemp("synced")
    config = private_config(sandbox, folder)
    carnet(config, "init", "--json")
    carnet(config, "install")
    carnet(config, "sync", "--json")
    store = folder / "carnet.db"
    name = orgs_in_both(store, 1)[0][0]
    carnet(config, "plan", "set", name, "--strategy", "keep them close")
    query(store, "DELETE FROM outbox")
    query(store, "DELETE FROM sync_state WHERE object = '(push)'")
    return store


def fresh_copy(
    sandbox: Sandbox, synced: Path, folder: Path, **changes: dict[str, Any]
) -> tuple[Path, Path]:
    """The synced store in a new folder with its own config; the CRMs back to their seed, with
    Carnet's fields installed again."""
    reset_sandbox(sandbox)
    config = private_config(sandbox, folder)
    shutil.copy(synced, folder / "carnet.db")
    assert carnet(config, "install").returncode == 0
    return private_config(sandbox, folder, **changes), folder / "carnet.db"


def faults(sandbox: Sandbox, rate: float) -> None:
    for name in ("salesforce", "hubspot"):
        body = {"rate": rate, "kinds": ["partial"] if rate else [], "seed": 7}
        admin(sandbox, name, "POST", "/__sandbox/faults", json=body)


def test_partial_failures_are_retried_after_their_backoff(
    sandbox: Sandbox, synced: Path, tmp_path: Path
) -> None:
    config, store = fresh_copy(sandbox, synced, tmp_path)
    gone = next(e for (s, e), v in expected_contacts(store).items() if s == "salesforce" and v[0])
    admin(sandbox, "salesforce", "DELETE", f"/__sandbox/records/Contact/{gone}")
    faults(sandbox, 0.2)
    r = carnet(config, "push", "--json", check=False)
    assert r["sources"]["salesforce"]["failed"] > 0 and r["sources"]["hubspot"]["failed"] > 0
    assert r["sources"]["salesforce"]["written"] > 100 and r["sources"]["hubspot"]["written"] > 50
    failed = {e for (e,) in query(store, "SELECT external_id FROM outbox WHERE status != 'done'")}
    # the rest of each batch went through: only failed records lack their values
    want, have = expected_contacts(store), crm_contacts(sandbox)
    differ = {e for key, v in want.items() if have.get(key, v) != v for e in [key[1]]}
    assert differ and differ <= failed
    status = carnet(config, "status", "--json")
    errors = {f["id"]: f["error"] for f in status["outbox"]["failures"]}
    assert "ENTITY_IS_DELETED: entity is deleted" in errors[gone]
    assert any(e.startswith("UNABLE_TO_LOCK_ROW") for e in errors.values())
    assert any("internal error occurred" in e for e in errors.values())
    parked = query(store, "SELECT external_id FROM outbox WHERE status = 'parked'")
    assert [p[0] for p in parked] == [gone]

    faults(sandbox, 0.0)
    waiting = carnet(config, "push", "--json")  # the failed ones wait for their backoff
    assert all(run["due"] == 0 for run in waiting["sources"].values())
    past = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
    query(store, "UPDATE outbox SET next_attempt_at = :t WHERE status = 'failed'", t=past)
    again = carnet(config, "push", "--json")
    assert all(run["failed"] == run["parked"] == 0 for run in again["sources"].values())
    status = carnet(config, "status", "--json")
    assert [f["id"] for f in status["outbox"]["failures"]] == [gone]
    want = {k: v for k, v in want.items() if k != ("salesforce", gone)}
    have = crm_contacts(sandbox)
    assert all(have.get(k) == v for k, v in want.items())
    assert all(len(ids) == 1 for ids in marker_notes(sandbox).values())


def test_the_budget_stops_a_push_and_status_says_so(
    sandbox: Sandbox, synced: Path, tmp_path: Path
) -> None:
    config, store = fresh_copy(
        sandbox,
        synced,
        tmp_path,
        salesforce={"api_budget_share": 0.00001},
        hubspot={"api_budget_share": 0.00001},
    )
    r = carnet(config, "push", "--json")
    assert r["sources"]["salesforce"]["budget_stopped"] is True
    assert r["sources"]["hubspot"]["budget_stopped"] is True
    assert r["sources"]["hubspot"]["api_calls"] <= 2
    status = carnet(config, "status", "--json")
    for source in ("salesforce", "hubspot"):
        push = status["push"][source]
        assert push["budget_stopped"] is True and "allowance" in push["stopped"]
    waiting = query(store, "SELECT count(*), max(attempts) FROM outbox WHERE status = 'pending'")
    assert waiting[0][0] > 0 and waiting[0][1] == 0  # not failures: nothing was counted
    assert not any(k.startswith("salesforce") for k in marker_notes(sandbox))  # waits


def test_all_goes_through_once_the_budget_allows(
    sandbox: Sandbox, synced: Path, tmp_path: Path
) -> None:
    config, store = fresh_copy(sandbox, synced, tmp_path)
    r = carnet(config, "push", "--json")
    assert all(run["failed"] == run["parked"] == 0 for run in r["sources"].values())
    assert_contacts_hold(sandbox, store)
