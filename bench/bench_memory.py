"""Peak memory of a full Salesforce sync as a user runs it (`carnet sync --source salesforce --full`
into a fresh SQLite store) at sandbox scale 1 and scale 4: the peak resident set (VmHWM) of every
Carnet process (the sync, its pull process and any helper it starts), sampled from /proc while they
run and added up; the largest resident set of all of them at one sample is printed beside it.

A flat-memory sync's peak does not grow with the pull: scale 4's at most 1.1x scale 1's, and at
most 250 MB for Carnet's processes together. Run as `python -m bench memory` or
`python -m bench.bench_memory [--scales 1 4]`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench.bench_peer import carnet_sync, pulled
from bench.bench_salesforce_pull import sandbox, verdict
from bench.procs import Measured

TARGET_GROWTH = 1.1  # the largest scale's peak at most this times the smallest's
TARGET_MB = 250


def synced(scale: float, folder: Path) -> tuple[Measured, int]:
    """A full sync against a stand-in at `scale`, its memory sampled; the records it pulled."""
    with sandbox(scale, folder) as urls:
        run = carnet_sync(urls["config"], f"sqlite:///{folder / 'carnet.db'}", memory=True)
    return run, sum(pulled(run).values())


def line(scale: float, run: Measured, records: int) -> str:
    peaks = [kib / 1024 for kib in run.hwm_kib.values()]  # the sync first, then what it started
    parts = " + ".join(f"{mb:.0f}" for mb in peaks)
    return (
        f"{scale:>6g}{records:>10,}{run.wall:>8.1f}s{run.peak_mb:>9.0f} MB"
        f"{run.together_mb:>11.0f} MB   ({len(peaks)} processes: {parts})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_memory")
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 4.0])
    args = parser.parse_args(argv or [])
    scales = sorted(args.scales)
    runs = []
    print("carnet sync --source salesforce --full into a fresh SQLite store: peak memory")
    print(f"{'scale':>6}{'records':>10}{'wall':>9}{'sum of peaks':>14}{'at once':>12}")
    for scale in scales:
        with tempfile.TemporaryDirectory(prefix="carnet-bench-memory-") as tmp:
            run, records = synced(scale, Path(tmp))
        runs.append(run)
        print(line(scale, run, records), flush=True)
    first, last = runs[0], runs[-1]
    largest = max(r.peak_mb for r in runs)
    checks = [
        verdict(
            "peak RSS, Carnet's processes together (sum of their peaks)",
            largest <= TARGET_MB,
            f"{largest:.0f} MB at most",
            f"<= {TARGET_MB} MB",
        )
    ]
    if len(runs) > 1:
        growth = last.peak_mb / first.peak_mb
        checks.append(
            verdict(
                f"peak RSS at scale {scales[-1]:g} against scale {scales[0]:g}",
                growth <= TARGET_GROWTH,
                f"{growth:.2f}x ({last.peak_mb:.0f} MB against {first.peak_mb:.0f} MB)",
                f"<= {TARGET_GROWTH}x",
            )
        )
    print()
    print("\n".join(checks))
    return 0 if all(c.startswith("PASS") for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
