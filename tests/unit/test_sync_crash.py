"""Crash safety of `carnet sync` (SQLite): a sync killed with SIGKILL at random points, several
times, then run to the end, leaves the same overlay as one sync that was never interrupted.

Each page is committed with its cursor, so a kill leaves the store at a page boundary; the next
sync re-reads from the committed cursors, and re-read records change nothing.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from connector.store import models as m
from connector.store.app import App
from connector.store.migrate import upgrade
from connector.sync import run_sync
from tests.unit.test_sync_fake import FakeSalesforce, snapshot, world, write_config

REPO = Path(__file__).resolve().parents[2]
KILLS = 6
DELAY = 0.04  # seconds a page: a whole sync takes over a second, so a kill can land anywhere


def start_child(config: Path) -> subprocess.Popen[str]:
    code = "from tests.unit.test_sync_fake import child; child()"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARNET_")}
    return subprocess.Popen(
        [sys.executable, "-c", code, str(config), str(DELAY)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_somewhere(config: Path, rng: random.Random) -> bool:
    """Start a sync and SIGKILL it at a random moment; False if it finished first."""
    with start_child(config) as child:
        assert child.stdout is not None
        started = child.stdout.readline().strip()
        time.sleep(rng.uniform(0.05, 0.9))
        finished = child.poll() is not None
        if not finished:
            os.kill(child.pid, signal.SIGKILL)
        _, errors = child.communicate(timeout=30)
    assert started == "started", errors
    if finished:
        assert child.returncode in (0, 1), errors  # 1: the world's malformed contact
    return not finished


@pytest.mark.slow
def test_killed_syncs_converge_to_the_uninterrupted_overlay(tmp_path: Path) -> None:
    clean = App(write_config(tmp_path / "clean"))
    upgrade(clean.engine)
    run_sync(clean, open_adapter=lambda name, settings: FakeSalesforce(world()))
    expected = snapshot(clean.engine)
    clean.close()

    crashed = App(write_config(tmp_path / "crashed"))
    upgrade(crashed.engine)
    rng = random.Random(20261101)
    kills = sum(kill_somewhere(crashed.config.path, rng) for _ in range(KILLS))
    assert kills >= KILLS // 2, "the syncs ended before they could be killed"
    with crashed.engine.connect() as conn:
        partial = conn.scalar(select(func.count()).select_from(m.SourceLink))
    run_sync(crashed, open_adapter=lambda name, settings: FakeSalesforce(world()))
    assert snapshot(crashed.engine) == expected
    assert partial is not None
    crashed.close()
