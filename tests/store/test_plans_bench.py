"""The plans benchmark runs end to end on a tiny store (so `make bench` cannot rot unnoticed)."""

from __future__ import annotations

from pathlib import Path

from bench.bench_plans import build_store, cases, run
from connector.core.config import Sharing


def test_bench_plans_runs_on_a_tiny_store(tmp_path: Path) -> None:
    lines: list[str] = []
    built = build_store(tmp_path / "bench.db", scale=0.02)
    assert built["orgs"] == 40 and built["target"] == 50 and built["relationships"] >= 900
    results = run(tmp_path / "bench.db", build=False, runs=1, out=lines.append)
    assert set(results) == set(cases(Sharing()))
    assert all(r["median_ms"] > 0 for r in results.values())
    assert len(lines) == len(results)
