"""What the store says about the syncs, as Prometheus gauges read at scrape time: the scheduled
runs and how long the last took, each object's last run, the outbox backlog and the CRMs' API
usage, per source. `carnet serve` (/metrics) and `carnet run` (scheduler.metrics_port) register
the same collector, so every process that can reach the store tells the same story.

It sits on the scheduler's floor because the run log is the scheduler's (scheduler.jobs).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from connector.store.db import read_only_sessions
from connector.store.models import AuditEvent, Outbox, SyncState
from scheduler.jobs import RUN_ACTION, RUN_SUBJECT

log = logging.getLogger("carnet.metrics")
RUN_WINDOW = timedelta(hours=24)  # scheduled runs are counted over the last day
BACKLOG = ("pending", "failed", "parked")  # always present per source, 0 when empty


def _gauge(name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels)


class StoreCollector(Collector):
    """Reads the store on every scrape (a few small queries); `sources`: the enabled ones, shown
    with zero backlogs even before their first push."""

    def __init__(self, engine: Engine, sources: Iterable[str] = ()) -> None:
        self.sessions = read_only_sessions(engine)
        self.sources = list(sources)

    def describe(self) -> Iterable[Metric]:
        return []  # names are only known from the store: no read when the collector registers

    def collect(self) -> Iterator[Metric]:
        up = _gauge("carnet_store_up", "1 when the store answered this scrape", [])
        try:
            with self.sessions() as session:
                families = [*runs(session), *objects(session), backlog(session, self.sources)]
        except Exception:  # a scrape must answer even when the store does not
            log.warning("metrics: the store could not be read", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families


def runs(session: Session, now: datetime | None = None) -> list[Metric]:
    """The runs `carnet run` recorded over RUN_WINDOW: how many by outcome, the last one's
    duration (per source and job: sync or full)."""
    since = (now or datetime.now(UTC)) - RUN_WINDOW
    rows = session.execute(
        select(AuditEvent.at, AuditEvent.details)
        .where(
            AuditEvent.at >= since,
            AuditEvent.action == RUN_ACTION,
            AuditEvent.subject_type == RUN_SUBJECT,
        )
        .order_by(AuditEvent.at, AuditEvent.id)
    ).all()
    counted: Counter[tuple[str, str, str]] = Counter()
    last: dict[tuple[str, str], float] = {}
    for _, details in rows:
        key = (str(details.get("source")), "full" if details.get("full") else "sync")
        counted[(*key, str(details.get("status", "unknown")))] += 1
        if "duration_s" in details:
            last[key] = float(details["duration_s"])
    count = _gauge(
        "carnet_sync_runs",
        "Scheduled runs recorded in the last 24 hours, by outcome (running, ok, stopped, failed)",
        ["source", "job", "status"],
    )
    for (source, job, status), n in sorted(counted.items()):
        count.add_metric([source, job, status], n)
    took = _gauge(
        "carnet_sync_run_last_duration_seconds",
        "How long the last finished scheduled run took",
        ["source", "job"],
    )
    for (source, job), seconds in sorted(last.items()):
        took.add_metric([source, job], seconds)
    return [count, took]


def objects(session: Session) -> list[Metric]:
    """Each object's last pull (and each source's last push, object "(push)"), scheduled or
    not: when it finished, how long it took, the API calls it made; and the CRM's own count."""
    finished = _gauge(
        "carnet_sync_last_finished_timestamp_seconds",
        "When the object's last run finished (Unix time)",
        ["source", "object"],
    )
    took = _gauge(
        "carnet_sync_last_duration_seconds",
        "How long the object's last run took",
        ["source", "object"],
    )
    calls = _gauge(
        "carnet_sync_last_api_calls", "API calls the object's last run made", ["source", "object"]
    )
    usage: dict[str, tuple[datetime, dict[str, Any]]] = {}
    for row in session.scalars(select(SyncState).order_by(SyncState.source, SyncState.object)):
        labels = [row.source, row.object]
        end, start = row.last_finished_at, row.last_started_at
        if end is None:
            continue
        finished.add_metric(labels, end.timestamp())
        if start is not None and start <= end:
            took.add_metric(labels, (end - start).total_seconds())
        if isinstance((row.last_counts or {}).get("api_calls"), int):
            calls.add_metric(labels, row.last_counts["api_calls"])
        if row.api_usage and (row.source not in usage or usage[row.source][0] < end):
            usage[row.source] = (end, row.api_usage)
    return [finished, took, calls, *_usage(usage)]


def _usage(latest: dict[str, tuple[datetime, dict[str, Any]]]) -> list[Metric]:
    used = _gauge(
        "carnet_api_usage_used",
        "API requests the CRM counts as used today (its own figure)",
        ["source"],
    )
    limit = _gauge("carnet_api_usage_limit", "The CRM's daily API request limit", ["source"])
    for source, (_, doc) in sorted(latest.items()):
        if isinstance(doc.get("used"), int):
            used.add_metric([source], doc["used"])
        if isinstance(doc.get("limit"), int):
            limit.add_metric([source], doc["limit"])
    return [used, limit]


def backlog(session: Session, sources: Iterable[str]) -> Metric:
    """Outbox rows per source and status; pending, failed and parked shown even when 0."""
    found = {
        (source, status): n
        for source, status, n in session.execute(
            select(Outbox.source, Outbox.status, func.count()).group_by(
                Outbox.source, Outbox.status
            )
        )
    }
    for source in sources:
        for status in BACKLOG:
            found.setdefault((source, status), 0)
    gauge = _gauge(
        "carnet_outbox_records",
        "Outbox rows by status: pending (to write), done, failed (to retry), parked (given up)",
        ["source", "status"],
    )
    for (source, status), n in sorted(found.items()):
        gauge.add_metric([source, status], n)
    return gauge


def store_registry(engine: Engine, sources: Iterable[str] = ()) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(StoreCollector(engine, sources))
    return registry


def serve_metrics(registry: CollectorRegistry, port: int, host: str) -> Any:
    """/metrics on host:port in a thread of its own; returns the server (call shutdown())."""
    server, _ = start_http_server(port, addr=host, registry=registry)
    return server
