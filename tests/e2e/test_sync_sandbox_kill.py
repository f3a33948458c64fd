"""`carnet sync --full` of all three sources against the sandbox (scale 0.1), SIGKILLed at random
points 10 times in a row on one fresh store, then one more `carnet sync` run to the end: the
overlay equals a fault-free sync's on another store of the same sandbox (issue 4, "Done when").

Each page is committed with its cursor, so every kill leaves the store at a page boundary (or in
the push step, whose writes are idempotent); the final sync carries on from the committed cursors.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.runner import Sandbox, start
from tests.conftest import run_carnet
from tests.e2e.sync_sandbox_support import SEED, overlay, query, sync
from tests.sandbox_fixture import calls_served, kill_after_calls

SCALE = 0.1
KILLS = 10
pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with start(seed=SEED, scale=SCALE, workdir=tmp_path_factory.mktemp("kill_sandbox")) as running:
        yield running


def store_env(store: Path) -> dict[str, str]:
    return {"CARNET_DATABASE_URL": f"sqlite:///{store}"}


def init(config: Path, store: Path) -> None:
    done = run_carnet("--config", str(config), "init", env=store_env(store))
    assert done.returncode == 0, done.stderr


def kill_somewhere(sandbox: Sandbox, config: Path, store: Path, calls: int, lag: float) -> bool:
    """Start `carnet sync --full` and SIGKILL it `lag` seconds after its `calls`-th API call;
    False if it ended first."""
    carnet = Path(sys.executable).parent / "carnet"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARNET_")} | store_env(store)
    args = [str(carnet), "--config", str(config), "sync", "--full", "--json"]
    with subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as p:
        killed = kill_after_calls(sandbox, p, calls, lag)
        _, errors = p.communicate(timeout=60)
    if not killed:
        assert p.returncode in (0, 1), errors.decode()[-2000:]
    return killed


def progress(store: Path) -> str:
    """Where the last sync got to: the object it started last."""
    rows = query(
        store,
        "SELECT source || ' ' || object FROM sync_state "
        "ORDER BY last_started_at DESC, id DESC LIMIT 1",
    )
    return str(rows[0][0]) if rows else "nothing"


def test_syncs_killed_at_random_points_converge_to_the_fault_free_overlay(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    config = sandbox.config_file
    clean, crashed = tmp_path / "clean.db", tmp_path / "crashed.db"
    init(config, clean)
    before = calls_served(sandbox)
    sync(config, "--full", env=store_env(clean))
    calls = calls_served(sandbox) - before
    expected = overlay(clean)

    init(config, crashed)
    rng = random.Random(20261126)
    kills, reached = 0, set[str]()
    for _ in range(KILLS):
        # anywhere in the first 90% of a full pass's calls, and part-way through a page
        kills += kill_somewhere(
            sandbox, config, crashed, rng.randint(1, int(0.9 * calls)), rng.uniform(0, 0.05)
        )
        reached.add(progress(crashed))
    assert kills >= KILLS // 2, f"only {kills} of {KILLS} syncs were cut short"
    assert len(reached) >= 3, reached  # the kills fell at different points of the sync
    last = sync(config, env=store_env(crashed))
    assert last["salesforce"] and last["hubspot"] and last["exchange"]
    assert overlay(crashed) == expected
