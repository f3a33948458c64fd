"""`carnet run`: APScheduler runs each source's jobs on their triggers; each run takes the source's
lease, then the store's, records itself, syncs (pull -> derive -> push) and logs one line.

Several workers may run against one PostgreSQL store: a run whose source lease another worker
holds is skipped (that worker is on it), and runs of different sources take turns on the lease
`overlay`, because ingest reads and writes shared rows (people, relationships' signals). SIGTERM
or Ctrl-C stops the scheduling, asks running syncs to stop after the page in hand (committed),
releases the leases and returns 0.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import make_url

from connector.core.config import SourceBase
from connector.core.errors import CarnetError, ConfigError, Problem
from connector.core.logs import run_line, setup_logging
from connector.core.protocols import Adapter
from connector.core.secrets import register_secret
from connector.ingest.processes import kill_children
from connector.plans.snapshot import take_weekly_snapshot
from connector.store.app import App
from connector.store.db import normalise_url, transaction
from connector.sync import Summary, run_sync
from scheduler.jobs import (
    JobSpec,
    covered_slots,
    job_specs,
    last_fire_time,
    latest_slot,
    record_finish,
    record_start,
)
from scheduler.leases import Keeper, db_now
from scheduler.metrics import serve_metrics, store_registry

log = logging.getLogger("carnet.run")
OVERLAY = "overlay"  # the store-wide lease: one sync writes to the overlay at a time
WAIT_FOR_STORE = 3600.0  # seconds a run waits for the store before it gives up
STOP_WITHIN = 8.0  # seconds given to running syncs after a signal (the contract says 10)
COUNTED = ("pulled", "created", "updated", "deleted", "skipped", "api_calls")
PUSHED = ("written", "write_failed")


def worker_name() -> str:
    """host:pid:random, unique among the workers sharing a store."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def totals(summary: Summary, source: str) -> dict[str, int]:
    """A source's counts over its objects."""
    out = dict.fromkeys(COUNTED, 0)
    for run in summary.sources.get(source, {}).values():
        doc = run.as_dict()
        for key in COUNTED:
            out[key] += int(doc.get(key, 0))
    return out


class Worker:
    """One `carnet run` process: its scheduler, its name, the runs it has going."""

    def __init__(
        self,
        app: App,
        name: str | None = None,
        open_adapter: Callable[[str, SourceBase], Adapter] | None = None,
    ):
        self.app, self.name, self.open_adapter = app, name or worker_name(), open_adapter
        self.specs = job_specs(app.config)
        self.stopping = threading.Event()
        self._halts: set[threading.Event] = set()
        self._idle = threading.Condition()

    # -- one run ----------------------------------------------------------------------------------

    def run_job(self, spec: JobSpec) -> None:
        """One firing of a job: take the leases, record the run, sync, log. Never raises."""
        slot = last_fire_time(spec.trigger, datetime.now(UTC), spec.grace + 1)
        # a short random pause spreads the runs over the workers (all fire at the same instant)
        if slot is None or self.stopping.wait(random.uniform(0, min(0.3, spec.grace / 10))):
            return
        halt = threading.Event()
        with self._idle:
            self._halts.add(halt)
        try:
            self._leased_run(spec, slot, halt, uuid.uuid4().hex[:12])
        except Exception:  # a job must not take the scheduler down; the next one tries again
            log.exception("%s: the run failed", spec.id, extra={"job": spec.id})
        finally:
            with self._idle:
                self._halts.discard(halt)
                self._idle.notify_all()

    def _leased_run(
        self, spec: JobSpec, slot: datetime, halt: threading.Event, run_id: str
    ) -> None:
        seconds = self.app.config.scheduler.lease_seconds
        lost = lambda name: halt.set()  # noqa: E731 - a lost lease stops the run
        holder = f"{self.name}/{run_id}"  # per run: a worker's own runs exclude each other too
        with Keeper(self.app.engine, holder, seconds, on_lost=lost) as keeper:
            bound = max(1.0, (slot - datetime.now(UTC)).total_seconds() + spec.grace)
            got = keeper.wait_for(spec.lease, bound, halt) if spec.full else keeper.take(spec.lease)
            if not got:
                log.info(
                    "%s: skipped, lease %s is held by another run",
                    spec.id,
                    spec.lease,
                    extra=self._x(spec, slot),
                )
                return
            # waiting for the store, later slots of this job fall due: the run covers them
            if not keeper.wait_for(OVERLAY, WAIT_FOR_STORE, halt):
                if not halt.is_set():
                    log.warning(
                        "%s: skipped, the store stayed busy", spec.id, extra=self._x(spec, slot)
                    )
                return
            self._recorded_run(spec, slot, halt, run_id)

    def _recorded_run(
        self, spec: JobSpec, fired: datetime, halt: threading.Event, run_id: str
    ) -> None:
        with transaction(self.app.sessions) as session:
            now = db_now(session.connection())
            covered = covered_slots(spec.trigger, latest_slot(session, spec.id), fired, now)
            if covered is None:
                log.debug("%s: slot %s already run", spec.id, fired.isoformat())
                return
            event_id = record_start(session, spec, covered, self.name, run_id, now)
        slot = covered[1]
        started = time.monotonic()
        status, counts, errors = self._sync(spec, halt)
        with transaction(self.app.sessions) as session:
            details = record_finish(
                session, event_id, db_now(session.connection()), status, counts, errors
            )
        extra = self._x(spec, slot) | {
            "event": "run",
            "run_id": run_id,
            "status": status,
            "duration_s": details["duration_s"],
            "slots": details["slots"],
            "counts": counts,
            "errors": errors[:5],
        }
        level = logging.INFO if status in ("ok", "stopped") else logging.WARNING
        line = run_line(spec.source, spec.id.split(":")[0], counts, time.monotonic() - started)
        log.log(level, "%s (%s)", line, status, extra=extra)
        take_weekly_snapshot(self.app)  # the network trend: once per ISO week, still leased

    def _sync(self, spec: JobSpec, halt: threading.Event) -> tuple[str, dict[str, int], list[str]]:
        """Pull -> derive -> push (run_sync; no push once asked to stop): the outcome."""
        counts = dict.fromkeys(COUNTED + PUSHED, 0)
        try:
            summary = run_sync(
                self.app, spec.source, full=spec.full, open_adapter=self.open_adapter, stop=halt
            )
        except CarnetError as exc:
            return "failed", counts, [str(exc)]
        runs = summary.sources.get(spec.source, {}).values()
        counts |= totals(summary, spec.source)
        errors = [f"{r.stopped}" for r in runs if r.stopped]
        failed = any(r.failed for r in runs)
        pushed = summary.push.sources.values() if summary.push is not None else []
        for push in pushed:
            counts["written"] += push.written
            counts["write_failed"] += push.failed + push.parked
            counts["api_calls"] += push.api_calls
            errors += [f"push: {push.stopped}"] if push.stopped else []
            failed = failed or (bool(push.stopped) and not push.budget_stopped)
        status = "failed" if failed else "stopped" if halt.is_set() else "ok"
        return status, counts, errors

    def _x(self, spec: JobSpec, slot: datetime) -> dict[str, Any]:
        return {
            "late_s": round((datetime.now(UTC) - slot).total_seconds(), 3),
            "job": spec.id,
            "source": spec.source,
            "worker": self.name,
            "slot": slot.isoformat(),
        }

    # -- the scheduler ----------------------------------------------------------------------------

    def scheduler(self) -> BackgroundScheduler:
        """Every job on its trigger, coalesced, one instance at a time; and each once at start,
        to catch up a slot missed while no worker ran (a slot already run is skipped)."""
        sched = BackgroundScheduler(
            timezone=UTC, executors={"default": ThreadPoolExecutor(max(1, 2 * len(self.specs)))}
        )
        now = datetime.now(UTC)
        for spec in self.specs:
            common: dict[str, Any] = {
                "args": [spec],
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": spec.grace,
            }
            sched.add_job(self.run_job, spec.trigger, id=spec.id, name=spec.id, **common)
            sched.add_job(self.run_job, "date", run_date=now, id=f"{spec.id}:start", **common)
        return sched

    @property
    def busy(self) -> bool:
        """Whether a run is still going."""
        with self._idle:
            return bool(self._halts)

    def stop(self) -> None:
        """Stop scheduling; running syncs stop after the page in hand."""
        self.stopping.set()
        with self._idle:
            for halt in self._halts:
                halt.set()

    def serve(self, install_signals: bool = True) -> int:
        """Run until `stop()` (SIGTERM / SIGINT); 0."""
        previous = self._on_signals() if install_signals else {}
        sched = self.scheduler()
        log.info(
            "worker %s started: %s",
            self.name,
            ", ".join(s.id for s in self.specs),
            extra={"event": "start", "worker": self.name, "jobs": [s.id for s in self.specs]},
        )
        sched.start()
        try:
            while not self.stopping.wait(0.5):
                pass
        finally:
            sched.shutdown(wait=False)
            self.stop()
            finished = self._wait_idle(STOP_WITHIN)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        log.info(
            "worker %s stopped%s",
            self.name,
            "" if finished else " (a run was still going: its open page is rolled back)",
            extra={"event": "stop", "worker": self.name, "clean": finished},
        )
        return 0

    def _wait_idle(self, seconds: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: not self._halts, timeout=seconds)

    def _on_signals(self) -> dict[int, Any]:
        def on_signal(signum: int, frame: FrameType | None) -> None:
            log.info(
                "signal %s: stopping", signal.Signals(signum).name, extra={"worker": self.name}
            )
            self.stopping.set()

        return {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}


def serve_until_stopped(app: App) -> int:
    """The body of `carnet run`: logs set up, the store checked, the worker served. If a run
    is still going when the time after a signal is up, leave at once (its page is rolled back)."""
    setup_logging(app.config.logging)
    register_secret(make_url(normalise_url(app.config.database_url)).password)
    app.sessions  # noqa: B018 - refuses a store that is missing or behind, before any job
    worker = Worker(app)
    metrics = _metrics(app)
    try:
        code = worker.serve()
    finally:
        if metrics is not None:
            metrics.shutdown()
    if worker.busy:
        kill_children()  # a pull process still running goes with us
        logging.shutdown()
        os._exit(code)
    return code


def _metrics(app: App) -> Any:
    """Prometheus /metrics from the store on scheduler.metrics_port (None: not configured)."""
    port, host = app.config.scheduler.metrics_port, app.config.scheduler.metrics_host
    if port is None:
        return None
    registry = store_registry(app.engine, app.config.sources.enabled())
    try:
        server = serve_metrics(registry, port, host)
    except OSError as exc:
        where = f"cannot listen on {host}:{port}: {exc.strerror or exc}"
        raise ConfigError(
            [Problem(str(app.config.path), "scheduler.metrics_port", where)]
        ) from None
    log.info("metrics on http://%s:%s/metrics", host, port, extra={"event": "metrics"})
    return server
