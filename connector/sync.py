"""`carnet sync`: pull each enabled source's objects page by page, map and ingest every page,
and commit each page's rows together with its cursor; then resolve what stayed pending, re-score.

A sync killed at any point leaves the overlay at a page boundary, and the next one carries on
from the committed cursors to the same overlay. A source whose API budget runs out stops cleanly
(what was committed stays); the others go on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from connector.core import sources
from connector.core.config import Scoring, SourceBase
from connector.core.errors import (
    BudgetExhausted,
    CredentialsRefused,
    FatalError,
    RetriableError,
    StoreFull,
)
from connector.core.protocols import Adapter
from connector.core.records import ApiUsage
from connector.governance.scoring import recompute_scores
from connector.ingest.feed import (
    Ended,
    Failed,
    Feed,
    Item,
    ProcessFeed,
    ThreadFeed,
    Want,
    bulk_gc,
)
from connector.ingest.pages import Counts, finish_full_pass, ingest_page, resolve_pending
from connector.ingest.processes import Child, pull_process
from connector.ingest.touched import IdBits, Touched
from connector.store.app import App
from connector.store.models import Relationship, SyncState
from connector.sync_describes import prepare as prepare_describes
from connector.writeback.push import run_push
from mappings.loader import load_mapping, mapping_path
from mappings.schema import Mapping

RESCORE_AT_ONCE = 5000  # relationship ids a full sync's re-score reads at once
SHOWN_FAILURES = 20  # skipped and refused records listed per object in the summary
KEPT_ERRORS = 50  # and kept in sync_state.last_errors
# A sync that opens its own adapters and reads everything pulls and maps in a child process
# (connector/ingest/feed.py, `pulls_in_child`); the tests that fake an adapter through
# connector.core.sources.open_adapter turn this off.
PULL_IN_CHILD = True


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
    counts: Counts = field(default_factory=Counts)  # its relationships folded into `touched`
    touched: Touched = field(default_factory=Touched)
    api_calls: int = 0
    stopped: str | None = None  # why this object's pull ended early
    failed: bool = False  # stopped by an error (not by the API budget)

    def as_dict(self) -> dict[str, Any]:
        doc = self.counts.as_dict() | {"api_calls": self.api_calls}
        if self.counts.errors:
            doc["skipped_records"] = self.counts.errors[:SHOWN_FAILURES]
        if self.counts.refusals:
            doc["refused_records"] = self.counts.refusals[:SHOWN_FAILURES]
        if self.stopped:
            doc["stopped"] = self.stopped
        return doc


@dataclass
class Summary:
    """What one sync did: {source: {object: ObjectRun}}; `as_dict()` is the --json document."""

    sources: dict[str, dict[str, ObjectRun]] = field(default_factory=dict)
    dry_run: bool = False
    push: Any = None  # the push step's connector.writeback.push.PushSummary (None on a dry run)

    def as_dict(self) -> dict[str, dict[str, dict[str, Any]]]:
        return {
            s: {o: run.as_dict() for o, run in objs.items()} for s, objs in self.sources.items()
        }

    def skipped(self) -> int:
        """Records skipped by rule (no email and no name and org, ...): warnings."""
        return sum(r.counts.skipped for objs in self.sources.values() for r in objs.values())

    def refused(self) -> int:
        """Records the store refused: failures."""
        return sum(r.counts.refused for objs in self.sources.values() for r in objs.values())

    def notes(self) -> list[str]:
        return [
            f"{s} {o}: {r.stopped}"
            for s, objs in self.sources.items()
            for o, r in objs.items()
            if r.stopped
        ]

    def exit_code(self) -> int:
        """1 when the store refused records or a source stopped on an error, else 0. Records
        skipped by rule are warnings, and a spent budget is no failure (the next run carries
        on). Writes the push step could not make are parked in the outbox, each with the CRM's
        words, until `carnet install` runs or the values change: `carnet push` and `carnet
        status` list them (and `carnet push` exits 1 on them)."""
        failed = any(r.failed for objs in self.sources.values() for r in objs.values())
        return 1 if failed or self.refused() else 0


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
    spare: Child | None = None,
) -> Summary:
    """One sync of every enabled source (or of `source`). UsageError (exit 2) for an unknown or
    disabled source or a bad mapping, before anything is pulled. When `stop` is set (the
    scheduler on SIGTERM) the sync ends after the page in hand is committed. `push=False` leaves
    out the write-back step (the pull benchmark measures the pull alone). `spare`, a pull process
    the caller started (connector.ingest.processes.pull_process), is taken by the first source
    that pulls in a child process; the caller discards it in the end."""
    enabled = app.config.sources.chosen(source)
    names = list(enabled)
    mappings = {n: load_mapping(mapping_path(n, s.mapping), n) for n, s in enabled.items()}

    def in_child(wants: list[Want], finished: set[str]) -> bool:
        return open_adapter is None and PULL_IN_CHILD and pulls_in_child(full, wants, finished)

    def feed(name: str, wants: list[Want], finished: set[str]) -> Feed:
        settings = prepared.get(name) or enabled[name]
        if in_child(wants, finished):
            return ProcessFeed(name, settings, wants, full, child=ahead.get(name))
        opener = open_adapter or sources.open_adapter
        return ThreadFeed(lambda: opener(name, settings), mappings[name], wants, full)

    summary = Summary(dry_run=dry_run)
    progress = progress or NoProgress()
    prepared: dict[str, SourceBase] = {}
    ahead: dict[str, Child] = {}  # pull processes started before their source's describes
    with app.sessions() as session, bulk_gc():
        _wal_autocheckpoint(session, dry_run, SYNC_CHECKPOINT_PAGES)
        try:
            for name in names:
                job = _SourceSync(session, name, mappings[name], full, dry_run, app.config.scoring)
                job.stop = stop
                planned = job.plan()
                if in_child(*planned):  # it starts up while the describes are read
                    ahead[name], spare = spare or pull_process(), None
                    ahead[name].hand(name)
                opener = open_adapter or sources.open_adapter  # describes cached in the store:
                prepared[name] = prepare_describes(  # read again when stale, handed to the pull
                    session, name, enabled[name], mappings[name], opener, _utcnow(), full, dry_run
                )
                summary.sources[name] = job.run(feed, progress, planned)
                if stop is not None and stop.is_set():
                    break
            if stop is None or not stop.is_set():  # else the next run re-scores
                _rescore(session, app, dry_run, summary, full)
            _wal_autocheckpoint(session, dry_run, DEFAULT_CHECKPOINT_PAGES)
        finally:
            for child in ahead.values():  # each closed by its feed, unless the sync failed first
                child.discard()
            progress.stop()
            if dry_run:
                session.rollback()
    if push and not dry_run and (stop is None or not stop.is_set()):  # pull -> derive -> push
        summary.push = run_push(
            app, source, open_adapter=open_adapter, full=full, mappings=mappings
        )
    return summary


def pulls_in_child(full: bool, wants: list[Want], finished: set[str]) -> bool:
    """Whether a source's pull goes to a child process: a --full sync, or one with an object
    whose pull never finished (a first sync, or one killed in its first pass), reads everything,
    and decoding and mapping that on another core pays off. An incremental sync (each object
    from where its last finished pull left it) reads what changed since, usually little: it
    pulls in a thread, since a child's start-up (a second interpreter, the adapter's imports,
    the mapping read again) would cost more than its pull (most of a sync with nothing changed)."""
    return full or any(obj not in finished for obj, _ in wants)


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


def _rescore(session: Session, app: App, dry_run: bool, summary: Summary, full: bool) -> None:
    """Recompute the scores of every relationship on a --full sync (scores decay with time; the
    nightly full sync keeps them current), else of those this sync changed; but not of those
    the sync wrote with a fresh score already (ingest scores what it writes)."""
    done, touched = IdBits(), IdBits()
    for run in (r for objs in summary.sources.values() for r in objs.values()):
        done |= run.touched.scored
        touched |= run.touched.relationships
    now = _utcnow()
    if full:  # every relationship: their ids read RESCORE_AT_ONCE at a time
        q = select(Relationship.id).order_by(Relationship.id).limit(RESCORE_AT_ONCE)
        after = 0
        while ids := list(session.scalars(q.where(Relationship.id > after))):
            after = ids[-1]
            fresh = [i for i in ids if i not in done]
            recompute_scores(session, app.config.scoring, now, relationship_ids=fresh)
    else:
        wanted = [i for i in touched if i not in done]
        recompute_scores(session, app.config.scoring, now, relationship_ids=wanted)
    _commit(session, dry_run)


def _commit(session: Session, dry_run: bool) -> None:
    if dry_run:
        session.flush()
    else:
        session.commit()


class _SourceSync:
    """One source's objects, in the mapping's order, each pulled from its committed cursor (the
    pull side runs ahead, object after object; this side stores each page as it comes)."""

    def __init__(
        self,
        session: Session,
        source: str,
        mapping: Mapping,
        full: bool,
        dry_run: bool,
        scoring: Scoring,
    ):
        self.session, self.source, self.mapping = session, source, mapping
        self.full, self.dry_run, self.scoring = full, dry_run, scoring
        self.stop: threading.Event | None = None
        self.usage = ApiUsage()

    def plan(self) -> tuple[list[Want], set[str]]:
        """What to pull: each object from its cursor (from the beginning on a --full sync), and
        the objects whose last pull finished."""
        cursors: dict[str, str | None] = {}
        finished: set[str] = set()
        if not self.full:
            q = select(SyncState.object, SyncState.cursor, SyncState.last_finished_at)
            for obj, cursor, end in self.session.execute(q.where(SyncState.source == self.source)):
                cursors[obj] = cursor
                if end is not None:
                    finished.add(obj)
        return [(obj, cursors.get(obj)) for obj in self.mapping.objects], finished

    def run(
        self,
        feed: Callable[[str, list[Want], set[str]], Feed],
        progress: Progress,
        planned: tuple[list[Want], set[str]] | None = None,
    ) -> dict[str, ObjectRun]:
        runs: dict[str, ObjectRun] = {}
        wants, finished = planned or self.plan()
        _commit(self.session, self.dry_run)  # no transaction (nor lock) while the CRM answers
        pull = feed(self.source, wants, finished)
        self.usage = pull.open()
        try:
            items = pull.items()
            for obj in self.mapping.objects:
                progress.start(self.source, obj)
                runs[obj] = run = self._object(obj, items, progress)
                if run.stopped:
                    break
        except SystemExit:  # a second signal: the command ends at once, its call in hand too
            pull.abandon()
            raise
        finally:
            pull.close()
        if runs:  # what the source's last references touched counts with its last object
            last = runs[next(reversed(runs))]
            done = resolve_pending(self.session, self.source, _utcnow(), scoring=self.scoring)
            last.counts.add(last.touched.take(done))
        _commit(self.session, self.dry_run)
        return runs

    def _object(self, obj: str, items: Iterator[Item], progress: Progress) -> ObjectRun:
        run, started = ObjectRun(), _utcnow()
        state = _state(self.session, self.source, obj)
        self._save(state, last_started_at=started)
        calls = self.usage.calls
        try:
            self._pull(obj, items, state, run, started, progress)
        except BudgetExhausted as exc:
            run.stopped = f"API budget exhausted ({exc}); the next run carries on from here"
        except StoreFull:  # no source can go on: the whole sync stops, saying so once
            self.session.rollback()  # the page in hand; committed pages stay
            raise
        except CredentialsRefused:  # a setting of the config is wrong: exit 2, naming it
            self.session.rollback()
            raise
        except (FatalError, RetriableError) as exc:
            run.stopped, run.failed = f"stopped by an error: {exc}", True
            self.session.rollback()  # the page in hand; committed pages stay
        run.api_calls = self.usage.calls - calls
        self._save(
            state,
            last_finished_at=_utcnow(),
            last_counts=run.counts.as_dict() | {"api_calls": run.api_calls},
            last_errors=(run.counts.refusals + run.counts.errors)[:KEPT_ERRORS]
            + ([{"id": "", "reason": run.stopped}] if run.stopped else []),
            api_usage=asdict(self.usage),
        )
        return run

    def _pull(
        self,
        obj: str,
        items: Iterator[Item],
        state: int,
        run: ObjectRun,
        started: datetime,
        progress: Progress,
    ) -> None:
        kind = self.mapping.objects[obj].kind
        for item in items:
            if item.obj != obj:
                raise FatalError(f"the pull sent {item.obj} while {obj} was being stored")
            if item.usage is not None:
                self.usage = item.usage
            if isinstance(item, Failed):
                raise item.error
            if isinstance(item, Ended):
                break
            now = _utcnow()
            counts = ingest_page(
                self.session, self.source, obj, kind, item.records, item.full, now, self.scoring
            )
            if item.full and item.done:
                counts.add(
                    finish_full_pass(self.session, self.source, obj, started, now, self.scoring)
                )
            if item.cursor is not None:
                self._save(state, commit=False, cursor=item.cursor)
            _commit(self.session, self.dry_run)  # the page's rows and its cursor, together
            run.counts.add(run.touched.take(counts))
            progress.advance(item.pulled)
            if self.stop is not None and self.stop.is_set():
                run.stopped = "stopped on request after a committed page; the next run carries on"
                return
        else:
            raise FatalError(f"the pull ended before {obj} was done")
        done = resolve_pending(self.session, self.source, _utcnow(), obj, scoring=self.scoring)
        run.counts.add(run.touched.take(done))
        _commit(self.session, self.dry_run)

    def _save(self, state: int, commit: bool = True, **values: Any) -> None:
        self.session.execute(update(SyncState).where(SyncState.id == state).values(**values))
        if commit:
            _commit(self.session, self.dry_run)


SYNC_CHECKPOINT_PAGES = 25_000  # ~100 MB of 4 KiB pages before a checkpoint during a sync
DEFAULT_CHECKPOINT_PAGES = 1000  # SQLite's default


def _state(session: Session, source: str, obj: str) -> int:
    """The id of the (source, object) sync_state row, made when missing."""
    q = select(SyncState.id).where(SyncState.source == source, SyncState.object == obj)
    found = session.scalar(q)
    if found is not None:
        return found
    row = {"source": source, "object": obj, "last_counts": {}, "last_errors": [], "api_usage": {}}
    return int(session.execute(insert(SyncState).returning(SyncState.id), row).scalar_one())
