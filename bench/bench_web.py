"""The web app under load: `carnet serve` (a subprocess, as deployed) on bench_who_knows' store of
1,000,000 relationships, with 20 signed-in users (an asyncio httpx loop, one session cookie each)
reading *who knows* (the big account), *my network* and the *account plan* (the big account);
p50 / p95 per page against the targets (p50 <= 30 ms, p95 <= 100 ms), the errors (target 0), and
the server's peak RSS (VmHWM).

A user reads a page, then thinks CARNET_BENCH_WEB_THINK seconds on average (default 1.0; 0: every
user asks again at once, a saturation test), for CARNET_BENCH_WEB_ROUNDS rounds of the three pages
(default 20). CARNET_BENCH_WEB_USERS (default 20); CARNET_BENCH_WEB_WORKERS, the server's
processes (default 2: this machine's cores). Scale and keep the store as bench_who_knows does
(CARNET_BENCH_RELATIONSHIPS, CARNET_BENCH_DB).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from bench.bench_who_knows import TARGET_DOMAIN, build_store
from bench.stores import bench_store
from connector.store.db import make_engine, session_factory, transaction
from connector.store.models import Member
from connector.web.tokens import open_session

P50_MS, P95_MS = 30.0, 100.0
TARGET_ORG_ID = 1  # bench_who_knows' big account (500 people, 3,000 relationships)
PAGES = {
    "who knows": f"/who-knows?q={TARGET_DOMAIN}",
    "my network": "/network",
    "account plan": f"/plans/{TARGET_ORG_ID}",
}


def _setting(name: str, default: float) -> float:
    return float(os.environ.get(f"CARNET_BENCH_WEB_{name}", default))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(folder: Path, db: Path, port: int) -> Path:
    """A config on the store with a `web:` section; the provider is never asked (the users'
    sessions are opened in the store, as a sign-in would)."""
    (folder / "oidc-secret").write_text("bench-secret\n", encoding="utf-8")
    config = folder / "config.yaml"
    config.write_text(
        f"version: 1\n"
        f"database_url: sqlite:///{db}\n"
        f"sharing: {{default: discoverable, scope: company}}\n"
        f"logging: {{level: WARNING}}\n"
        f"web:\n"
        f"  oidc:\n"
        f"    issuer: https://login.bench.invalid\n"
        f"    client_id: carnet-bench\n"
        f"    client_secret_file: {folder / 'oidc-secret'}\n"
        f"  base_url: http://127.0.0.1:{port}\n",
        encoding="utf-8",
    )
    return config


def open_sessions(db: Path, users: int, seed: int = 3) -> list[str]:
    """A browser session each for `users` members picked at random: their cookies' values."""
    engine = make_engine(f"sqlite:///{db}")
    try:
        with transaction(session_factory(engine)) as s:
            ids = list(s.scalars(select(Member.id).order_by(Member.id)))
            chosen = random.Random(seed).sample(ids, users)
            members = [s.get(Member, i) for i in chosen]
            return [open_session(s, m, set(), hours=2) for m in members if m is not None]
    finally:
        engine.dispose()


@contextmanager
def served(config: Path, port: int, workers: int = 1) -> Iterator[subprocess.Popen[bytes]]:
    """`carnet serve --workers N` on `port` until the block ends; waits for /healthz."""
    carnet = Path(sys.executable).parent / "carnet"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARNET_")}
    proc = subprocess.Popen(
        [
            str(carnet),
            "serve",
            "--config",
            str(config),
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", trust_env=False).is_success:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        else:
            raise RuntimeError(f"carnet serve did not start (exit {proc.poll()})")
        yield proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def peak_rss_mb(pid: int) -> float:
    """The peak RSS of the process and its children (the workers) together, in MB."""
    total = 0.0
    for p in [pid, *descendants(pid)]:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1]) / 1024
    return total


def descendants(pid: int) -> list[int]:
    """Every process under `pid` (uvicorn's workers and their helpers)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids = (task / "children").read_text().split()
        found += [int(k) for k in kids]
    return found + [g for k in found for g in descendants(k)]


async def user(
    base: str, cookie: str, rounds: int, think: float, seed: int, out: dict[str, list[float]]
) -> int:
    """One signed-in user: `rounds` times the three pages in a random order, thinking between
    requests; the latencies go to `out`, the errors (not a 200) are returned."""
    rnd, errors = random.Random(seed), 0
    async with httpx.AsyncClient(
        base_url=base, cookies={"carnet_session": cookie}, trust_env=False, timeout=60
    ) as client:
        for _ in range(rounds):
            for name in rnd.sample(list(PAGES), len(PAGES)):
                if think:
                    await asyncio.sleep(rnd.uniform(0, 2 * think))
                started = time.perf_counter()
                try:
                    resp = await client.get(PAGES[name])
                    ok = resp.status_code == 200
                except httpx.HTTPError:
                    ok = False
                out[name].append((time.perf_counter() - started) * 1000)
                errors += not ok
    return errors


async def load(base: str, cookies: list[str], rounds: int, think: float) -> dict[str, Any]:
    times: dict[str, list[float]] = {name: [] for name in PAGES}
    started = time.perf_counter()
    errors = await asyncio.gather(
        *(user(base, c, rounds, think, i, times) for i, c in enumerate(cookies))
    )
    return {"times": times, "errors": sum(errors), "seconds": time.perf_counter() - started}


def report(result: dict[str, Any], users: int, think: float, verdicts: bool = True) -> list[str]:
    lines = [
        f"{users} user(s), think time {think:.1f} s on average: {result['seconds']:.1f} s, "
        f"{sum(len(t) for t in result['times'].values()) / result['seconds']:.1f} requests/s"
    ]
    for name, times in result["times"].items():
        # one request (CARNET_BENCH_WEB_ROUNDS=1, one user) is its own p95
        cuts = statistics.quantiles(times, n=100, method="inclusive") if len(times) > 1 else times
        p50, p95 = statistics.median(times), cuts[94 if len(times) > 1 else 0]
        verdict = "PASS" if p50 <= P50_MS and p95 <= P95_MS else "FAIL"
        target = f"  {verdict} (p50 <= {P50_MS:.0f} ms, p95 <= {P95_MS:.0f} ms)" if verdicts else ""
        lines.append(
            f"  {name:13s} {len(times):5d} requests  p50 {p50:7.1f} ms  p95 {p95:7.1f} ms{target}"
        )
    errors = result["errors"]
    lines.append(f"  errors: {errors}" + (f" ({'FAIL' if errors else 'PASS'})" if verdicts else ""))
    return lines


def run(db: Path, build: bool) -> None:
    users, workers = int(_setting("USERS", 20)), int(_setting("WORKERS", 2))
    rounds, think = int(_setting("ROUNDS", 20)), _setting("THINK", 1.0)
    if build:
        started = time.perf_counter()
        relationships = int(os.environ.get("CARNET_BENCH_RELATIONSHIPS", "1000000"))
        sizes = build_store(db, relationships)
        print(f"built {db} in {time.perf_counter() - started:.1f} s: {sizes}", flush=True)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="carnet-bench-web-") as tmp:
        config = write_config(Path(tmp), db, port)
        cookies = open_sessions(db, users)
        base = f"http://127.0.0.1:{port}"
        print(f"carnet serve --workers {workers}", flush=True)
        with served(config, port, workers) as proc:
            asyncio.run(load(base, cookies, 1, 0))  # warm-up: each user reads each page once
            # what one page costs when nobody waits for anybody: the floor under the figures
            alone = asyncio.run(load(base, cookies[:1], 10, 0))
            print("\n".join(report(alone, 1, 0, verdicts=False)), flush=True)
            result = asyncio.run(load(base, cookies, rounds, think))
            print("\n".join(report(result, users, think)), flush=True)
            rss = peak_rss_mb(proc.pid)
            print(f"server peak RSS (VmHWM, all its processes): {rss:.0f} MB", flush=True)


def main() -> None:
    with bench_store() as (path, build):
        run(path, build=build)


if __name__ == "__main__":
    main()
