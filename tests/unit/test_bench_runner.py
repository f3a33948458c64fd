"""`make bench` (`python -m bench`): each benchmark's output passed through, then every verdict
again, and a missed target told apart from a benchmark that broke."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import bench.__main__ as runner


def test_verdict_finds_the_word_wherever_the_line_says_it() -> None:
    assert runner.verdict("PASS  peak RSS: 246 MB (target <= 250 MB)") == "PASS"
    assert runner.verdict("  who knows  200 requests  p50 19.5 ms  FAIL (p50 <= 30 ms)") == "FAIL"
    assert runner.verdict("Contact 15644 records 90,630 records/s") is None
    assert runner.verdict("PASSWORD reset, FAILOVER done") is None  # words, not parts of words


def test_summary_repeats_verdicts_and_names_what_missed_and_what_broke() -> None:
    text = runner.summary(
        ["PASS  a: 1 (target 1)", "FAIL  b: 2 (target 1)", "x  PASS (p50)"],
        missed=["bench_b"],
        broken=["bench_c"],
    )
    assert text.splitlines() == [
        "== every verdict",
        "PASS  a: 1 (target 1)",
        "FAIL  b: 2 (target 1)",
        "x  PASS (p50)",
        "2 of 3 targets met",
        "benchmarks that missed a target: bench_b",
        "benchmarks that stopped with an error: bench_c",
    ]


def test_main_runs_each_apart_and_sorts_exit_codes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    said = {
        "bench_ok": (0, ["PASS  ok: 1"]),
        "bench_slow": (1, ["FAIL  slow: 2"]),
        "bench_broken": (2, []),
    }
    monkeypatch.setattr(runner, "available", lambda: sorted(said))
    monkeypatch.setattr(runner, "run_one", lambda name: said[name])
    monkeypatch.setenv("CARNET_BENCH_DB", "/tmp/one-store.db")  # each would build its own there
    assert runner.main([]) == 1
    assert "CARNET_BENCH_DB" not in os.environ
    out = capsys.readouterr().out
    assert "CARNET_BENCH_DB is for one benchmark at a time" in out
    assert "1 of 2 targets met" in out
    assert "benchmarks that missed a target: bench_slow" in out
    assert "benchmarks that stopped with an error: bench_broken" in out


def test_run_one_passes_output_through_and_keeps_its_verdicts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    script = tmp_path / "fake.py"
    script.write_text(
        "import sys\nprint('a figure')\nprint('FAIL  a target: 2 (target 1)')\nsys.exit(1)\n"
    )
    real = subprocess.Popen

    def popen(cmd: list[str], **kw: object) -> subprocess.Popen[str]:
        assert cmd[1:] == ["-m", "bench", "bench_fake"]
        return real([sys.executable, str(script)], **kw)  # type: ignore[call-overload]

    monkeypatch.setattr(runner, "subprocess", SimpleNamespace(Popen=popen, PIPE=subprocess.PIPE))
    code, verdicts = runner.run_one("bench_fake")
    assert (code, verdicts) == (1, ["FAIL  a target: 2 (target 1)"])
    assert capsys.readouterr().out == "a figure\nFAIL  a target: 2 (target 1)\n"
