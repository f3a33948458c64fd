"""`carnet push` (and the push step of `carnet sync`): derive credits, bring each CRM source's
outbox to the overlay's desired state, then send what is due: fields first, then plan notes, then
invitation campaigns (their members read back first: connector/writeback/campaign_push.py).

A source with nothing due and no campaign to read back opens no connection at all. Each chunk's
results are committed as they come, so a push killed at any point loses no write: what was not
recorded is sent again (field writes are idempotent; notes and campaigns are found again by their
marker; campaign members are read back before they are written). The run's state (counts, a budget
stop) is kept in sync_state under the object name "(push)" for `carnet status`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from itertools import chain
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core import sources
from connector.core.config import Sharing, SourceBase
from connector.core.errors import BudgetExhausted, CarnetError, UsageError
from connector.core.protocols import Adapter
from connector.governance.credits import derive_credits
from connector.store.app import App
from connector.store.models import Outbox, SyncState
from connector.writeback.campaign_push import due_campaigns, push_campaign_step, to_read
from connector.writeback.campaigns import desired_campaigns, preview_campaigns
from connector.writeback.changes import (
    PUSH_STATE,
    changed_since,
    inputs_key,
    last_mark,
    remember,
    save_mark,
    scope_of,
)
from connector.writeback.desired import FIELDS, desired_fields, web_address
from connector.writeback.notes import PLAN, desired_notes, push_notes
from connector.writeback.outbox import (
    PushRun,
    Scope,
    Specs,
    Tally,
    due_count,
    due_pages,
    due_rows,
    field_specs,
    preview,
    push_fields,
)
from connector.writeback.outbox_refresh import refresh
from mappings.loader import load_mapping, mapping_path
from mappings.schema import Mapping

OpenAdapter = Callable[[str, SourceBase], Adapter]


@dataclass
class _Due:
    """The rows a push sends, in its order: the field rows counted only (there is one for each
    record: they are read CHUNK at a time as they are sent, `due_pages`)."""

    fields: int
    notes: list[Outbox]
    campaigns: list[Outbox]
    members: list[Outbox]
    tally: Tally  # what the refresh did

    def count(self) -> int:
        return self.fields + len(self.notes) + len(self.campaigns) + len(self.members)


@dataclass
class PushSummary:
    sources: dict[str, PushRun] = field(default_factory=dict)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "sources": {
                s: run.as_dict() | ({"changes": run.changes} if self.dry_run else {})
                for s, run in self.sources.items()
            },
        }

    def exit_code(self) -> int:
        """1 when records failed or a source stopped on an error; a spent budget is not a
        failure (the next push carries on)."""
        bad = any(
            r.failed or r.parked or (r.stopped and not r.budget_stopped)
            for r in self.sources.values()
        )
        return 1 if bad else 0


def _utcnow() -> datetime:
    return datetime.now(UTC)


def writing_sources(
    app: App, source: str | None, loaded: dict[str, Mapping] | None = None
) -> dict[str, Mapping]:
    """The enabled sources (or `source`) whose mapping writes something back, with it; the
    mappings in `loaded` (a sync's, read already) are not read again."""
    chosen = app.config.sources.chosen(source)
    loaded = loaded or {}
    mappings = {
        n: loaded[n] if n in loaded else load_mapping(mapping_path(n, s.mapping), n)
        for n, s in chosen.items()
    }
    return {n: m for n, m in mappings.items() if m.outbound.objects}


def run_push(
    app: App,
    source: str | None = None,
    dry_run: bool = False,
    open_adapter: OpenAdapter | None = None,
    full: bool = False,
    mappings: dict[str, Mapping] | None = None,
) -> PushSummary:
    """Push every writing source (or `source`). The outbox is refreshed for what changed since
    each source's last refresh; `full` (a --full sync) derives every record again. `mappings`:
    those the sync read already, by source."""
    if open_adapter is None:
        open_adapter = sources.open_adapter
    mappings = writing_sources(app, source, mappings)
    enabled = app.config.sources.enabled()
    summary = PushSummary(dry_run=dry_run)
    with app.sessions() as session:
        credits = app.config.credits
        derive_credits(session, credits.percent, campaign_percent=credits.campaign_percent)
        session.flush()
        for name, mapping in mappings.items():
            job = _SourcePush(session, app, name, enabled[name], mapping, open_adapter)
            job.full = full
            try:
                summary.sources[name] = job.preview() if dry_run else job.run()
            except UsageError:  # a credential the config names was refused: exit 2
                raise
            except CarnetError as exc:  # this source could not be reached; the others go on
                session.rollback()
                summary.sources[name] = PushRun(stopped=f"stopped by an error: {exc}")
        if dry_run:
            session.rollback()
    return summary


def refresh_outbox(
    session: Session,
    source: str,
    mapping: Mapping,
    sharing: Sharing,
    web_url: str | None,
    specs: Specs,
    now: datetime,
    full: bool = False,
) -> Tally:
    """Bring the source's outbox to the overlay at `now` (taken before anything is read): the
    field rows of what changed since the last refresh's mark (every one without a mark that
    holds, or when `full`); plan notes and campaigns whole. Keeps the new mark."""
    key = inputs_key(mapping, sharing, web_url)
    since = None if full else last_mark(session, source, key)
    changed = None if since is None else changed_since(session, source, since, now, sharing)
    only = None if changed is None else scope_of(session, source, mapping, changed)
    desired = chain(
        desired_fields(session, source, mapping, sharing, web_url, only),
        desired_notes(session, source, mapping, sharing),
        desired_campaigns(session, source, mapping),
    )
    tally, scope = Tally(), None if only is None else Scope(only)
    refresh(session, source, desired, specs, now, scope, tally)
    remember(session, source, changed)
    save_mark(session, source, key, now)
    return tally


class _SourcePush:
    def __init__(
        self,
        session: Session,
        app: App,
        name: str,
        settings: SourceBase,
        mapping: Mapping,
        open_adapter: OpenAdapter,
    ):
        self.session, self.name, self.settings, self.mapping = session, name, settings, mapping
        self.sharing, self.open_adapter = app.config.sharing, open_adapter
        self.web_url = web_address(app.config.web)  # for the records' links to Carnet
        self.specs = field_specs(mapping)
        self.full = False

    def _refresh(self, now: datetime) -> _Due:
        session, name = self.session, self.name
        args = (self.mapping, self.sharing, self.web_url, self.specs)
        tally = refresh_outbox(session, name, *args, now, self.full)
        campaigns, members = due_campaigns(session, name, now)
        return _Due(
            due_count(session, name, now, FIELDS),
            due_rows(session, name, now, PLAN),
            campaigns,
            members,
            tally,
        )

    def preview(self) -> PushRun:
        now = _utcnow()
        due = self._refresh(now)
        fields = due_rows(self.session, self.name, now, FIELDS)
        changes = preview(fields + due.notes) + preview_campaigns(due.campaigns + due.members)
        return PushRun(due=due.count(), changes=changes, tally=due.tally)

    def run(self) -> PushRun:
        started = _utcnow()
        due = self._refresh(started)
        self.session.commit()
        run = PushRun(due=due.count(), tally=due.tally)
        usage: dict[str, Any] = {}
        # campaigns the CRM holds are read back on every push: statuses set there come home
        if run.due or to_read(self.session, self.name, started, due.members):
            adapter = self.open_adapter(self.name, self.settings)
            try:
                calls = adapter.usage().calls
                self._send(adapter, due, run, started)
                run.api_calls = adapter.usage().calls - calls
                usage = asdict(adapter.usage())
            finally:
                adapter.close()
        self._save(run, started, usage)
        return run

    def _send(self, adapter: Adapter, due: _Due, run: PushRun, now: datetime) -> None:
        session, settings = self.session, self.settings
        try:
            pages = due_pages(session, self.name, now, FIELDS)
            push_fields(session, adapter, settings, pages, self.specs, run, now)
            if not run.budget_stopped:
                push_notes(session, adapter, settings, due.notes, run, now)
            if not run.budget_stopped:
                push_campaign_step(
                    session, adapter, settings, self.name, self.mapping, due.campaigns, run, now
                )
        except CarnetError as exc:  # the results recorded so far are committed
            session.rollback()
            run.stopped, run.budget_stopped = str(exc), isinstance(exc, BudgetExhausted)

    def _save(self, run: PushRun, started: datetime, usage: dict[str, Any]) -> None:
        q = select(SyncState).where(SyncState.source == self.name, SyncState.object == PUSH_STATE)
        state = self.session.scalar(q)
        if state is None:
            state = SyncState(source=self.name, object=PUSH_STATE)
            self.session.add(state)
        state.last_started_at, state.last_finished_at = started, _utcnow()
        counts = run.as_dict()
        counts.pop("failures", None)
        state.last_counts = counts
        state.last_errors = run.failures[:20] + (
            [{"id": "", "reason": run.stopped}] if run.stopped else []
        )
        state.api_usage = usage or state.api_usage or {}
        self.session.commit()
