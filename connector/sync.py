"""`carnet sync`: pull each enabled source's objects page by page, map and ingest every page,
and commit each page's rows together with its cursor; then resolve what stayed pending, re-score.

A sync killed at any point leaves the overlay at a page boundary, and the next one carries on
from the committed cursors to the same overlay. A source whose API budget runs out stops cleanly
(what was committed stays); the others go on.
"""

from __future__ import annotations

import contextlib
import gc
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from adapters.base import Adapter, Page, RawRecord
from connector.app import App
from connector.config import SourceBase
from connector.errors import BudgetExhausted, FatalError, RetriableError, UsageError
from connector.ingest import Counts, finish_full_pass, ingest_page, resolve_pending
from connector.store.models import SyncState
from mappings.apply import Mapped, apply
from mappings.loader import load_mapping, mapping_path
from mappings.schema import Mapping

SHOWN_FAILURES = 20  # skipped records listed per object in the summary
KEPT_ERRORS = 50  # and kept in sync_state.last_errors


class Progress(Protocol):
    def start(self, source: str, obj: str) -> None: ...
    def advance(self, n: int) -> None: ...
    def stop(self) -> None: ...


class NoProgress:
    def start(self, source: str, obj: str) -> None:
        return None

    def advance(self, n: int) -> None:
        return None

    def stop(self) -> None:
        return None


@dataclass
class ObjectRun:
    counts: Counts = field(default_factory=Counts)
    api_calls: int = 0
    stopped: str | None = None  # why this object's pull ended early
    failed: bool = False  # stopped by an error (not by the API budget)

    def as_dict(self) -> dict[str, Any]:
        doc = self.counts.as_dict() | {"api_calls": self.api_calls}
        if self.counts.errors:
            doc["skipped_records"] = self.counts.errors[:SHOWN_FAILURES]
        if self.stopped:
            doc["stopped"] = self.stopped
        return doc


@dataclass
class Summary:
    """What one sync did: {source: {object: ObjectRun}}; `as_dict()` is the --json document."""

    sources: dict[str, dict[str, ObjectRun]] = field(default_factory=dict)
    dry_run: bool = False
    push: Any = None  # the push step's connector.push.PushSummary (None on a dry run)

    def as_dict(self) -> dict[str, dict[str, dict[str, Any]]]:
        return {
            s: {o: run.as_dict() for o, run in objs.items()} for s, objs in self.sources.items()
        }

    def skipped(self) -> int:
        return sum(r.counts.skipped for objs in self.sources.values() for r in objs.values())

    def notes(self) -> list[str]:
        return [
            f"{s} {o}: {r.stopped}"
            for s, objs in self.sources.items()
            for o, r in objs.items()
            if r.stopped
        ]

    def exit_code(self) -> int:
        """1 when records were skipped or a source failed; 0 otherwise (a spent budget is not
        a failure: the next run carries on)."""
        failed = any(r.failed for objs in self.sources.values() for r in objs.values())
        return 1 if failed or self.skipped() else 0


def _utcnow() -> datetime:
    return datetime.now(UTC)


def run_sync(
    app: App,
    source: str | None = None,
    full: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
    open_adapter: Callable[[str, SourceBase], Adapter] | None = None,
    stop: threading.Event | None = None,
    push: bool = True,
) -> Summary:
    """One sync of every enabled source (or of `source`). UsageError (exit 2) for an unknown or
    disabled source or a bad mapping, before anything is pulled. When `stop` is set (the
    scheduler on SIGTERM) the sync ends after the page in hand is committed. `push=False` leaves
    out the write-back step (the pull benchmark measures the pull alone)."""
    if open_adapter is None:
        from connector.sources import open_adapter as found

        open_adapter = found
    enabled = app.config.sources.enabled()
    if source is not None and source not in enabled:
        known = ", ".join(enabled) or "none"
        raise UsageError(f"--source {source}: not an enabled source (enabled: {known})")
    names = [source] if source else list(enabled)
    mappings = {n: load_mapping(mapping_path(n, enabled[n].mapping), n) for n in names}
    summary = Summary(dry_run=dry_run)
    progress = progress or NoProgress()
    with app.sessions() as session, bulk_gc():
        _wal_autocheckpoint(session, dry_run, SYNC_CHECKPOINT_PAGES)
        try:
            for name in names:
                adapter = open_adapter(name, enabled[name])
                try:
                    job = _SourceSync(session, name, adapter, mappings[name], full, dry_run)
                    job.stop = stop
                    summary.sources[name] = job.run(progress)
                finally:
                    adapter.close()
                if stop is not None and stop.is_set():
                    break
            if stop is None or not stop.is_set():  # else the next run re-scores
                _rescore(session, app, dry_run, None if full else _touched(summary))
            _wal_autocheckpoint(session, dry_run, DEFAULT_CHECKPOINT_PAGES)
        finally:
            progress.stop()
            if dry_run:
                session.rollback()
    if push and not dry_run and (stop is None or not stop.is_set()):  # pull -> derive -> push
        from connector.push import run_push

        summary.push = run_push(app, source, open_adapter=open_adapter)
    return summary


def _wal_autocheckpoint(session: Session, dry_run: bool, pages: int) -> None:
    """On SQLite, let the write-ahead log grow to `pages` before it is checkpointed into the
    database: a sync's pages rewrite the same index pages again and again, and one checkpoint
    at the end copies each once (per-page checkpoints were most of a page's commit time). Only
    this connection's setting; commits stay as durable as before. Set back after a sync that
    ends normally (after an error the transaction in hand must be rolled back, not committed)."""
    if dry_run or session.get_bind().dialect.name != "sqlite":
        return
    session.connection().exec_driver_sql(f"PRAGMA wal_autocheckpoint={pages}")
    session.commit()


def _touched(summary: Summary) -> set[int]:
    """The relationships this sync changed."""
    return {
        i
        for objs in summary.sources.values()
        for r in objs.values()
        for i in r.counts.relationships
    }


def _rescore(session: Session, app: App, dry_run: bool, only: set[int] | None) -> None:
    """Governance recomputes the scores: of every relationship on a --full sync (scores decay
    with time; the nightly full sync keeps that current), else of those this sync changed."""
    try:
        from connector.scoring import recompute_scores
    except ImportError:  # governance not installed: scores stay as they are
        return
    recompute_scores(session, app.config.scoring, _utcnow(), relationship_ids=only)
    _commit(session, dry_run)


def _commit(session: Session, dry_run: bool) -> None:
    if dry_run:
        session.flush()
    else:
        session.commit()


class _SourceSync:
    """One source's objects, in the mapping's order, each pulled from its committed cursor."""

    def __init__(
        self,
        session: Session,
        source: str,
        adapter: Adapter,
        mapping: Mapping,
        full: bool,
        dry_run: bool,
    ):
        self.session, self.source, self.adapter, self.mapping = session, source, adapter, mapping
        self.full, self.dry_run = full, dry_run
        self.stop: threading.Event | None = None

    def run(self, progress: Progress) -> dict[str, ObjectRun]:
        runs: dict[str, ObjectRun] = {}
        for obj in self.mapping.objects:
            progress.start(self.source, obj)
            runs[obj] = run = self._object(obj, progress)
            if run.stopped:
                break
        if runs:  # what the source's last references touched counts with its last object
            last = runs[next(reversed(runs))]
            last.counts.relationships |= resolve_pending(
                self.session, self.source, _utcnow()
            ).relationships
        _commit(self.session, self.dry_run)
        return runs

    def _object(self, obj: str, progress: Progress) -> ObjectRun:
        run, started = ObjectRun(), _utcnow()
        state = _state(self.session, self.source, obj)
        self._save(state, last_started_at=started)
        calls = self.adapter.usage().calls
        try:
            self._pull(obj, state, run, started, progress)
        except BudgetExhausted as exc:
            run.stopped = f"API budget exhausted ({exc}); the next run carries on from here"
        except (FatalError, RetriableError) as exc:
            run.stopped, run.failed = f"stopped by an error: {exc}", True
            self.session.rollback()  # the page in hand; committed pages stay
        run.api_calls = self.adapter.usage().calls - calls
        self._save(
            state,
            last_finished_at=_utcnow(),
            last_counts=run.counts.as_dict() | {"api_calls": run.api_calls},
            last_errors=run.counts.errors[:KEPT_ERRORS]
            + ([{"id": "", "reason": run.stopped}] if run.stopped else []),
            api_usage=asdict(self.adapter.usage()),
        )
        return run

    def _pull(
        self, obj: str, state: int, run: ObjectRun, started: datetime, progress: Progress
    ) -> None:
        kind = self.mapping.objects[obj].kind
        cursor = (
            None
            if self.full
            else self.session.scalar(select(SyncState.cursor).where(SyncState.id == state))
        )
        _commit(self.session, self.dry_run)  # no transaction (nor lock) while the CRM answers
        pages = self.adapter.pull(self._spec(obj), cursor, self.full)
        for page, records in prefetched(pages, lambda p: [apply(self.mapping, obj, r) for r in p]):
            now = _utcnow()
            counts = ingest_page(self.session, self.source, obj, kind, records, page.full, now)
            if page.full and page.done:
                counts.add(finish_full_pass(self.session, self.source, obj, started, now))
            if page.cursor is not None:
                self._save(state, commit=False, cursor=page.cursor)
            _commit(self.session, self.dry_run)  # the page's rows and its cursor, together
            run.counts.add(counts)
            progress.advance(len(page.records))
            if self.stop is not None and self.stop.is_set():
                run.stopped = "stopped on request after a committed page; the next run carries on"
                break
        run.counts.add(resolve_pending(self.session, self.source, _utcnow(), obj))
        _commit(self.session, self.dry_run)

    def _spec(self, obj: str) -> Any:
        """What to pull; optional and outbound fields only where the CRM has them (describe)."""
        if not self.mapping.optional_fields(obj):
            return self.mapping.spec(obj)
        try:
            available = self.adapter.describe(obj)
        except (UsageError, NotImplementedError):
            return self.mapping.spec(obj)
        return self.mapping.spec(obj, available=list(available))

    def _save(self, state: int, commit: bool = True, **values: Any) -> None:
        self.session.execute(update(SyncState).where(SyncState.id == state).values(**values))
        if commit:
            _commit(self.session, self.dry_run)


_END = object()
SYNC_CHECKPOINT_PAGES = 25_000  # ~100 MB of 4 KiB pages before a checkpoint during a sync
DEFAULT_CHECKPOINT_PAGES = 1000  # SQLite's default


@dataclass
class _Raised:
    error: BaseException


def prefetched(
    pages: Iterator[Page], prepare: Callable[[list[RawRecord]], list[Mapped]], depth: int = 2
) -> Iterator[tuple[Page, list[Mapped]]]:
    """The adapter's pages with their mapped records, pulled and mapped in a thread up to `depth`
    pages ahead, so the CRM's time to answer overlaps ingest. Errors come out where the page
    would have; stopping early (an error here) stops the pull after its current call."""
    out: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for page in pages:
                out.put((page, prepare(page.records)))
                if stop.is_set():
                    break
        except BaseException as exc:  # handed to the consumer, raised there
            out.put(_Raised(exc))
        else:
            out.put(_END)
        finally:
            close = getattr(pages, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="carnet-pull", daemon=True)
    worker.start()
    try:
        while (item := out.get()) is not _END:
            if isinstance(item, _Raised):
                raise item.error
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # let a producer blocked on a full queue finish
            with contextlib.suppress(queue.Empty):
                out.get(timeout=0.05)
        worker.join()


@contextlib.contextmanager
def bulk_gc() -> Iterator[None]:
    """Collect garbage less often during a sync: pages allocate many short-lived objects, and
    the default thresholds make the collector scan everything alive every few thousand."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def _state(session: Session, source: str, obj: str) -> int:
    """The id of the (source, object) sync_state row, made when missing."""
    q = select(SyncState.id).where(SyncState.source == source, SyncState.object == obj)
    found = session.scalar(q)
    if found is not None:
        return found
    row = {"source": source, "object": obj, "last_counts": {}, "last_errors": [], "api_usage": {}}
    return int(session.execute(insert(SyncState).returning(SyncState.id), row).scalar_one())
