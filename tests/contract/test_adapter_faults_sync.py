"""`carnet sync`, run as a user would, when a CRM answers a call in the middle of the pull with a
200 that is not the API's JSON (issue 13): `{"results": "nope"}` from HubSpot (which crashed the
sync with an AttributeError), an HTML page from Salesforce (a proxy's sign-in wall). The source
stops with one clear line naming the CRM, the endpoint and what was expected; exit 1; and
nothing is half-written: once the CRM answers again, the next sync ends with the same overlay as
a sync that never met the fault. On SQLite and on PostgreSQL.

Each sync is of the one source (`--source`): the overlay a sync builds depends on the order in
which the sources' records arrive (who is matched to whom), and a source that stopped early
would otherwise be read after the others.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.store.db import make_engine
from sandbox.runner import Sandbox
from tests.conftest import fresh_db_url, run_carnet
from tests.sandbox_fixture import admin, reset_sandbox
from tests.unit.test_sync_fake import snapshot

pytestmark = pytest.mark.timeout(600)
CRM = {"salesforce": "Salesforce", "hubspot": "HubSpot", "graph": "Microsoft Graph"}
SOURCE = {"salesforce": "salesforce", "hubspot": "hubspot", "graph": "exchange"}


@pytest.fixture(autouse=True)
def _sandbox_reset_after(sandbox: Sandbox) -> Iterator[None]:
    """The faults set here do not reach the tests that use the session's sandbox next."""
    yield
    reset_sandbox(sandbox)


def store(backend: str, folder: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    """A new, empty store of the backend: the env that names it."""
    folder.mkdir()
    return {"CARNET_DATABASE_URL": fresh_db_url(backend, folder, request)}


def sync(config: Path, env: dict[str, str], *args: str) -> tuple[int, dict[str, Any], str]:
    done = run_carnet("--config", str(config), *args, env=env, timeout=300)
    if args[0] == "init":
        assert done.returncode == 0, done.stderr
        return 0, {}, done.stderr
    return done.returncode, json.loads(done.stdout), done.stderr


def stops(summary: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(s, o): r["stopped"] for s, objs in summary.items() for o, r in objs.items()
            if "stopped" in r}  # fmt: skip


def overlay(env: dict[str, str]) -> dict[str, Any]:
    engine = make_engine(env["CARNET_DATABASE_URL"])
    try:
        snap = snapshot(engine)
    finally:
        engine.dispose()
    snap.pop("cursors")
    return snap


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@pytest.mark.parametrize(("standin", "kind"), [("hubspot", "garbage"), ("salesforce", "html")])
def test_an_answer_of_another_shape_stops_its_source_with_one_clear_line(
    fresh_sandbox: Sandbox,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    backend: str,
    standin: str,
    kind: str,
) -> None:
    config, source = fresh_sandbox.config_file, SOURCE[standin]
    clean = store(backend, tmp_path / "clean", request)
    broken = store(backend, tmp_path / "broken", request)
    sync(config, clean, "init")
    code, _, err = sync(config, clean, "sync", "--json", "--source", source)
    assert code in (0, 1) and "Traceback" not in err, err[-3000:]

    sync(config, broken, "init")
    fault = {"once": [kind], "after": 4}  # the fifth call of the pull answers the odd body
    admin(fresh_sandbox, standin, "POST", "/__sandbox/faults", fault)
    code, summary, err = sync(config, broken, "sync", "--json", "--source", source)

    assert code == 1, err[-3000:]
    assert "Traceback" not in err and "AttributeError" not in err, err[-3000:]
    stopped = stops(summary)
    assert len(stopped) == 1 and next(iter(stopped))[0] == source, stopped
    said = next(iter(stopped.values()))
    got = {"garbage": "results as a JSON string", "html": "an HTML page"}[kind]
    assert said.startswith(f"stopped by an error: {CRM[standin]} answered "), said
    assert f" with {got}" in said and "; expected " in said, said
    assert err.count(said.removeprefix("stopped by an error: ")) == 1, err[-3000:]

    code, summary, err = sync(config, broken, "sync", "--json", "--source", source)  # answers again
    assert code in (0, 1) and not stops(summary), err[-3000:]
    assert overlay(broken) == overlay(clean)
