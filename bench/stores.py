"""Where a benchmark builds its store: at CARNET_BENCH_DB's path, kept between runs of that one
benchmark (built there when missing, its folder made), else in a temporary folder, gone after."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

KEEP = "CARNET_BENCH_DB"


@contextmanager
def bench_store(prefix: str = "carnet-bench-") -> Iterator[tuple[Path, bool]]:
    """(the store's path, whether it is still to be built)."""
    keep = os.environ.get(KEEP)
    if keep:
        path = Path(keep).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        yield path, not path.exists()
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp) / "bench.db", True
