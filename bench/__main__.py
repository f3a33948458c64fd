"""Run every `bench/bench_*.py` module's `main()` in turn, or only the ones named on the command
line (`python -m bench who_knows` or `python -m bench bench_who_knows`)."""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path


def available() -> list[str]:
    return sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))


def main(argv: list[str]) -> int:
    names = available()
    wanted = [a if a.startswith("bench_") else f"bench_{a}" for a in argv] or names
    unknown = [w for w in wanted if w not in names]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; have: {', '.join(names)}")
        return 2
    for name in wanted:
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        importlib.import_module(f"bench.{name}").main()
        print(f"== {name} done in {time.perf_counter() - started:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
