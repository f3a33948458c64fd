"""`carnet push` killed with SIGKILL at random points, 20 times, with new work queued before each
run (a newly planned account, so a note to create in each CRM, and changed ratings); then one
push to the end: every planned account has exactly one plan note per CRM (no duplicate made by a
push that died between the CRM's answer and its commit) and every contact holds its values (no
lost write)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.runner import Sandbox
from tests.e2e.test_writeback import query
from tests.e2e.test_writeback_world import (
    assert_contacts_hold,
    carnet,
    marker_notes,
    private_config,
)
from tests.sandbox_fixture import kill_after_calls, reset_sandbox

KILLS = 20


def start_push(config: Path) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).parent / "carnet"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARNET_")}
    return subprocess.Popen(
        [str(exe), "--config", str(config), "push", "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def linked_orgs(store: Path) -> list[tuple[int, str | None, str | None]]:
    """(org id, Account id, company id) of every org linked to a CRM account."""
    rows = query(
        store,
        "SELECT o.id, "
        "(SELECT external_id FROM source_link WHERE entity = 'org' AND entity_id = o.id "
        " AND object = 'Account' AND deleted_at IS NULL AND merged_into IS NULL), "
        "(SELECT external_id FROM source_link WHERE entity = 'org' AND entity_id = o.id "
        " AND object = 'companies' AND deleted_at IS NULL AND merged_into IS NULL) "
        "FROM org o ORDER BY o.id",
    )
    return [(int(i), a, c) for i, a, c in rows if a or c]


def queue_work(store: Path, org_id: int, round_: int) -> None:
    """Plan one more account and change a seventh of the ratings."""
    query(
        store,
        "INSERT INTO account_plan (org_id, strategy, updated_at) VALUES (:o, :s, '2026-01-01')",
        o=org_id,
        s=f"round {round_}: <grow> & keep",
    )
    query(
        store,
        "UPDATE relationship SET rating = (abs(random()) % 5) + 1 WHERE id % 7 = :r",
        r=round_ % 7,
    )


def unrecorded_notes(sandbox: Sandbox, store: Path) -> int:
    """Plan notes the CRMs hold whose outbox row does not know them (the dangerous window)."""
    known = {
        f"{s} {e}"
        for s, e, ref in query(
            store,
            "SELECT source, external_id, json_extract(desired, '$.ref') FROM outbox "
            "WHERE field_set = 'plan'",
        )
        if ref
    }
    return len(set(marker_notes(sandbox)) - known)


@pytest.mark.timeout(300)
def test_sigkill_during_push_loses_nothing_and_duplicates_no_note(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    reset_sandbox(sandbox)
    config = private_config(sandbox, tmp_path)
    carnet(config, "init", "--json")
    assert carnet(config, "install").returncode == 0
    carnet(config, "sync", "--json")  # pulls, then pushes the fields once
    store = tmp_path / "carnet.db"
    orgs = linked_orgs(store)
    assert len(orgs) >= KILLS
    rnd = random.Random(20)
    killed_after = []
    orphans = 0  # kills that fell between a note's creation and its commit
    for n in range(KILLS):
        queue_work(store, orgs[n][0], n)
        proc = start_push(config)
        # a push here makes 5 to 9 calls (logins, the plan note and its link in each CRM, the
        # contact batches): kill it around one of its first four
        if kill_after_calls(sandbox, proc, rnd.randint(1, 4), rnd.uniform(0, 0.03)):
            killed_after.append(n)
        proc.wait(timeout=60)
        orphans += unrecorded_notes(sandbox, store)
    assert len(killed_after) >= KILLS // 2  # most runs really were cut short
    print(f"runs killed: {len(killed_after)}; notes made but not recorded: {orphans}")

    done = carnet(config, "push", "--json")
    assert all(run["failed"] == run["parked"] == 0 for run in done["sources"].values())
    notes = marker_notes(sandbox)
    wanted = {f"salesforce {a}" for _, a, _ in orgs[:KILLS] if a}
    wanted |= {f"hubspot {c}" for _, _, c in orgs[:KILLS] if c}
    assert set(notes) == wanted
    duplicated = {k: v for k, v in notes.items() if len(v) != 1}
    assert not duplicated
    assert_contacts_hold(sandbox, store)
    again = carnet(config, "push", "--json")
    assert all(run["due"] == 0 for run in again["sources"].values())
