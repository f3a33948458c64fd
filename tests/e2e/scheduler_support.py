"""What the `carnet run` tests share: a config on the sandbox with short intervals, workers started
and stopped as processes, and the run log read back from the store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from connector.store.db import make_engine, session_factory
from sandbox.runner import Sandbox
from scheduler.jobs import recorded_runs
from tests.conftest import run_carnet

NEVER_CRON = "0 4 1 1 *"  # the full reconciliation stays out of the way (1 January, 04:00 UTC)


def worker_config(
    sandbox: Sandbox,
    every: Mapping[str, str | None],
    lease_seconds: int = 10,
    level: str = "INFO",
    full_sync_cron: str = NEVER_CRON,
    log_format: str = "json",
) -> Path:
    """A copy of the sandbox's config beside it (its secret paths are relative to that folder):
    each source's `every` (None: disabled), a short lease, logs at `level` in `log_format`."""
    yaml = YAML()
    doc = yaml.load(sandbox.config_file.read_text(encoding="utf-8"))
    for name, section in doc["sources"].items():
        if every.get(name) is None:
            section["enabled"] = False
        else:
            section["every"] = every[name]
    doc["scheduler"] = {"lease_seconds": lease_seconds, "full_sync_cron": full_sync_cron}
    doc["logging"] = {"level": level, "format": log_format}
    path = sandbox.config_file.parent / f"config-{uuid.uuid4().hex[:8]}.yaml"
    with path.open("w", encoding="utf-8") as out:
        yaml.dump(doc, out)
    return path


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'carnet.db'}"


def init_store(config: Path, db_url: str) -> None:
    done = run_carnet("--config", str(config), "init", env={"CARNET_DATABASE_URL": db_url})
    assert done.returncode == 0, done.stderr


def start_worker(config: Path, db_url: str, log: Path) -> subprocess.Popen[bytes]:
    """`carnet run` as a process, its output (the logs) into `log`."""
    carnet = Path(sys.executable).parent / "carnet"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARNET_")}
    env["CARNET_DATABASE_URL"] = db_url
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(carnet), "--config", str(config), "run"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )


def stop_worker(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> tuple[int, float]:
    """Send `sig`; the exit code and how long the process took to end (killed after 20 s)."""
    started = time.monotonic()
    proc.send_signal(sig)
    try:
        code = proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return -999, time.monotonic() - started
    return code, time.monotonic() - started


def runs(db_url: str, job_id: str | None = None) -> list[dict[str, Any]]:
    """The run log in the store (scheduler.run events), oldest first."""
    engine = make_engine(db_url)
    try:
        with session_factory(engine)() as session:
            return recorded_runs(session, job_id)
    finally:
        engine.dispose()


def wait_until(check: Callable[[], Any], timeout: float, every: float = 0.2) -> Any:
    """Poll `check` until it returns something truthy; that value (AssertionError at timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"not within {timeout} s")
