"""`carnet demo` (what `make demo` runs) exits 0 and its tour shows data from all three sources."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import run_carnet


def test_the_demo_runs_and_tours_all_three_sources(tmp_path: Path) -> None:
    result = run_carnet("demo", "--no-serve", cwd=tmp_path, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "Traceback" not in out + result.stderr
    summary = re.search(r"the overlay holds (\d+) people and (\d+) relationships, from (.*)", out)
    assert summary, out[-3000:]
    for source in ("exchange", "hubspot", "salesforce"):
        assert re.search(rf"[1-9]\d* {source} records", out), source
    assert "earned" in out, "the won deal credits the broker"
    assert "(plan note)" in out, "the dry run shows the plan note it will write"
    svg = tmp_path / "carnet-demo-plan.svg"
    assert svg.exists() and svg.read_text().lstrip().startswith("<svg")
