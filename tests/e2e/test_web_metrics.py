"""/metrics tells what the store says, from `carnet serve` and from `carnet run` alike: each
object's last sync, the scheduled runs and how long the last took, the outbox backlog per source
and status, the CRM's API usage; beside the web app's requests and latency. On SQLite and
PostgreSQL, against the stand-ins.
"""

from __future__ import annotations

import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from ruamel.yaml import YAML
from sqlalchemy import func, select

from connector.status import DESCRIBE_STATE
from connector.store import models as m
from connector.store.db import make_engine, session_factory
from sandbox.runner import Sandbox
from tests.conftest import fresh_db_url, run_carnet
from tests.e2e.scheduler_support import (
    init_store,
    runs,
    start_worker,
    stop_worker,
    wait_until,
    worker_config,
)
from tests.e2e.web_support import Client, free_port, served
from tests.sandbox_fixture import reset_sandbox

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def sandbox_then_reset(fresh_sandbox: Sandbox) -> Iterator[Sandbox]:
    """Reset after too: what the syncs write does not reach the tests that read it as seeded."""
    yield fresh_sandbox
    reset_sandbox(fresh_sandbox)


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    return fresh_db_url(backend, tmp_path, request)


def samples(text: str) -> Samples:
    """Every sample of an exposition, by name and labels."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


def store_facts(db_url: str) -> dict[str, Any]:
    """What the gauges should say, read from the store directly."""
    engine = make_engine(db_url)
    try:
        with session_factory(engine)() as s:
            outbox = {
                (source, status): n
                for source, status, n in s.execute(
                    select(m.Outbox.source, m.Outbox.status, func.count()).group_by(
                        m.Outbox.source, m.Outbox.status
                    )
                )
            }
            # the describe cache's row is not a sync of an object (status and metrics skip it)
            states = list(
                s.scalars(select(m.SyncState).where(m.SyncState.object != DESCRIBE_STATE))
            )
            return {
                "outbox": outbox,
                "finished": {(r.source, r.object): r.last_finished_at for r in states},
                "usage": {(r.source, r.object): r.api_usage for r in states},
                "counts": {(r.source, r.object): r.last_counts for r in states},
            }
    finally:
        engine.dispose()


def check_store_gauges(found: Samples, facts: dict[str, Any], sources: list[str]) -> None:
    assert value(found, "carnet_store_up") == 1
    for source in sources:
        for status in ("pending", "failed", "parked"):
            expected = facts["outbox"].get((source, status), 0)
            assert value(found, "carnet_outbox_records", source=source, status=status) == expected
    for (source, status), n in facts["outbox"].items():
        assert value(found, "carnet_outbox_records", source=source, status=status) == n
    assert facts["finished"], "the sync recorded its objects"
    for (source, obj), at in facts["finished"].items():
        got = value(found, "carnet_sync_last_finished_timestamp_seconds", source=source, object=obj)
        assert got == pytest.approx(at.timestamp())
        assert value(found, "carnet_sync_last_duration_seconds", source=source, object=obj) >= 0
        calls = facts["counts"][(source, obj)].get("api_calls")
        if isinstance(calls, int):
            assert value(found, "carnet_sync_last_api_calls", source=source, object=obj) == calls


def with_settings(config: Path, scheduler: dict[str, Any]) -> Path:
    yaml = YAML()
    doc = yaml.load(config.read_text(encoding="utf-8"))
    doc["scheduler"].update(scheduler)
    with config.open("w", encoding="utf-8") as out:
        yaml.dump(doc, out)
    return config


def test_the_web_apps_metrics_read_the_store(
    sandbox_then_reset: Sandbox, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = worker_config(sandbox_then_reset, {"salesforce": "5m", "hubspot": "5m"})
    init_store(config, db_url)
    env = {"CARNET_DATABASE_URL": db_url}
    for step in (("install", "--source", "salesforce"), ("sync",)):
        done = run_carnet("--config", str(config), *step, env=env)
        assert done.returncode in (0, 1), done.stderr
    monkeypatch.setenv("CARNET_DATABASE_URL", db_url)
    base = f"http://127.0.0.1:{free_port()}"
    with served(config, base):
        client = Client(base)
        assert client.get("/healthz").status_code == 200
        text = client.get("/metrics").text
    found = samples(text)
    facts = store_facts(db_url)
    check_store_gauges(found, facts, ["salesforce", "hubspot"])
    # the push wrote to Salesforce (its fields installed); HubSpot's were not: its writes parked
    assert value(found, "carnet_outbox_records", source="salesforce", status="done")
    assert value(found, "carnet_outbox_records", source="hubspot", status="parked")
    assert facts["outbox"].get(("hubspot", "done"), 0) == 0
    usage = facts["usage"][("salesforce", "Contact")]
    assert value(found, "carnet_api_usage_used", source="salesforce") >= usage["used"] > 0
    assert value(found, "carnet_api_usage_limit", source="salesforce") == usage["limit"]
    requests_seen = value(
        found, "carnet_http_requests_total", method="GET", route="/healthz", status="200"
    )
    assert requests_seen == 1


def test_carnet_run_serves_metrics_on_its_port(
    sandbox_then_reset: Sandbox, db_url: str, tmp_path: Path
) -> None:
    port = free_port()
    config = worker_config(sandbox_then_reset, {"salesforce": "3s"})
    with_settings(config, {"metrics_port": port})
    init_store(config, db_url)
    worker = start_worker(config, db_url, tmp_path / "worker.log")
    url = f"http://127.0.0.1:{port}/metrics"
    try:

        def scraped_after_a_run() -> Samples | None:
            try:
                found = samples(requests.get(url, timeout=10).text)
            except requests.ConnectionError:
                return None
            ok = value(found, "carnet_sync_runs", source="salesforce", job="sync", status="ok")
            return found if ok else None

        found = wait_until(scraped_after_a_run, 90, every=0.5)
        code, _ = stop_worker(worker, signal.SIGTERM)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert code == 0, (tmp_path / "worker.log").read_text()
    recorded = runs(db_url, "sync:salesforce")
    took = value(found, "carnet_sync_run_last_duration_seconds", source="salesforce", job="sync")
    assert took in {r.get("duration_s") for r in recorded}
    ok = value(found, "carnet_sync_runs", source="salesforce", job="sync", status="ok")
    assert ok is not None and 1 <= ok <= sum(r["status"] == "ok" for r in recorded)
    assert value(found, "carnet_outbox_records", source="salesforce", status="parked") is not None
    assert value(found, "carnet_outbox_records", source="hubspot", status="pending") is None
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=5)


def test_a_metrics_port_in_use_is_a_config_error(
    fresh_sandbox: Sandbox, db_url: str, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = worker_config(fresh_sandbox, {"salesforce": "1h"})
        with_settings(config, {"metrics_port": port})
        init_store(config, db_url)
        done = run_carnet("--config", str(config), "run", env={"CARNET_DATABASE_URL": db_url})
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{config}: scheduler.metrics_port: cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr
