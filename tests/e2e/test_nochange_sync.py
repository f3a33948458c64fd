"""A sync with nothing changed against the stand-ins (issue 16): after `carnet install`, a full
sync and the sync that reads its write-back back, the next one makes one token call and one
query per Salesforce object, one call per HubSpot object, and writes nothing; and what changes
in the CRMs after it (an edit in each, an archived HubSpot contact) is still what the sync after
that picks up. Between syncs the stand-ins' clocks move on 6 minutes, as a sync every 5 minutes
would see them (past the 5-minute overlap both adapters read back).

One sandbox and one store for the module; the tests run in file order on that shared state.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from mappings.loader import default_path, load_mapping
from sandbox.runner import start
from tests.conftest import run_carnet
from tests.e2e.sync_sandbox_support import (
    SEED,
    Synced,
    calls,
    calls_between,
    counts,
    overlay,
    records,
    sync,
)
from tests.sandbox_fixture import admin

SCALE = 0.1
pytestmark = pytest.mark.timeout(300)


def later(s: Synced) -> None:
    for standin in s.sandbox.standins.values():
        standin.clock.offset += timedelta(minutes=6)


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    folder = tmp_path_factory.mktemp("nochange")
    with start(seed=SEED, scale=SCALE, workdir=folder) as sandbox:
        config = sandbox.config_file
        for command in ("init", "install"):
            done = run_carnet("--config", str(config), command, env={})
            assert done.returncode == 0, done.stderr
        first = sync(config, "--full")
        s = Synced(sandbox, config, config.parent / "carnet.db", first)
        later(s)
        sync(config)  # reads back what the full sync's write-back wrote
        yield s


def objects(source: str) -> list[str]:
    return list(load_mapping(default_path(source), source).objects)


def nochange(s: Synced, source: str) -> tuple[dict[str, Any], dict[str, int]]:
    later(s)
    before = calls(s.sandbox)
    summary = sync(s.config, "--source", source)
    return summary, calls_between(before, calls(s.sandbox))[source]


def test_salesforce_makes_one_token_call_and_one_query_per_object(synced: Synced) -> None:
    before = overlay(synced.store)
    summary, made = nochange(synced, "salesforce")
    assert made == {
        "POST /services/oauth2/token": 1,
        "GET /services/data/v{version}/queryAll": len(objects("salesforce")),
    }
    assert {o: r["api_calls"] for o, r in summary["salesforce"].items()} == dict.fromkeys(
        objects("salesforce"), 1
    )
    for key in ("created", "updated", "deleted"):
        assert counts(summary, key) == {}, key
    assert overlay(synced.store) == before


def test_hubspot_makes_one_call_per_object(synced: Synced) -> None:
    before = overlay(synced.store)
    summary, made = nochange(synced, "hubspot")
    assert made == {
        "GET /crm/v3/owners": 1,
        "POST /crm/v3/objects/{objectType}/search": len(objects("hubspot")) - 1,
    }
    assert {o: r["api_calls"] for o, r in summary["hubspot"].items()} == dict.fromkeys(
        objects("hubspot"), 1
    )
    for key in ("created", "updated", "deleted"):
        assert counts(summary, key) == {}, key
    assert overlay(synced.store) == before


def test_what_changes_after_a_sync_with_nothing_changed_is_still_pulled(synced: Synced) -> None:
    sandbox = synced.sandbox
    nochange(synced, "salesforce")
    nochange(synced, "hubspot")
    sf = sorted(r["Id"] for r in records(sandbox, "salesforce", "Contact"))[0]
    hs = sorted(r["id"] for r in records(sandbox, "hubspot", "contacts"))
    admin(sandbox, "salesforce", "POST", "/__sandbox/records/Contact", {"Id": sf, "Title": "New"})
    body = {"id": hs[0], "properties": {"jobtitle": "New"}}
    admin(sandbox, "hubspot", "POST", "/__sandbox/records/contacts", body)
    admin(sandbox, "hubspot", "DELETE", f"/__sandbox/records/contacts/{hs[1]}")
    later(synced)

    summary = sync(synced.config)
    assert counts(summary, "updated") == {("salesforce", "Contact"): 1, ("hubspot", "contacts"): 1}
    assert counts(summary, "deleted") == {("hubspot", "contacts"): 1}
    assert counts(summary, "created") == {}
