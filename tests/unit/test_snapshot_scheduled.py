"""`carnet run` takes the week's network snapshot after a scheduled sync, once per ISO week: a
worker's run against the fake Salesforce leaves one row per team; asking again that week adds
none."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.plans.snapshot import iso_week, take_weekly_snapshot
from connector.store.app import App
from connector.store.models import utcnow
from connector.store.models_snapshot import TEAM_SCOPE, NetworkSnapshot
from scheduler.jobs import job_specs, recorded_runs
from scheduler.runner import Worker
from tests.unit.test_sync_fake import FakeSalesforce, world


def test_a_scheduled_sync_takes_the_weeks_snapshot_once(app: App) -> None:
    fake = FakeSalesforce(world())
    worker = Worker(app, name="here", open_adapter=lambda name, settings: fake)
    spec = job_specs(app.config)[0]
    worker.run_job(spec)
    with Session(app.engine) as session:
        assert [r["status"] for r in recorded_runs(session)] == ["ok"]
        rows = session.execute(
            select(NetworkSnapshot.team, NetworkSnapshot.scope, NetworkSnapshot.week)
        ).all()
    # the fake's users are all in Department EMEA: one team; what the sync found is still in
    # its grace period, so no account is worked yet as far as the team can see
    assert [tuple(r) for r in rows] == [("EMEA", TEAM_SCOPE, iso_week(utcnow()))]
    again = take_weekly_snapshot(app)  # what the next run would do, the same week
    assert again is not None and again["taken"] is False
    with Session(app.engine) as session:
        assert session.scalar(select(func.count()).select_from(NetworkSnapshot)) == 1
