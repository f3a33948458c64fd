"""Benchmark of a sync with nothing changed (issue 16): the stand-ins at scale 1, `carnet install`
and a full `carnet sync`, then a sync with nothing changed for each CRM, as a user runs them.

Between syncs the stand-ins' clocks move on by SCHEDULE (a scheduled sync runs every 5 minutes):
the full sync's write-back changes the CRMs' records, and the sync after it reads those changes
back; the one after that has nothing to read. Its calls are counted by the stand-ins, by route:
Salesforce at most one token call and one query per object, HubSpot at most one call per object;
no write (no CRM write call, nothing created, updated or deleted in the overlay); the Salesforce
sync's wall time, as `carnet sync --source salesforce` takes it (start-up included), <= 1 s.
Python's bytecode is cached in a folder of the benchmark's, as a pip install compiles it (this
tree's environment may forbid writing it: each run would compile Carnet again).

Run as `python -m bench nochange` or `python -m bench.bench_nochange [--scale S] [--runs N]`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests

from bench.bench_commands import child_env
from mappings.loader import default_path, load_mapping
from sandbox.runner import NAMES, Sandbox, start

SCHEDULE = timedelta(minutes=6)  # more than the 5-minute overlap both adapters read back
TARGET_WALL_S = 1.0
TOKEN = "POST /services/oauth2/token"
QUERY = "GET /services/data/v{version}/queryAll"
WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")
READ_POSTS = {TOKEN, "POST /crm/v3/objects/{objectType}/search"}


def carnet(config: Path, *args: str) -> tuple[dict[str, Any], float]:
    """`carnet --config CONFIG ARGS` as a user runs it: its JSON output (if any), its wall time."""
    exe = Path(sys.executable).parent / "carnet"
    cached = child_env(config.parent / "pycache")  # beside the stand-ins' config, in the temp dir
    env = {k: v for k, v in cached.items() if not k.startswith("CARNET_")}
    env["CARNET_COMMAND_SERVER"] = "off"  # its `status` leaves no command server behind
    started = time.perf_counter()
    done = subprocess.run(
        [str(exe), "--config", str(config), *args],
        env=env,
        cwd=config.parent,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    elapsed = time.perf_counter() - started
    what = f"carnet {' '.join(args)}: exit {done.returncode}\n{done.stderr[-2000:]}"
    if done.returncode not in (0, 1):
        raise RuntimeError(what)
    try:
        return (json.loads(done.stdout) if "--json" in args else {}), elapsed
    except ValueError:
        raise RuntimeError(f"{what}\n(no JSON summary: {done.stdout[-500:]!r})") from None


def calls(sandbox: Sandbox) -> dict[str, Counter[str]]:
    """Every stand-in's calls so far, by route (`GET /__sandbox/stats`)."""
    with requests.Session() as http:
        http.trust_env, http.verify = False, str(sandbox.ca_file)
        stats = {n: http.get(sandbox.urls[n] + "/__sandbox/stats", timeout=10) for n in NAMES}
    return {n: Counter(resp.json()["calls"]) for n, resp in stats.items()}


def later(sandbox: Sandbox) -> None:
    """The stand-ins' clocks SCHEDULE on: the next scheduled sync."""
    for standin in sandbox.standins.values():
        standin.clock.offset += SCHEDULE


def nochange(sandbox: Sandbox, source: str) -> tuple[dict[str, int], dict[str, Any], float]:
    """One `carnet sync --source SOURCE`: the calls it made by route, its summary, its wall."""
    before = calls(sandbox)
    summary, wall = carnet(sandbox.config_file, "sync", "--json", "--source", source)
    after = calls(sandbox)
    made = {route: n for route, n in (after[source] - before[source]).items() if n}
    return made, summary.get(source, {}), wall


def writes(made: dict[str, int], runs: dict[str, Any]) -> tuple[int, int]:
    """(CRM write calls, overlay rows created, updated or deleted) of one sync."""
    crm = sum(n for r, n in made.items() if r.split()[0] in WRITE_METHODS and r not in READ_POSTS)
    keys = ("created", "updated", "deleted")
    overlay = sum(int(r.get(k) or 0) for r in runs.values() for k in keys)
    return crm, overlay


def verdict(name: str, ok: bool, measured: str, target: str) -> str:
    return f"{'PASS' if ok else 'FAIL'}  {name}: {measured} (target {target})"


def per_object_and_writes(crm_name: str, made: dict[str, int], runs: dict[str, Any]) -> list[str]:
    """The two verdicts every CRM gets: at most one call per object, and nothing written."""
    crm, overlay = writes(made, runs)
    per_object = {o: int(r.get("api_calls") or 0) for o, r in runs.items()}
    return [
        verdict(
            f"{crm_name} calls per object",
            all(n <= 1 for n in per_object.values()),
            ", ".join(f"{o} {n}" for o, n in per_object.items()),
            "<= 1",
        ),
        verdict(f"{crm_name} writes", crm + overlay == 0, f"{crm} CRM, {overlay} overlay", "0"),
    ]


def salesforce_checks(made: dict[str, int], runs: dict[str, Any], walls: list[float]) -> list[str]:
    objects = list(load_mapping(default_path("salesforce"), "salesforce").objects)
    others = {r: n for r, n in made.items() if r not in (TOKEN, QUERY)}
    wall = statistics.median(walls)
    return [
        verdict("Salesforce token calls", made.get(TOKEN, 0) <= 1, str(made.get(TOKEN, 0)), "<= 1"),
        verdict(
            "Salesforce queries",
            made.get(QUERY, 0) <= len(objects) and not others,
            f"{made.get(QUERY, 0)} for {len(objects)} objects, other calls {others or 0}",
            "<= 1 per object, nothing else",
        ),
        *per_object_and_writes("Salesforce", made, runs),
        verdict(
            "Salesforce wall (carnet sync, start-up included)",
            wall <= TARGET_WALL_S,
            f"median {wall:.2f} s, range {min(walls):.2f}-{max(walls):.2f} s of {len(walls)}",
            f"<= {TARGET_WALL_S:.0f} s",
        ),
    ]


def hubspot_checks(made: dict[str, int], runs: dict[str, Any]) -> list[str]:
    objects = list(load_mapping(default_path("hubspot"), "hubspot").objects)
    total = sum(made.values())
    return [
        verdict(
            "HubSpot calls",
            total <= len(objects),
            f"{total} for {len(objects)} objects",
            "<= 1 per object",
        ),
        *per_object_and_writes("HubSpot", made, runs),
    ]


def refreshed(config: Path, source: str) -> str:
    """The verdict on the last push's refresh, as `carnet status` reports it: no outbox row."""
    status, _ = carnet(config, "status", "--json")
    counts = status.get("push", {}).get(source, {}).get("counts", {})
    n = counts.get("refreshed")
    return verdict(
        f"{source} outbox rows refreshed",
        n == 0,
        f"{n} (derived {counts.get('derived')})",
        "0",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_nochange")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=3, help="no-change Salesforce syncs timed")
    args = parser.parse_args(argv or [])
    with (
        tempfile.TemporaryDirectory(prefix="carnet-bench-") as tmp,
        start(seed=1, scale=args.scale, workdir=Path(tmp)) as sandbox,
    ):
        config = sandbox.config_file
        carnet(config, "init")
        carnet(config, "install")
        _, full_wall = carnet(config, "sync", "--json", "--full")
        print(f"No-change syncs, sandbox scale {args.scale}: full sync {full_wall:.1f} s")
        later(sandbox)
        carnet(config, "sync", "--json")  # reads back what the full sync's write-back wrote
        checks: list[str] = []
        for source in ("salesforce", "hubspot"):
            later(sandbox)
            made, runs, wall = nochange(sandbox, source)
            print(f"\n{source}: calls by route of a sync with nothing changed ({wall:.2f} s)")
            for route, n in sorted(made.items()):
                print(f"  {n:>4}  {route}")
            print("  per object: " + ", ".join(f"{o} {r['api_calls']}" for o, r in runs.items()))
            checks.append(refreshed(config, source))  # by the push of the sync just made
            if source == "salesforce":
                walls = [wall] + [nochange(sandbox, source)[2] for _ in range(args.runs - 1)]
                checks += salesforce_checks(made, runs, walls)
            else:
                checks += hubspot_checks(made, runs)
    print()
    print("\n".join(checks))
    return 0 if all(c.startswith("PASS") for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
