"""Run every `bench/bench_*.py` module's `main()` in turn, or only the ones named on the command
line (`python -m bench who_knows` or `python -m bench bench_who_knows`). With several, each runs in
a process of its own, so one benchmark's peak memory is never charged to the next, and its output
is passed through as it comes; at the end, every PASS and FAIL line again, together, and which
benchmarks missed a target (exit code 1) apart from those that stopped with an error (any other)."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from bench.stores import KEEP


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
    if os.environ.pop(KEEP, None):  # each benchmark keeps a store of its own making there
        print(f"{KEEP} is for one benchmark at a time: left out of this run of several")
    verdicts: list[str] = []
    missed: list[str] = []
    broken: list[str] = []
    for name in wanted:
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        code, said = run_one(name)
        verdicts += said
        if code == 1:
            missed.append(name)
        elif code:
            broken.append(name)
        print(f"== {name} done in {time.perf_counter() - started:.1f} s", flush=True)
    print(summary(verdicts, missed, broken), flush=True)
    return 1 if missed or broken else 0


def run_one(name: str) -> tuple[int, list[str]]:
    """`python -m bench NAME` in a process of its own, its output passed through as it comes:
    (its exit code, its PASS and FAIL lines)."""
    said: list[str] = []
    cmd = [sys.executable, "-m", "bench", name]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, bufsize=1) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            if verdict(line):
                said.append(line.strip())
    return proc.returncode, said


VERDICT = re.compile(r"\b(PASS|FAIL)\b")


def verdict(line: str) -> str | None:
    """PASS or FAIL, where a benchmark's line says whether a target was met; else None."""
    found = VERDICT.search(line)
    return found[1] if found else None


def summary(verdicts: list[str], missed: list[str], broken: list[str]) -> str:
    """The end of a run of several: every verdict again, then what missed or broke."""
    lines = ["== every verdict", *verdicts]
    passed = sum(verdict(v) == "PASS" for v in verdicts)
    lines.append(f"{passed} of {len(verdicts)} targets met")
    if missed:
        lines.append(f"benchmarks that missed a target: {', '.join(missed)}")
    if broken:
        lines.append(f"benchmarks that stopped with an error: {', '.join(broken)}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
