"""`carnet serve --workers 2`: two processes answer on one port; a session made through one is
honoured by the other (sessions live in the store), and /metrics adds up every worker's requests
whichever worker the scrape reaches. On SQLite and PostgreSQL, signed in through the OIDC stand-in.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from bench.bench_web import descendants
from sandbox.runner import Sandbox
from tests.conftest import fresh_db_url, run_carnet
from tests.e2e.test_web_metrics import samples, value
from tests.e2e.web_support import Client, free_port, make_world, sign_in

PAGES = 12


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    return fresh_db_url(backend, tmp_path, request)


@contextmanager
def serving(config: Path, port: int, workers: int) -> Iterator[subprocess.Popen[bytes]]:
    exe = Path(sys.executable).parent / "carnet"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CARNET_", "PROMETHEUS_"))}
    log = config.parent / "serve.log"
    args = ["serve", "--config", str(config), "--port", str(port), "--workers", str(workers)]
    with log.open("wb") as err:
        proc = subprocess.Popen([str(exe), *args], env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        assert proc.poll() is None, log.read_text(encoding="utf-8", errors="replace")
        yield proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_two_workers_share_sessions_and_metrics(
    fresh_sandbox: Sandbox, db_url: str, tmp_path: Path
) -> None:
    port = free_port()
    world = make_world(tmp_path, fresh_sandbox, db_url, port=port)
    with serving(world.config, port, workers=2) as proc:
        assert len(descendants(proc.pid)) >= 2  # uvicorn's workers (and its own helpers)
        client = Client(world.base_url)
        assert sign_in(client, fresh_sandbox, world.a).status_code == 303
        # new connections each time, so the kernel spreads them over both workers
        cookies = client.cookies.get_dict()
        for _ in range(PAGES):
            page = requests.get(f"{world.base_url}/network", cookies=cookies, timeout=30)
            assert page.status_code == 200 and "Yvonne Openshaw" in page.text
        for _ in range(3):  # whichever worker answers the scrape, it counts every worker's
            found = samples(requests.get(f"{world.base_url}/metrics", timeout=30).text)
            seen = value(
                found, "carnet_http_requests_total", method="GET", route="/network", status="200"
            )
            assert seen == PAGES
            assert value(found, "carnet_store_up") == 1
    assert proc.returncode == 0


def test_workers_must_be_a_positive_number(tmp_path: Path) -> None:
    done = run_carnet("serve", "--workers", "0", "--config", str(tmp_path / "none.yaml"))
    assert done.returncode == 2
    assert "--workers" in done.stderr and "Traceback" not in done.stderr
