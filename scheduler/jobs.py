"""The scheduled jobs and their run log: one sync job per enabled source on its `every`, one full
reconciliation per source on scheduler.full_sync_cron, and a row per run in the audit log.

Every worker computes the same fire times (intervals are counted from a fixed epoch, cron runs in
UTC), so a run is named by its job and its slot, the fire time it is for. A run is recorded in
`audit_event` (action `scheduler.run`) before it starts, under the job's lease; a worker that
comes second for a slot sees the record and does not run it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from connector.core.config import Config, parse_every
from connector.store.models import AuditEvent

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # every worker's interval grid starts here
CRON_GRACE = 3600  # a cron run (the nightly full one) may start up to an hour late
MAX_INTERVAL_GRACE = 3600
RUN_ACTION = "scheduler.run"
RUN_SUBJECT = "job"
KEPT_ERRORS = 20
MAX_COUNTED = 10_000  # slots counted as covered by one run (a worker down for long)


@dataclass(frozen=True)
class JobSpec:
    id: str  # "sync:<source>" or "full:<source>"
    source: str
    full: bool
    trigger: BaseTrigger
    grace: int  # seconds a run may start late and still count; also its wait for the store

    @property
    def lease(self) -> str:
        """The lease of the source, shared by its sync and full jobs: never both at once."""
        return f"sync:{self.source}"


def trigger_of(every: str) -> tuple[BaseTrigger, int]:
    """`every` (5m, or a cron expression) as a trigger every worker agrees on, and its grace:
    a late interval run counts until the next one is due; a cron run for an hour."""
    kind, value = parse_every(every)
    if kind == "interval":
        seconds = int(value)
        trigger = IntervalTrigger(seconds=seconds, start_date=EPOCH, timezone=UTC)
        return trigger, max(1, min(seconds, MAX_INTERVAL_GRACE))
    return CronTrigger.from_crontab(str(value), timezone=UTC), CRON_GRACE


def job_specs(config: Config) -> list[JobSpec]:
    """The jobs of every enabled source, sync jobs first."""
    sources = config.sources.enabled()
    specs = [
        JobSpec(f"sync:{name}", name, False, *trigger_of(src.every))
        for name, src in sources.items()
    ]
    full_trigger, full_grace = trigger_of(config.scheduler.full_sync_cron)
    specs += [JobSpec(f"full:{name}", name, True, full_trigger, full_grace) for name in sources]
    return specs


def last_fire_time(trigger: BaseTrigger, now: datetime, lookback: float) -> datetime | None:
    """The latest fire time at or before `now`, looking back `lookback` seconds; None if none."""
    latest = None
    fire = trigger.get_next_fire_time(None, now - timedelta(seconds=lookback))
    while fire is not None and fire <= now:
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire)
    return latest


def next_fire_time(trigger: BaseTrigger, now: datetime) -> datetime | None:
    fire: datetime | None = trigger.get_next_fire_time(None, now)
    return fire


def next_runs(config: Config, now: datetime) -> dict[str, dict[str, str | None]]:
    """When each source's sync and full jobs are due next, as ISO times (UTC)."""
    out: dict[str, dict[str, str | None]] = {}
    for spec in job_specs(config):
        fire = next_fire_time(spec.trigger, now)
        key = "full" if spec.full else "sync"
        out.setdefault(spec.source, {})[key] = fire.isoformat() if fire else None
    return out


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


# -- the run log ----------------------------------------------------------------------------------


def latest_slot(session: Session, job_id: str) -> datetime | None:
    """The slot of the latest recorded run of `job_id` (runs are recorded in slot order)."""
    latest = session.scalar(
        select(AuditEvent.details)
        .where(
            AuditEvent.action == RUN_ACTION,
            AuditEvent.subject_type == RUN_SUBJECT,
            AuditEvent.subject_id == job_id,
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    return datetime.fromisoformat(latest["scheduled_for"]) if latest else None


def covered_slots(
    trigger: BaseTrigger, done: datetime | None, fired: datetime, now: datetime
) -> tuple[datetime, datetime, int] | None:
    """What a run starting `now` for the slot `fired` covers, given the latest slot `done`
    already run: (first slot, last slot, how many). It runs for the latest slot due by now,
    and covers every slot since `done` (coalesced: one incremental sync catches all of them).
    None when `done` already reaches the latest slot."""
    last = last_fire_time(trigger, now, (now - fired).total_seconds() + 1) or fired
    if done is not None and done >= last:
        return None
    first = fired if done is None else (trigger.get_next_fire_time(done, done) or last)
    count, fire = 0, first
    while fire is not None and fire <= last and count < MAX_COUNTED:
        count += 1
        fire = trigger.get_next_fire_time(fire, fire)
    return first, last, count


def record_start(
    session: Session,
    spec: JobSpec,
    covered: tuple[datetime, datetime, int],
    worker: str,
    run_id: str,
    at: datetime,
) -> int:
    """The run's row, written before it starts; its id. `scheduled_for` is the slot it runs
    for; `covers_from` the first slot it covers, `slots` how many (more than 1: coalesced)."""
    first, last, count = covered
    event = AuditEvent(
        at=at,
        actor_id=None,
        action=RUN_ACTION,
        subject_type=RUN_SUBJECT,
        subject_id=spec.id,
        details={
            "job": spec.id,
            "source": spec.source,
            "full": spec.full,
            "run_id": run_id,
            "worker": worker,
            "scheduled_for": _iso(last),
            "covers_from": _iso(first),
            "slots": count,
            "started_at": _iso(at),
            "status": "running",
        },
    )
    session.add(event)
    session.flush()
    return event.id


def record_finish(
    session: Session,
    event_id: int,
    at: datetime,
    status: str,
    counts: dict[str, int],
    errors: list[str],
) -> dict[str, Any]:
    """Complete the run's row: when it ended, how long it took, what it did; the details."""
    event = session.get(AuditEvent, event_id)
    assert event is not None
    started = datetime.fromisoformat(event.details["started_at"])
    details = dict(event.details) | {
        "finished_at": _iso(at),
        "duration_s": round((at - started).total_seconds(), 3),
        "status": status,
        "counts": counts,
        "errors": errors[:KEPT_ERRORS],
    }
    session.execute(update(AuditEvent).where(AuditEvent.id == event_id).values(details=details))
    return details


def recorded_runs(session: Session, job_id: str | None = None) -> list[dict[str, Any]]:
    """Every recorded run (of one job, or all), oldest first: the details of each row."""
    q = select(AuditEvent.details).where(
        AuditEvent.action == RUN_ACTION, AuditEvent.subject_type == RUN_SUBJECT
    )
    if job_id is not None:
        q = q.where(AuditEvent.subject_id == job_id)
    return [dict(d) for d in session.scalars(q.order_by(AuditEvent.id))]


def last_runs(session: Session) -> dict[str, dict[str, Any]]:
    """The latest recorded run of each job, by job id."""
    latest_ids = (
        select(AuditEvent.subject_id, AuditEvent.id)
        .where(AuditEvent.action == RUN_ACTION, AuditEvent.subject_type == RUN_SUBJECT)
        .order_by(AuditEvent.id.desc())
        .limit(200)
    )
    wanted: dict[str, int] = {}
    for job_id, event_id in session.execute(latest_ids):
        wanted.setdefault(str(job_id), event_id)
    rows = session.scalars(select(AuditEvent).where(AuditEvent.id.in_(wanted.values())))
    return {str(e.subject_id): dict(e.details) for e in rows}
