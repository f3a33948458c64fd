"""No Carnet command leaves a process behind (issue 13): once `carnet sync` or `carnet run` has
exited, no process of its process group is left (not its pull process, nor any helper started
beside it, nor a zombie handed to init), after a sync that went
well, after one that failed, and after `carnet run` was stopped by SIGTERM. After SIGINT and
SIGTERM to `carnet sync`: tests/e2e/test_signals.py.

Each command is started in a session of its own (`start_new_session=True`), so its process
group holds exactly the processes it started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.runner import Sandbox
from tests.conftest import fresh_db_url, run_carnet
from tests.e2e.scheduler_support import wait_until
from tests.sandbox_fixture import admin, calls_served, reset_sandbox

pytestmark = pytest.mark.timeout(300)
CARNET = Path(sys.executable).parent / "carnet"


@pytest.fixture(autouse=True)
def _sandbox_reset_after(sandbox: Sandbox) -> Iterator[None]:
    """The faults set here do not reach the tests that use the session's sandbox next."""
    yield
    reset_sandbox(sandbox)


def group_members(pgid: int) -> list[str]:
    """The processes of group `pgid` still in the process table (a zombie is one): "pid state
    command" each."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError):  # it ended meanwhile
            continue
        name, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid:
            found.append(f"{entry.name} {fields[0]} {name}")
    return found


def carnet(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """`carnet ARGS` started as a user's shell would start it: the leader of a new group."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("CARNET_")} | env
    return subprocess.Popen(
        [str(CARNET), *args],
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 240) -> tuple[int, str, str]:
    """Wait for the command; its exit code and output. Its group must be empty by then."""
    out, err = proc.communicate(timeout=timeout)
    assert group_members(proc.pid) == [], err[-2000:]
    return proc.returncode, out, err


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, fresh_sandbox: Sandbox, tmp_path: Path) -> dict[str, str]:
    """An initialised store of each backend beside the reset sandbox: the env that names it."""
    env = {"CARNET_DATABASE_URL": fresh_db_url(str(request.param), tmp_path, request)}
    done = run_carnet("--config", str(fresh_sandbox.config_file), "init", env=env)
    assert done.returncode == 0, done.stderr
    return env


def test_a_sync_that_went_well_leaves_no_process(
    fresh_sandbox: Sandbox, store: dict[str, str]
) -> None:
    code, _, err = finish(carnet("--config", str(fresh_sandbox.config_file), "sync", env=store))
    assert code in (0, 1), err[-2000:]
    assert "Traceback" not in err


def test_a_sync_that_failed_leaves_no_process(
    fresh_sandbox: Sandbox, store: dict[str, str]
) -> None:
    for name in ("salesforce", "hubspot", "graph"):  # every source stops at its first call
        admin(fresh_sandbox, name, "POST", "/__sandbox/faults", {"rate": 1.0, "kinds": ["403"]})
    proc = carnet("--config", str(fresh_sandbox.config_file), "sync", "--json", env=store)
    code, out, err = finish(proc)
    assert code == 1, err[-2000:]
    assert "Traceback" not in err
    assert "403" in out


def test_the_scheduler_stopped_by_sigterm_leaves_no_process(
    fresh_sandbox: Sandbox, store: dict[str, str]
) -> None:
    admin(
        fresh_sandbox,
        "salesforce",
        "POST",
        "/__sandbox/faults",
        {"rate": 1.0, "kinds": ["slow"], "slow_ms": 300},
    )
    before = calls_served(fresh_sandbox)
    proc = carnet("--config", str(fresh_sandbox.config_file), "run", env=store)
    wait_until(lambda: calls_served(fresh_sandbox) - before >= 3 or proc.poll() is not None, 60)
    assert proc.poll() is None, proc.communicate()[1][-2000:]
    os.killpg(proc.pid, signal.SIGTERM)  # as a service manager stops the whole group
    code, out, err = finish(proc, timeout=60)
    assert code == 0, err[-2000:]
    assert "Traceback" not in out + err
