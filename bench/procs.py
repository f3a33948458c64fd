"""Measuring a command run as a user runs it, in a process of its own: its wall time, its CPU (its
own and that of every child it reaped, from wait4's rusage), and its memory (Linux /proc): every
process of its tree sampled while it runs, each one's peak resident set (VmHWM) added up, and the
largest resident set of the tree at one sample."""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

SAMPLE_S = 0.05


@dataclass
class Measured:
    wall: float
    cpu: float  # user + system seconds of the process and its reaped children
    returncode: int
    stdout: str
    stderr: str
    hwm_kib: dict[int, int] = field(default_factory=dict)  # pid -> peak RSS seen
    together_kib: int = 0  # the largest sum of the tree's current RSS at one sample

    @property
    def peak_mb(self) -> float:
        """The processes' peaks added up: an upper bound of what they held at once."""
        return sum(self.hwm_kib.values()) / 1024

    @property
    def together_mb(self) -> float:
        return self.together_kib / 1024


def tree(pid: int) -> list[int]:
    """`pid` and its living descendants."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                text = Path(f"/proc/{current}/task/{task}/children").read_text()
            except OSError:
                continue
            todo.extend(int(c) for c in text.split())
    return out


def memory_kib(pid: int) -> tuple[int, int]:
    """(VmHWM, VmRSS) of `pid` in KiB; zeros once it is gone."""
    hwm = rss = 0
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0, 0
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1])
        elif line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    return hwm, rss


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


class Sampler(threading.Thread):
    """Samples the tree's memory. A child caught between its fork and its exec (a spawned
    process, the resource tracker) still shares the whole of its parent's pages and shows them
    as its own resident set, which it never has once it runs: it is left out until it has exec'd
    (its command line is then its own)."""

    def __init__(self, pid: int, result: Measured):
        super().__init__(daemon=True)
        self.pid, self.result, self.done = pid, result, threading.Event()

    def run(self) -> None:
        root = b""
        while not self.done.is_set():
            now = 0
            root = root or cmdline(self.pid)
            for pid in tree(self.pid):
                if pid != self.pid and cmdline(pid) == root:
                    continue  # forked, not yet exec'd: its parent's pages
                hwm, rss = memory_kib(pid)
                if hwm:
                    self.result.hwm_kib[pid] = max(hwm, self.result.hwm_kib.get(pid, 0))
                now += rss
            self.result.together_kib = max(self.result.together_kib, now)
            self.done.wait(SAMPLE_S)


def measure(cmd: list[str], env: dict[str, str] | None = None, memory: bool = False) -> Measured:
    """Run `cmd` to its end; with `memory`, sample its process tree's memory meanwhile."""
    result = Measured(0.0, 0.0, 0, "", "")
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, text=True)
        sampler = Sampler(proc.pid, result) if memory else None
        if sampler:
            sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        result.wall = time.perf_counter() - started
        proc.returncode = result.returncode = os.waitstatus_to_exitcode(status)
        if sampler:
            sampler.done.set()
            sampler.join()
        out.seek(0)
        err.seek(0)
        result.stdout, result.stderr = out.read(), err.read()
    result.cpu = usage.ru_utime + usage.ru_stime
    return result
