"""The scheduler's jobs without a CRM: triggers on a grid every worker shares, the slot a firing
is for, what a run covers when slots were coalesced, the run log, and a worker that skips a job
whose lease another worker holds."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from connector.core.config import Config, HubSpotSource, Scheduler, Sources
from connector.store.app import App
from connector.store.db import make_engine
from connector.store.migrate import upgrade
from scheduler.jobs import (
    JobSpec,
    covered_slots,
    job_specs,
    last_fire_time,
    last_runs,
    latest_slot,
    next_runs,
    record_finish,
    record_start,
    recorded_runs,
    trigger_of,
)
from scheduler.leases import acquire
from scheduler.runner import Worker

T0 = datetime(2026, 11, 26, 10, 0, 0, tzinfo=UTC)


def _config(tmp_path: Path, every: str = "5m") -> Config:
    return Config(
        database_url=f"sqlite:///{tmp_path / 'carnet.db'}",
        scheduler=Scheduler(full_sync_cron="30 2 * * *", lease_seconds=10),
        sources=Sources(hubspot=HubSpotSource(token_env="CARNET_TEST_TOKEN", every=every)),
    )


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    config = _config(tmp_path)
    engine = make_engine(config.database_url)
    upgrade(engine)
    engine.dispose()
    carnet = App(config=config)
    yield carnet
    carnet.close()


def test_intervals_fall_on_one_grid_whenever_a_worker_starts() -> None:
    trigger, grace = trigger_of("5m")
    assert grace == 300
    for started in (T0 + timedelta(seconds=1), T0 + timedelta(minutes=3, seconds=7)):
        assert trigger.get_next_fire_time(None, started) == T0 + timedelta(minutes=5)
    assert trigger_of("2h")[1] == 3600  # a late run counts for an hour at most


def test_cron_runs_in_utc_with_an_hour_of_grace() -> None:
    trigger, grace = trigger_of("0 2 * * *")
    assert grace == 3600
    assert trigger.get_next_fire_time(None, T0) == datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


def test_the_slot_of_a_firing_is_the_latest_fire_time_within_the_lookback() -> None:
    trigger, _ = trigger_of("30s")
    assert last_fire_time(trigger, T0 + timedelta(seconds=41), 31) == T0 + timedelta(seconds=30)
    assert last_fire_time(trigger, T0, 31) == T0
    cron, _ = trigger_of("0 2 * * *")
    two = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    assert last_fire_time(cron, two + timedelta(minutes=20), 3601) == two
    assert last_fire_time(cron, two + timedelta(hours=2), 3601) is None  # too late: no run


def test_a_run_covers_every_slot_since_the_last_one_run() -> None:
    trigger, _ = trigger_of("10s")
    at = T0 + timedelta(seconds=31)
    # first run ever, fired for :20 but started at :31: it runs for :30 and covers :20 and :30
    assert covered_slots(trigger, None, T0 + timedelta(seconds=20), at) == (
        T0 + timedelta(seconds=20),
        T0 + timedelta(seconds=30),
        2,
    )
    # the last run was for :00: :10, :20 and :30 are covered by this one
    assert covered_slots(trigger, T0, T0 + timedelta(seconds=30), at) == (
        T0 + timedelta(seconds=10),
        T0 + timedelta(seconds=30),
        3,
    )
    # another worker already ran :30
    assert (
        covered_slots(trigger, T0 + timedelta(seconds=30), T0 + timedelta(seconds=30), at) is None
    )


def test_jobs_and_next_runs_follow_the_config(tmp_path: Path) -> None:
    config = _config(tmp_path, every="*/15 * * * *")
    specs = job_specs(config)
    assert [(s.id, s.lease, s.full) for s in specs] == [
        ("sync:hubspot", "sync:hubspot", False),
        ("full:hubspot", "sync:hubspot", True),
    ]
    assert next_runs(config, T0 + timedelta(minutes=1)) == {
        "hubspot": {
            "sync": (T0 + timedelta(minutes=15)).isoformat(),
            "full": datetime(2026, 11, 27, 2, 30, tzinfo=UTC).isoformat(),
        }
    }


def test_the_run_log_records_start_and_finish(app: App) -> None:
    spec = job_specs(app.config)[0]
    covered = (T0, T0 + timedelta(minutes=5), 2)
    with Session(app.engine) as session:
        assert latest_slot(session, spec.id) is None
        event = record_start(
            session, spec, covered, "w1", "run1", T0 + timedelta(minutes=5, seconds=1)
        )
        assert latest_slot(session, spec.id) == T0 + timedelta(minutes=5)
        details = record_finish(
            session, event, T0 + timedelta(minutes=5, seconds=3), "ok", {"pulled": 4}, ["x"] * 30
        )
        session.commit()
        assert details["duration_s"] == 2.0 and len(details["errors"]) == 20
        assert [r["run_id"] for r in recorded_runs(session)] == ["run1"]
        assert last_runs(session)[spec.id] == details
        assert recorded_runs(session, "full:hubspot") == []


def test_a_job_whose_lease_another_worker_holds_is_skipped(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    spec: JobSpec = job_specs(app.config)[0]
    assert acquire(app.engine, spec.lease, "elsewhere", 60)
    worker = Worker(app, name="here")
    with caplog.at_level(logging.INFO, logger="carnet.run"):
        worker.run_job(spec)
    assert "sync:hubspot: skipped, lease sync:hubspot is held by another run" in caplog.text
    with Session(app.engine) as session:
        assert recorded_runs(session) == []
    assert not worker.busy  # nothing left running


def test_a_job_stops_before_anything_once_the_worker_is_stopping(app: App) -> None:
    worker = Worker(app, name="here")
    worker.stop()
    worker.run_job(job_specs(app.config)[0])
    with Session(app.engine) as session:
        assert recorded_runs(session) == []
