"""The logs of `carnet run` on the sandbox, at DEBUG, with stdout a file: JSON lines, one line per
run per source with its counts, and not one secret (the sandbox's secret files, the access tokens
it hands out), not even in the token responses the clients log; `carnet sync`'s output neither."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from sandbox.runner import SECRET_FILES, Sandbox
from tests.conftest import run_carnet
from tests.e2e.scheduler_support import (
    init_store,
    sqlite_url,
    start_worker,
    stop_worker,
    wait_until,
    worker_config,
)

EVERY = {"salesforce": "2s", "hubspot": "3s", "exchange": "2s"}
TOKENS = re.compile(r"Bearer [^\[]|\b00D[A-Za-z0-9]{12,15}!|pat-na1-|eyJ[\w-]{8,}\.[\w-]{8,}\.")


def _secrets(sandbox: Sandbox) -> list[str]:
    folder = sandbox.config_file.parent
    values = [(folder / path).read_text().strip() for path in SECRET_FILES.values()]
    assert all(len(v) >= 20 for v in values)
    return values


@pytest.mark.timeout(90)
def test_run_logs_are_json_lines_with_counts_and_no_secret(
    fresh_sandbox: Sandbox, tmp_path: Path
) -> None:
    url = sqlite_url(tmp_path)
    config = worker_config(fresh_sandbox, EVERY, level="DEBUG", log_format="auto")
    init_store(config, url)
    log = tmp_path / "worker.log"
    worker = start_worker(config, url, log)
    try:
        wait_until(
            lambda: all(f"sync {s}:" in log.read_text() for s in EVERY), timeout=40, every=0.5
        )
        time.sleep(1.0)
    finally:
        code, _ = stop_worker(worker)
    text = log.read_text()
    assert code == 0, text[-2000:]
    for secret in _secrets(fresh_sandbox):
        assert secret not in text
    assert not TOKENS.search(text), TOKENS.search(text)
    lines = [json.loads(line) for line in text.splitlines()]  # every line is one JSON object
    assert {x["level"] for x in lines} >= {"debug", "info"}
    # the clients logged their token responses; what was in them was redacted
    assert any('"access_token": "[REDACTED]"' in x["message"] for x in lines)
    per_run = [x for x in lines if x.get("event") == "run"]
    assert {x["source"] for x in per_run} == set(EVERY)
    for x in per_run:
        assert set(x["counts"]) >= {"pulled", "created", "updated", "deleted", "api_calls"}
        assert x["message"].startswith(f"sync {x['source']}: pulled {x['counts']['pulled']},")
        assert x["worker"] and x["run_id"] and x["duration_s"] >= 0


def test_sync_output_holds_no_secret(fresh_sandbox: Sandbox, tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    config = worker_config(fresh_sandbox, EVERY, level="DEBUG")
    init_store(config, url)
    done = run_carnet("--config", str(config), "sync", "--json", env={"CARNET_DATABASE_URL": url})
    assert done.returncode in (0, 1), done.stderr
    assert json.loads(done.stdout)
    for secret in _secrets(fresh_sandbox):
        assert secret not in done.stdout + done.stderr
    assert not TOKENS.search(done.stdout + done.stderr)
