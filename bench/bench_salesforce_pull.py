"""Benchmark of a full Salesforce pull at sandbox `--scale 1`: the adapter alone (records/s, API
calls against ceil(rows / 2,000) per object, peak RSS), then a full `carnet sync` into SQLite.

The sandbox runs in a subprocess, so the RSS measured here is the adapter's (and the sync's) own;
the sync pulls and maps in a child process of its own, whose peak is reported beside the sync's.
Run as `python -m bench salesforce_pull` or `python -m bench.bench_salesforce_pull [--scale S]`.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TARGET_CALLS = 1.05  # calls at most this times the minimum
TARGET_SYNC_RATE = 10_000  # records/s end to end into SQLite
TARGET_RSS_MB = 300
TARGET_READY_S = 15.0  # `carnet sandbox serve` at this scale ready (its URLs printed)
PAGE = 2000


@dataclass
class Row:
    obj: str
    records: int
    calls: int
    seconds: float

    @property
    def minimum(self) -> int:
        return max(1, math.ceil(self.records / PAGE))


@contextmanager
def sandbox(scale: float, folder: Path) -> Iterator[dict[str, str]]:
    """`carnet sandbox serve` in a subprocess; its URLs (config, ca_file, ...)."""
    cmd = [sys.executable, "-m", "sandbox.runner", "--scale", str(scale)]
    cmd += ["--config-out", str(folder / "config.yaml")]
    began = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line:
            raise RuntimeError(f"the sandbox did not start (exit {proc.wait()})")
        yield {**json.loads(line), "ready_s": f"{time.perf_counter() - began:.2f}"}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux: KiB


def pull_process_mb() -> float:
    """The sync's pull process's peak: the largest child reaped so far (the sandbox, also a child
    of this process, is reaped only at the end)."""
    return rss_mb(resource.RUSAGE_CHILDREN)


def adapter_pull(config: str) -> list[Row]:
    """Every mapped object pulled in full through the adapter, timed object by object."""
    from adapters.salesforce.adapter import SalesforceAdapter
    from connector.core.config import load_config
    from mappings.loader import load_mapping, mapping_path

    settings = load_config(config).sources.salesforce
    assert settings is not None
    mapping = load_mapping(mapping_path("salesforce", settings.mapping), "salesforce")
    adapter = SalesforceAdapter(settings, settings.secret)
    rows = []
    try:
        for obj in mapping.objects:
            calls, started, n = adapter.usage().calls, time.perf_counter(), 0
            for page in adapter.pull(mapping.spec(obj), None, True):
                n += len(page.records)
            elapsed = time.perf_counter() - started
            rows.append(Row(obj, n, adapter.usage().calls - calls, elapsed))
    finally:
        adapter.close()
    return rows


def end_to_end(config: str, folder: Path) -> tuple[list[Row], float] | None:
    """A full `carnet sync --source salesforce` into a fresh SQLite store, if sync exists yet:
    the pull into the store (the write-back push that `carnet sync` runs after it is left out)."""
    if importlib.util.find_spec("connector.sync") is None:
        return None
    from connector.store.app import App
    from connector.store.db import make_engine
    from connector.store.migrate import upgrade
    from connector.sync import run_sync

    os.environ["CARNET_DATABASE_URL"] = f"sqlite:///{folder / 'bench.db'}"
    app = App(config)
    engine = make_engine(app.config.database_url)
    upgrade(engine)
    engine.dispose()
    started = time.perf_counter()
    try:
        summary = run_sync(app, "salesforce", full=True, push=False)
    finally:
        app.close()
    elapsed = time.perf_counter() - started
    runs = summary.sources.get("salesforce", {})
    rows = [Row(o, r.counts.as_dict().get("pulled", 0), r.api_calls, 0.0) for o, r in runs.items()]
    return rows, elapsed


def table(rows: list[Row]) -> list[str]:
    out = [f"{'object':<24}{'records':>9}{'calls':>7}{'min':>6}{'ratio':>7}{'records/s':>11}"]
    for r in rows:
        rate = f"{r.records / r.seconds:,.0f}" if r.seconds else "-"
        ratio = r.calls / r.minimum
        out.append(f"{r.obj:<24}{r.records:>9,}{r.calls:>7}{r.minimum:>6}{ratio:>7.2f}{rate:>11}")
    n, calls = sum(r.records for r in rows), sum(r.calls for r in rows)
    least, secs = sum(r.minimum for r in rows), sum(r.seconds for r in rows)
    total = f"{n / secs:,.0f}" if secs else "-"
    out.append(f"{'total':<24}{n:>9,}{calls:>7}{least:>6}{calls / least:>7.2f}{total:>11}")
    return out


def verdict(name: str, ok: bool, measured: str, target: str) -> str:
    return f"{'PASS' if ok else 'FAIL'}  {name}: {measured} (target {target})"


def report(scale: float, rows: list[Row], e2e: Any, rss: tuple[float, float, float]) -> int:
    print(f"Salesforce full pull, sandbox scale {scale}: adapter only")
    print("\n".join(table(rows)))
    calls, least = sum(r.calls for r in rows), sum(r.minimum for r in rows)
    worst = max(r.calls / r.minimum for r in rows)
    checks = [
        verdict(
            "API calls",
            worst <= TARGET_CALLS,
            f"{calls} for {least} minimum, worst object {worst:.2f}x",
            f"<= {TARGET_CALLS}x per object",
        ),
        verdict(
            "peak RSS after the adapter pull",
            rss[0] <= TARGET_RSS_MB,
            f"{rss[0]:.0f} MB",
            f"<= {TARGET_RSS_MB} MB",
        ),
    ]
    if e2e is None:
        print("\nEnd to end: skipped (--no-sync, or connector.sync is not there yet)")
    else:
        sync_rows, seconds = e2e
        n = sum(r.records for r in sync_rows)
        rate = n / seconds if seconds else 0.0
        print(
            f"\nEnd to end: carnet sync --source salesforce --full into SQLite: "
            f"{n:,} records in {seconds:.1f} s"
        )
        print("\n".join(table(sync_rows)[:-1]))
        checks.append(
            verdict(
                "end-to-end rate",
                rate >= TARGET_SYNC_RATE,
                f"{rate:,.0f} records/s",
                f">= {TARGET_SYNC_RATE:,}",
            )
        )
        checks.append(
            verdict(
                "peak RSS after the sync",
                rss[1] + rss[2] <= TARGET_RSS_MB,
                f"{rss[1]:.0f} MB + {rss[2]:.0f} MB for its pull process",
                f"<= {TARGET_RSS_MB} MB together",
            )
        )
    print()
    print("\n".join(checks))
    return 0 if all(c.startswith("PASS") for c in checks) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_salesforce_pull")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--no-sync", action="store_true", help="the adapter pull only")
    args = parser.parse_args(argv or [])
    with tempfile.TemporaryDirectory(prefix="carnet-bench-") as tmp:
        folder = Path(tmp)
        with sandbox(args.scale, folder) as urls:
            pulled = adapter_pull(urls["config"])
            after_pull = rss_mb()
            e2e = None if args.no_sync else end_to_end(urls["config"], folder)
            code = report(args.scale, pulled, e2e, (after_pull, rss_mb(), pull_process_mb()))
        ready = float(urls["ready_s"])
        print(
            verdict(
                f"carnet sandbox serve --scale {args.scale:g} ready",
                ready < TARGET_READY_S,
                f"{ready:.1f} s",
                f"< {TARGET_READY_S:.0f} s",
            )
        )
        return code if ready < TARGET_READY_S else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
