"""`carnet demo` (what `make demo` runs) ends by serving the web app: it prints the address and
three people to sign in as, answers /healthz and the sign-in page, hands the sign-in to the Entra
stand-in (still running, listing those people), and on Ctrl-C stops with exit 0, leaving no
process and no open port behind. And a port already taken is refused before the demo starts.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.conftest import run_carnet
from tests.e2e.web_support import free_port

ROLE = re.compile(r"^\s+(rep|manager|admin)\s+(.+) <([^>]+)>$", re.M)


def children_of(pid: int) -> set[int]:
    """Every live descendant of `pid` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
                )
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_for_output(log: Path, proc: subprocess.Popen[bytes], pattern: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(encoding="utf-8", errors="replace")
        if re.search(pattern, text):
            return text
        assert proc.poll() is None, f"the demo ended ({proc.returncode}):\n{text[-3000:]}"
        time.sleep(0.5)
    raise AssertionError(f"no {pattern!r} within {timeout} s:\n{log.read_text()[-3000:]}")


def healthy(web: requests.Session, base: str, proc: subprocess.Popen[bytes]) -> Any:
    """/healthz's answer, once the server listens: the demo prints its welcome just before
    uvicorn binds the port, and a loaded machine can leave a gap between the two."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return web.get(f"{base}/healthz", timeout=30).json()
        except requests.ConnectionError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def http() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


@pytest.mark.timeout(300)
def test_the_demo_serves_the_web_app_until_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "demo.log"
    carnet = Path(sys.executable).parent / "carnet"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARNET_")}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(carnet), "demo", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        text = wait_for_output(log, proc, r"Ctrl-C stops the web app", 240)
        assert f"http://127.0.0.1:{port}" in text
        users = {role: (name, email) for role, name, email in ROLE.findall(text)}
        assert set(users) == {"rep", "manager", "admin"}, text[-2000:]
        assert len({email for _, email in users.values()}) == 3
        base = f"http://127.0.0.1:{port}"
        with http() as web:
            assert healthy(web, base, proc) == {"status": "ok"}
            sign_in = web.get(f"{base}/sign-in", timeout=30)
            assert sign_in.status_code == 200 and "/auth/start" in sign_in.text
            start = web.get(f"{base}/auth/start", allow_redirects=False, timeout=30)
            assert start.status_code == 302
        authorize = start.headers["location"]
        assert urlsplit(authorize).hostname == "127.0.0.1"
        # the stand-in's "choose a user" page offers the three people the demo printed
        ca_file = re.search(r'"ca_file": "([^"]+)"', text)
        assert ca_file, text[:2000]
        with http() as idp:
            choose = idp.get(authorize, verify=ca_file.group(1), timeout=30)
        assert choose.status_code == 200
        for _, email in users.values():
            assert email in choose.text, email
        family = children_of(proc.pid)
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code in (0, 130), log.read_text()[-3000:]
    assert "Traceback" not in log.read_text()
    assert [pid for pid in family if alive(pid)] == []
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the web app's port is still open"


def test_a_taken_port_is_refused_before_the_demo_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_carnet("demo", "--port", str(port), cwd=tmp_path, timeout=60)
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr
    assert f"--port {port}: cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Carnet demo" not in done.stdout  # nothing was started
