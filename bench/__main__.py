"""Run every `bench/bench_*.py` module's `main()` in turn, or only the ones named on the command
line (`python -m bench who_knows` or `python -m bench bench_who_knows`). With several, each runs in
a process of its own, so one benchmark's peak memory is never charged to the next."""

from __future__ import annotations

import importlib
import subprocess
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
    if len(wanted) == 1:  # a benchmark's main() may answer an exit code (1: a target missed)
        code = importlib.import_module(f"bench.{wanted[0]}").main()
        return code if isinstance(code, int) else 0
    failed = []
    for name in wanted:
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        if subprocess.run([sys.executable, "-m", "bench", name], check=False).returncode:
            failed.append(name)
        print(f"== {name} done in {time.perf_counter() - started:.1f} s", flush=True)
    if failed:
        print(f"benchmarks that stopped with an error: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
