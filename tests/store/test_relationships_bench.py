"""The who-knows benchmark's store builder matches the schema and its answers are real ones (a
small store: the 1,000,000-relationship run is `make bench`)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from bench.bench_who_knows import TARGET_DOMAIN, build_store, measure
from connector.core.config import Sharing
from connector.store.db import make_engine, session_factory
from connector.store.models import Relationship


def test_bench_store_and_measurement(tmp_path: Path) -> None:
    path = tmp_path / "bench.db"
    sizes = build_store(path, relationships=6000, seed=3)
    engine = make_engine(f"sqlite:///{path}")
    try:
        with session_factory(engine)() as s:
            n = s.scalar(select(func.count()).select_from(Relationship))
            assert n is not None and abs(n - 6000) < 300  # about the number asked for
        r = measure(engine, TARGET_DOMAIN, Sharing(scope="company"), 5, sizes["members"])
        assert r["shown"] > 0 and 0 < r["median_ms"] <= r["p95_ms"]
    finally:
        engine.dispose()
