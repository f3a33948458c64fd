"""Benchmark of the query commands as a user runs them: `carnet who-knows` and `carnet plan show`
on a synced scale-1 store, each a fresh `carnet` process (interpreter start-up included), beside
`python -c pass` on the same machine. Target: a median of at most 200 ms each (issue 16).

Each command is timed twice: in a process of its own (CARNET_COMMAND_SERVER=off, every import
paid), and as a user's second and later query commands run, answered by the command server the
first one started (connector/cli/cmdserver.py; the first command's time is printed too). The
verdict is on the second: what a rep asking a few questions in a row waits.

The store is what `carnet init` and `carnet sync` make from the sandbox at scale 1 (the three
stand-ins started as `bench_salesforce_pull` does). CARNET_BENCH_DB=path keeps it between runs
(with its config beside it, `<path>.yaml`); CARNET_BENCH_SCALE shrinks it; CARNET_BENCH_RUNS (10).
Python's bytecode of Carnet is cached in a folder of the benchmark's, as a pip install compiles it
(this tree's environment may forbid writing it: each run would compile Carnet again).
Run as `python -m bench commands`.
"""

from __future__ import annotations

import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML

from bench.bench_salesforce_pull import sandbox
from bench.stores import bench_store

TARGET_MS = 200.0
QUERY_SECTIONS = ("version", "sharing", "scoring", "credits", "logging")  # no source, no secret


def carnet_exe() -> str:
    """The `carnet` script next to this interpreter, as the install made it."""
    here = Path(sys.executable).parent / "carnet"
    found = str(here) if here.exists() else shutil.which("carnet")
    if not found:
        raise SystemExit("no `carnet` script: pip install -e . first")
    return found


def build_store(db: Path, scale: float) -> Path:
    """A synced store at `db` and a config for the query commands beside it (`<db>.yaml`):
    `carnet init` and `carnet sync` against the sandbox, as a user runs them."""
    config = db.with_suffix(".yaml")
    with tempfile.TemporaryDirectory(prefix="carnet-bench-") as tmp, sandbox(scale, Path(tmp)) as u:
        env = {**os.environ, "CARNET_DATABASE_URL": f"sqlite:///{db}"}
        for args in (["init"], ["sync"]):
            started = time.perf_counter()
            done = subprocess.run(
                [carnet_exe(), *args, "--config", u["config"]],
                env=env,
                cwd=tmp,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode:
                raise SystemExit(f"carnet {args[0]} failed ({done.returncode}):\n{done.stderr}")
            print(f"carnet {args[0]}: {time.perf_counter() - started:.1f} s", flush=True)
        yaml = YAML()
        whole = yaml.load(Path(u["config"]).read_text())
    kept = {k: whole[k] for k in QUERY_SECTIONS if k in whole}
    kept["database_url"] = f"sqlite:///{db}"
    with config.open("w") as f:
        yaml.dump(kept, f)
    return config


def subjects(db: Path) -> tuple[str, str]:
    """The org domain with the most relationships, and a member who asks about it."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = conn.execute(
            """SELECT d.domain, count(*) AS n FROM relationship r
               JOIN person p ON p.id = r.person_id JOIN org_domain d ON d.org_id = p.org_id
               GROUP BY d.domain ORDER BY n DESC, d.domain LIMIT 1"""
        ).fetchone()
        member = conn.execute(
            "SELECT email FROM member WHERE active ORDER BY email LIMIT 1"
        ).fetchone()
    finally:
        conn.close()
    if not row or not member:
        raise SystemExit(f"{db}: no relationship or no member: not a synced store")
    return row[0], member[0]


def child_env(pycache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    env.pop("CARNET_CONFIG", None)
    env.pop("CARNET_DATABASE_URL", None)
    return env


@dataclass
class Timings:
    wall: list[float] = field(default_factory=list)  # ms
    cpu: list[float] = field(default_factory=list)  # ms, user + system: steadier on a busy box


def children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (used.ru_utime + used.ru_stime) * 1000


def timed(cmd: list[str], env: dict[str, str], runs: int) -> Timings:
    """`runs` runs of `cmd`, after one not counted (it writes the bytecode)."""
    times = Timings()
    for i in range(runs + 1):
        cpu, started = children_cpu(), time.perf_counter()
        done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        elapsed = (time.perf_counter() - started) * 1000
        if done.returncode:
            shown = " ".join(cmd)
            raise SystemExit(f"{shown}: exit {done.returncode}\n{done.stderr.decode()}")
        if i:
            times.wall.append(elapsed)
            times.cpu.append(children_cpu() - cpu)
    return times


def where_it_goes(cmd: list[str], env: dict[str, str]) -> list[tuple[str, float]]:
    """One run under `python -X importtime`: the import time of each top-level package, in ms."""
    script = "import sys; from connector.cli.main import main; sys.argv[0] = 'carnet'; main()"
    argv = [sys.executable, "-X", "importtime", "-c", script, *cmd[1:]]
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    by_package: dict[str, float] = defaultdict(float)
    for line in done.stderr.decode().splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue
        name = parts[2].strip()
        top = ".".join(name.split(".")[:2]) if name.startswith("connector.") else name.split(".")[0]
        by_package[top] += int(parts[0]) / 1000
    return sorted(by_package.items(), key=lambda kv: -kv[1])


def line(name: str, times: Timings, floor: Timings | None, cpu_of: str = "cpu") -> str:
    med, cpu = statistics.median(times.wall), statistics.median(times.cpu)
    above = ""
    if floor is not None:
        above = f"  ({med - statistics.median(floor.wall):+.0f} ms over python -c pass)"
    return (
        f"{name:<15} wall median {med:5.0f} ms  min {min(times.wall):5.0f}  "
        f"max {max(times.wall):5.0f};  {cpu_of} median {cpu:5.0f} ms{above}"
    )


def ask_server(cmd: list[str], env: dict[str, str]) -> float:
    """Start the command server as a user's first query command does, and wait until it answers
    (CARNET_COMMAND_SERVER=require fails while it is still loading); the first command's ms."""
    started = time.perf_counter()
    first = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = (time.perf_counter() - started) * 1000
    if first.returncode:
        raise SystemExit(f"{' '.join(cmd)}: exit {first.returncode}\n{first.stderr.decode()}")
    required = {**env, "CARNET_COMMAND_SERVER": "require"}
    deadline = time.monotonic() + 60
    while subprocess.run(cmd, env=required, capture_output=True).returncode:
        if time.monotonic() > deadline:
            raise SystemExit("the command server did not answer within 60 s")
        time.sleep(0.2)
    return elapsed


def run(db: Path, config: Path, runs: int) -> int:
    domain, member = subjects(db)
    exe = carnet_exe()
    commands = {
        "who-knows": [exe, "who-knows", domain, "--as", member, "--config", str(config)],
        "plan show": [exe, "plan", "show", domain, "--as", member, "--config", str(config)],
    }
    with (
        tempfile.TemporaryDirectory(prefix="carnet-pyc-") as pyc,
        tempfile.TemporaryDirectory(prefix="carnet-run-") as runtime,
    ):
        os.chmod(runtime, 0o700)
        env = {**child_env(Path(pyc)), "CARNET_RUNTIME_DIR": runtime, "CARNET_COMMAND_SERVER": "on"}
        alone = {**env, "CARNET_COMMAND_SERVER": "off"}
        print(f"store {db} ({domain}, as {member}); {runs} runs each, bytecode cached")
        floor = timed([sys.executable, "-c", "pass"], env, runs)
        print(line("python -c pass", floor, None))
        cold = {name: timed(cmd, alone, runs) for name, cmd in commands.items()}
        for name, times in cold.items():
            print(line(name + " alone", times, floor))
        try:
            first = ask_server(commands["who-knows"], env)
            print(f"the first query command, which starts the command server: {first:.0f} ms")
            results = {name: timed(cmd, env, runs) for name, cmd in commands.items()}
        finally:
            subprocess.run(
                [sys.executable, "-c", "from connector.cli import cmdserver; cmdserver.stop()"],
                env=env,
                check=False,
            )
        for name, times in results.items():
            print(line(name + " served", times, floor, "caller's cpu"))
        top = where_it_goes(commands["who-knows"], alone)[:8]
        print("who-knows alone, imports (ms): " + ", ".join(f"{n} {ms:.0f}" for n, ms in top))
    print()
    ok = True
    for name, times in results.items():
        med = statistics.median(times.wall)
        ok &= med <= TARGET_MS
        verdict = "PASS" if med <= TARGET_MS else "FAIL"
        alone_med = statistics.median(cold[name].wall)
        print(
            f"{verdict}  carnet {name}: median {med:.0f} ms wall with the command server "
            f"(target <= {TARGET_MS:.0f} ms; {alone_med:.0f} ms in a process of its own)"
        )
    return 0 if ok else 1


def main() -> None:
    scale = float(os.environ.get("CARNET_BENCH_SCALE", "1"))
    runs = int(os.environ.get("CARNET_BENCH_RUNS", "10"))
    with bench_store() as (db, build):
        config = db.with_suffix(".yaml")
        if not build and not config.exists():
            raise SystemExit(f"{db} exists without {config}: not a store this benchmark made")
        if build:
            print(f"building a synced store at scale {scale}: {db}", flush=True)
            config = build_store(db, scale)
        run(db, config, runs)


if __name__ == "__main__":
    main()
