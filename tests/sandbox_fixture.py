"""Pytest fixtures for tests that need the three CRM stand-ins: one `sandbox` (seed 1, scale 0.01)
for the whole session, and `fresh_sandbox`, the same one reset through `POST /__sandbox/reset`.

Registered from tests/conftest.py with `pytest_plugins = ["tests.sandbox_fixture"]`.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

from sandbox.runner import NAMES, Sandbox, start


def admin_session(sandbox: Sandbox) -> requests.Session:
    """A session that trusts the sandbox's CA whatever REQUESTS_CA_BUNDLE says."""
    session = requests.Session()
    session.trust_env = False  # else REQUESTS_CA_BUNDLE overrides `verify`
    session.verify = str(sandbox.ca_file)
    return session


def admin(
    sandbox: Sandbox,
    name: str,
    method: str,
    path: str,
    json: Any = None,
    session: requests.Session | None = None,
) -> requests.Response:
    """Call one stand-in's `/__sandbox/...` endpoint ("salesforce", "hubspot" or "graph"), on
    `session` when given (a poll keeps its connections open), else on a session of its own."""
    if session is None:
        with admin_session(sandbox) as own:
            return admin(sandbox, name, method, path, json, own)
    resp = session.request(method, sandbox.urls[name] + path, json=json, timeout=10)
    resp.raise_for_status()
    return resp


def sandbox_stats(
    sandbox: Sandbox, session: requests.Session | None = None
) -> dict[str, dict[str, Any]]:
    """`GET /__sandbox/stats` of every stand-in, by name."""
    return {name: admin(sandbox, name, "GET", "/__sandbox/stats", session=session).json()
            for name in NAMES}  # fmt: skip


def calls_served(sandbox: Sandbox, session: requests.Session | None = None) -> int:
    """API calls the three stand-ins have received since their last reset (admin calls aside)."""
    return sum(int(stats["total"]) for stats in sandbox_stats(sandbox, session).values())


def kill_after_calls(
    sandbox: Sandbox, proc: subprocess.Popen[bytes], calls: int, lag: float = 0.0
) -> bool:
    """SIGKILL `proc` `lag` seconds after the stand-ins have received `calls` more API calls;
    False when it ended first. Crash tests aim their kills this way, in the run's own work
    rather than in seconds from its start, so a fast and a slow machine cut the runs at the
    same places."""
    with admin_session(sandbox) as session:  # one kept-open connection per stand-in
        start = calls_served(sandbox, session)
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if calls_served(sandbox, session) - start >= calls:
                time.sleep(lag)
                if proc.poll() is not None:
                    return False
                proc.send_signal(signal.SIGKILL)
                return True
            time.sleep(0.005)
    return False


def reset_sandbox(sandbox: Sandbox) -> None:
    """Reload every stand-in's world, clear its stats and faults, and put the clock back."""
    for name in NAMES:
        admin(sandbox, name, "POST", "/__sandbox/reset")
    sandbox.clock.offset = timedelta(0)


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The three stand-ins on ephemeral loopback ports, with their config in a temp folder."""
    running = start(seed=1, scale=0.01, workdir=tmp_path_factory.mktemp("sandbox"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def fresh_sandbox(sandbox: Sandbox) -> Sandbox:
    """The session's sandbox, reset to its seeded world before the test."""
    reset_sandbox(sandbox)
    return sandbox
