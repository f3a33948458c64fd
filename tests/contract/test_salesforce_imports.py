"""What loading the Salesforce adapter imports: simple-salesforce, zeep and httpx, but not httpx's
command-line tool (click, pygments, rich), which httpx loads whenever those are installed and
Carnet never runs (adapters/salesforce/__init__.py)."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
{before}
import adapters.salesforce.adapter
import httpx, simple_salesforce, zeep
print(json.dumps({{
    "loaded": sorted(m for m in ("click", "pygments", "rich") if m in sys.modules),
    "tool": repr(sys.modules.get("httpx._main")),
    "client": httpx.Client.__name__,
    "salesforce": simple_salesforce.Salesforce.__name__,
}}))
"""


def _probe(before: str = "") -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(before=before)],
        capture_output=True,
        text=True,
        check=True,
    )
    doc: dict[str, object] = json.loads(done.stdout)
    return doc


def test_the_adapter_loads_without_the_command_line_tool_of_httpx() -> None:
    doc = _probe()
    assert doc["loaded"] == []
    assert doc["tool"] == "None"  # marked missing: httpx's own fallback defines `httpx.main`
    assert (doc["client"], doc["salesforce"]) == ("Client", "Salesforce")


def test_httpx_loaded_before_the_adapter_is_left_as_it_is() -> None:
    doc = _probe(before="import httpx")
    assert doc["tool"].startswith("<module 'httpx._main'")  # type: ignore[union-attr]
    assert doc["client"] == "Client"
