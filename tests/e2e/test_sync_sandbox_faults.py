"""`carnet sync` under injected faults (issue 4, "Done when"): with 20 % of the calls to each
stand-in failing (429 with Retry-After, 500, 503), one Salesforce session expiry, and every Graph
delta link expired (410) between a first and a second sync, the overlay ends the same as a
fault-free sandbox's of the same seed. (A 410 makes the Exchange adapter read the whole object
again, not just the folder: contacts deleted meanwhile are found only by a full pass.)

The two sandboxes start a few seconds apart and date activities from their start, so the
overlays are compared without activity times (`overlay(times=False)`); everything else is equal.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.sync_sandbox_support import (
    Synced,
    calls,
    calls_between,
    counts,
    graph_folders,
    overlay,
    sync,
    synced_sandbox,
)
from tests.sandbox_fixture import admin

SCALE = 0.1
FAULTS: dict[str, Any] = {"rate": 0.2, "kinds": ["429", "500", "503"], "seed": 4}
DELTA = "GET /v1.0/users/{user}/contactFolders/{folder}/contacts/delta"
pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    with synced_sandbox(tmp_path_factory.mktemp("clean"), SCALE) as running:
        yield running


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    faults = {
        "salesforce": FAULTS | {"once": ["expire"]},  # the first call meets an expired session
        "hubspot": FAULTS,
        "graph": FAULTS,
    }
    with synced_sandbox(tmp_path_factory.mktemp("faulty"), SCALE, faults) as running:
        yield running


def test_a_full_sync_under_faults_ends_with_the_fault_free_overlay(
    clean: Synced, faulty: Synced
) -> None:
    expiry = admin(faulty.sandbox, "salesforce", "GET", "/__sandbox/faults").json()
    assert expiry["once"] == []  # the session expiry was served (and survived)
    made = {n: sum(c.values()) for n, c in calls(faulty.sandbox).items()}
    fault_free = {n: sum(c.values()) for n, c in calls(clean.sandbox).items()}
    assert all(made[n] > fault_free[n] for n in made), (made, fault_free)  # retries were made
    assert counts(faulty.first, "created") == counts(clean.first, "created")
    assert overlay(faulty.store, times=False) == overlay(clean.store, times=False)


def test_an_expired_delta_link_starts_a_full_pass_of_the_folder_and_loses_nothing(
    clean: Synced, faulty: Synced
) -> None:
    admin(faulty.sandbox, "graph", "POST", "/__sandbox/expire-delta")
    before = calls(faulty.sandbox)
    second = sync(faulty.config)
    delta = calls_between(before, calls(faulty.sandbox))["graph"].get(DELTA, 0)
    assert delta > graph_folders(faulty.sandbox)  # the 410, then every folder read again
    entries = second["exchange"]["contacts"]
    assert entries["pulled"] == clean.first["exchange"]["contacts"]["pulled"]  # all re-read
    for key in ("created", "updated", "deleted"):
        assert counts(second, key) == {}, key
    assert overlay(faulty.store, times=False) == overlay(clean.store, times=False)
