"""Carnet against its peer loader on the same CRM stand-ins (sandbox scale 1): dlt merging the
mapped objects and fields into SQLite (bench/peer_dlt.py), interleaved pair by pair with
`carnet sync --source salesforce --full` as a user runs it (`carnet init` on a fresh store and
`carnet install` first, untimed; the sync's pull, ingest, derive and write-back refresh and push
all timed). Each side runs in a process of its own: wall time, and CPU from its rusage (children
included).

Then the same sync into PostgreSQL, a fresh database each run (dropped after), its records/s
printed beside SQLite's; then the same pairs for HubSpot (dlt over hubspot-api-client against
`carnet sync --source hubspot --full`, each timed run started once the calls before it have left
HubSpot's ten-second rate-limit window). Run as `python -m bench peer` or `python -m
bench.bench_peer [--pairs N] [--scale S] [--no-postgres] [--hubspot-pairs N]`. The PostgreSQL
server is CARNET_BENCH_PG_URL, else CARNET_TEST_PG_URL, else
postgresql://postgres@127.0.0.1:5432/test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from bench.bench_salesforce_pull import sandbox, verdict
from bench.procs import Measured, measure

TARGET_WALL = 0.8  # Carnet's median wall time at most this times dlt's
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
CARNET = str(Path(sys.executable).parent / "carnet")
HUBSPOT_WINDOW_S = 10.5  # HubSpot's rate-limit window (ten seconds), and a margin
Pair = tuple[Measured, Measured]  # (dlt, carnet)


def pg_admin_url() -> str:
    return os.environ.get("CARNET_BENCH_PG_URL") or os.environ.get("CARNET_TEST_PG_URL", PG_DEFAULT)


def settle(crm: str) -> None:
    """Before a timed HubSpot run: wait until the calls of the run before it (the other side's,
    or `carnet install`'s) have left HubSpot's rolling ten-second window, which the stand-in
    keeps too. Each side then starts with the whole window, whichever ran first."""
    if crm == "hubspot":
        time.sleep(HUBSPOT_WINDOW_S)


def store_env(url: str) -> dict[str, str]:
    return {**os.environ, "CARNET_DATABASE_URL": url}


def carnet_sync(
    config: str, url: str, memory: bool = False, source: str = "salesforce"
) -> Measured:
    """`carnet init` and `carnet install --source source` (untimed, as a user runs them first:
    the sync's push then writes Carnet's fields, not refused writes) on the fresh store at `url`,
    then the timed full sync of `source` (HubSpot's in a rate-limit window of its own: `settle`)."""
    env = store_env(url)
    for first in (["init"], ["install", "--source", source]):
        done = subprocess.run(
            [CARNET, *first, "--config", config], env=env, capture_output=True, text=True
        )
        if done.returncode:
            raise RuntimeError(
                f"carnet {first[0]} failed ({done.returncode}): {done.stderr.strip()}"
            )
    cmd = [CARNET, "sync", "--config", config, "--source", source, "--full", "--json"]
    settle(source)
    run = measure(cmd, env=env, memory=memory)
    if run.returncode:
        raise RuntimeError(f"carnet sync failed ({run.returncode}): {run.stderr.strip()[-2000:]}")
    return run


def pulled(run: Measured, source: str = "salesforce") -> dict[str, int]:
    """{object: records pulled} from the sync's --json document."""
    doc = json.loads(run.stdout)
    return {obj: int(counts.get("pulled", 0)) for obj, counts in doc[source].items()}


def dlt_load(config: str, folder: Path, crm: str = "salesforce") -> tuple[Measured, dict[str, int]]:
    """The peer's load into a fresh SQLite file in `folder`; the rows of each table after it."""
    folder.mkdir(parents=True)
    env = {**os.environ, "RUNTIME__LOG_LEVEL": "ERROR", "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, "-m", "bench.peer_dlt", "--crm", crm, "--config", config]
    cmd += ["--db", str(folder / "peer.db"), "--work", str(folder)]
    settle(crm)
    run = measure(cmd, env=env)
    if run.returncode:
        raise RuntimeError(f"the dlt load failed ({run.returncode}): {run.stderr.strip()[-2000:]}")
    return run, json.loads(run.stdout.strip().splitlines()[-1])


def interleaved(config: str, folder: Path, crm: str, n: int) -> tuple[list[Pair], int]:
    """`n` pairs, the peer first in each; the records Carnet pulled."""
    pairs, records = [], 0
    for i in range(n):
        peer, loaded = dlt_load(config, folder / f"dlt-{crm}-{i}", crm)
        ours = carnet_sync(config, f"sqlite:///{folder / f'carnet-{crm}-{i}.db'}", source=crm)
        counts = pulled(ours, crm)
        # (Carnet counts a merged record's losers as records of their own)
        differ = {
            obj: (loaded.get(obj.lower()), got)
            for obj, got in counts.items()
            if loaded.get(obj.lower()) != got
        }
        if differ:
            print(f"  note: pair {i + 1}: (dlt's rows, carnet's pulled) differ: {differ}")
        records = sum(counts.values())
        pairs.append((peer, ours))
    return pairs, records


@contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the server of `admin_url`, dropped afterwards."""
    name = f"carnet_bench_{uuid.uuid4().hex[:12]}"
    admin = make_url(admin_url).set(drivername="postgresql")
    conninfo = admin.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_runs(config: str, n: int) -> list[Measured] | str:
    """`n` syncs into fresh PostgreSQL databases, or why they could not run."""
    try:
        admin = make_url(pg_admin_url()).set(drivername="postgresql")
        with psycopg.connect(admin.render_as_string(hide_password=False), connect_timeout=5) as c:
            c.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"skipped: no PostgreSQL at {make_url(pg_admin_url())!r} ({type(exc).__name__})"
    runs = []
    for _ in range(n):
        with fresh_database(pg_admin_url()) as url:
            runs.append(carnet_sync(config, url))
    return runs


def span(values: list[float], fmt: str = "{:.1f}") -> str:
    """The median and the range: `12.3 (11.9-14.0)`."""
    med = statistics.median(values)
    return f"{fmt.format(med)} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def pair_table(pairs: list[Pair]) -> float:
    """Print the pairs, their medians and ratios; the median wall ratio Carnet/dlt."""
    print(f"{'pair':<6}{'dlt wall':>10}{'dlt cpu':>9}{'carnet wall':>13}{'carnet cpu':>12}")
    for i, (peer, ours) in enumerate(pairs, 1):
        print(f"{i:<6}{peer.wall:>9.1f}s{peer.cpu:>8.1f}s{ours.wall:>12.1f}s{ours.cpu:>11.1f}s")
    dlt_wall = statistics.median(p.wall for p, _ in pairs)
    dlt_cpu = statistics.median(p.cpu for p, _ in pairs)
    our_wall = statistics.median(o.wall for _, o in pairs)
    our_cpu = statistics.median(o.cpu for _, o in pairs)
    print(f"{'median':<6}{dlt_wall:>9.1f}s{dlt_cpu:>8.1f}s{our_wall:>12.1f}s{our_cpu:>11.1f}s")
    walls = [o.wall / p.wall for p, o in pairs]
    cpus = [o.cpu / p.cpu for p, o in pairs]
    print(f"Carnet/dlt per pair: wall {span(walls, '{:.2f}')}x, cpu {span(cpus, '{:.2f}')}x")
    print(f"median ratio Carnet/dlt: wall {our_wall / dlt_wall:.2f}x, cpu {our_cpu / dlt_cpu:.2f}x")
    return our_wall / dlt_wall


def rates(pairs: list[Pair], records: int, pg: list[Measured] | str) -> None:
    print(f"\ncarnet sync --source salesforce --full, {records:,} records: records/s")
    print(f"  SQLite      {span([records / o.wall for _, o in pairs], '{:,.0f}')}")
    if isinstance(pg, str):
        print(f"  PostgreSQL  {pg}")
    else:
        pg_rates = [records / r.wall for r in pg]
        print(f"  PostgreSQL  {span(pg_rates, '{:,.0f}')}  (wall {span([r.wall for r in pg])} s)")


def wall_verdict(crm: str, ratio: float, pairs: list[Pair]) -> str:
    ours = statistics.median(o.wall for _, o in pairs)
    peer = statistics.median(p.wall for p, _ in pairs)
    return verdict(
        f"carnet sync --source {crm} --full against dlt, median wall",
        ratio <= TARGET_WALL,
        f"{ratio:.2f}x ({ours:.1f} s against {peer:.1f} s)",
        f"<= {TARGET_WALL}x",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_peer")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--postgres-runs", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--hubspot-pairs", type=int, default=3, help="0 leaves HubSpot out")
    args = parser.parse_args(argv or [])
    if args.pairs < 1 or args.hubspot_pairs < 0:
        parser.error("--pairs must be at least 1, --hubspot-pairs at least 0")
    checks = []
    with tempfile.TemporaryDirectory(prefix="carnet-bench-peer-") as tmp:
        folder = Path(tmp)
        with sandbox(args.scale, folder) as urls:
            config = urls["config"]
            print(f"Salesforce stand-in at scale {args.scale:g}: {args.pairs} interleaved pairs")
            pairs, records = interleaved(config, folder, "salesforce", args.pairs)
            checks.append(wall_verdict("salesforce", pair_table(pairs), pairs))
            pg: list[Measured] | str = "skipped (--no-postgres)"
            if not args.no_postgres:
                pg = postgres_runs(config, args.postgres_runs)
            rates(pairs, records, pg)
            if args.hubspot_pairs:
                n = args.hubspot_pairs
                print(f"\nHubSpot stand-in at scale {args.scale:g}: {n} interleaved pairs")
                hs_pairs, hs_records = interleaved(config, folder, "hubspot", n)
                print(f"{hs_records:,} records pulled by carnet")
                checks.append(wall_verdict("hubspot", pair_table(hs_pairs), hs_pairs))
    print()
    print("\n".join(checks))
    return 0 if all(c.startswith("PASS") for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
