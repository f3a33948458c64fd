"""`carnet sync` over a fake Salesforce (SQLite): pages and cursors committed together, the
summary, a second sync that changes nothing, --dry-run, a spent API budget, adapter errors,
unknown sources, the CLI's JSON and exit codes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from connector.core.errors import AuthError, UsageError
from connector.core.records import ObjectSpec, Page, RawRecord
from connector.store import models as m
from connector.store.app import App
from connector.store.migrate import upgrade
from connector.sync import run_sync
from tests.unit.test_sync_fake import FakeSalesforce, snapshot, world, write_config


def count(app: App, model: type[m.Base]) -> int:
    with app.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(model)) or 0)


def test_a_sync_stores_every_object_and_reports_it(app: App) -> None:
    fake = FakeSalesforce(world())
    summary = run_sync(app, open_adapter=lambda name, settings: fake)
    doc = summary.as_dict()["salesforce"]
    assert list(doc) == ["User", "Account", "Contact", "Opportunity", "OpportunityContactRole",
                         "Task", "Event"]  # fmt: skip
    assert doc["Contact"]["pulled"] == 42 and doc["Contact"]["created"] == 39
    assert doc["Contact"]["skipped"] == 1 and doc["Contact"]["api_calls"] == 11
    assert doc["Contact"]["skipped_records"][0]["id"] == "0030013"
    assert summary.exit_code() == 0  # a record skipped by rule is a warning
    assert fake.closed
    assert count(app, m.Person) == 39 and count(app, m.Opportunity) == 8
    with app.engine.connect() as conn:
        state = conn.execute(select(m.SyncState).where(m.SyncState.object == "Contact")).one()
    assert (
        state.cursor == max(r.modstamp for r in fake.records["Contact"] if r.modstamp).isoformat()
    )
    assert state.last_counts["created"] == 39
    assert state.api_usage["calls"] == 1 + 2 + 11  # the usage once Contact was done
    assert state.last_errors[0]["id"] == "0030013"
    assert state.last_finished_at >= state.last_started_at


def test_a_second_sync_reads_from_the_cursors_and_changes_nothing(app: App) -> None:
    fake = FakeSalesforce(world())
    run_sync(app, open_adapter=lambda name, settings: fake)
    before = snapshot(app.engine)
    fake.pulls.clear()
    summary = run_sync(app, open_adapter=lambda name, settings: fake)
    assert all(cursor is not None and not full for _, cursor, full in fake.pulls[:-1])
    for run in summary.sources["salesforce"].values():
        assert (run.counts.created, run.counts.updated, run.counts.deleted) == (0, 0, 0)
    assert snapshot(app.engine) == before


def test_a_changed_record_is_picked_up(app: App) -> None:
    records = world()
    fake = FakeSalesforce(records)
    run_sync(app, open_adapter=lambda name, settings: fake)
    changed = next(r for r in records["Contact"] if r.id == "0030001")
    stamp = max(r.modstamp for r in records["Contact"] if r.modstamp)
    records["Contact"].append(
        RawRecord(
            changed.id,
            {**changed.fields, "Title": "Chief Executive Officer"},
            modstamp=stamp.replace(year=2027),
        )
    )
    summary = run_sync(app, open_adapter=lambda name, settings: fake)
    assert summary.sources["salesforce"]["Contact"].counts.updated == 1
    with app.engine.connect() as conn:
        titles = conn.scalars(select(m.Person.level).where(m.Person.title.like("Chief%")))
        assert list(titles) == ["c_level"]


def test_a_dry_run_pulls_and_maps_but_keeps_nothing(app: App) -> None:
    fake = FakeSalesforce(world())
    summary = run_sync(app, dry_run=True, open_adapter=lambda name, settings: fake)
    assert summary.sources["salesforce"]["Contact"].counts.created == 39
    assert count(app, m.Person) == 0 and count(app, m.SourceLink) == 0
    assert count(app, m.SyncState) == 0


def test_a_spent_budget_stops_the_source_and_keeps_what_was_committed(app: App) -> None:
    fake = FakeSalesforce(world(), budget=6)  # User 1, Account 2, then 3 Contact pages
    summary = run_sync(app, open_adapter=lambda name, settings: fake)
    runs = summary.sources["salesforce"]
    assert list(runs) == ["User", "Account", "Contact"]
    assert runs["Contact"].stopped and "API budget exhausted" in runs["Contact"].stopped
    assert runs["Contact"].counts.pulled == 12 and summary.exit_code() == 0
    assert any("API budget exhausted" in note for note in summary.notes())
    fake.budget = None
    run_sync(app, open_adapter=lambda name, settings: fake)
    fresh = App(write_config(app.config.path.parent / "fresh"))
    upgrade(fresh.engine)
    run_sync(fresh, open_adapter=lambda name, settings: FakeSalesforce(world()))
    assert snapshot(app.engine) == snapshot(fresh.engine)
    fresh.close()


def test_an_adapter_error_stops_its_source_and_fails_the_run(app: App) -> None:
    class Refusing(FakeSalesforce):
        def pull(self, spec: ObjectSpec, cursor: str | None, full: bool) -> Iterator[Page]:
            if spec.name == "Contact":
                raise AuthError("session refused")
            yield from super().pull(spec, cursor, full)

    summary = run_sync(app, open_adapter=lambda name, settings: Refusing(world()))
    contact = summary.sources["salesforce"]["Contact"]
    assert contact.failed and "session refused" in (contact.stopped or "")
    assert summary.exit_code() == 1 and count(app, m.Org) == 6


def test_an_unknown_or_disabled_source_is_a_usage_error(app: App) -> None:
    with pytest.raises(UsageError, match="--source hubspot: not an enabled source"):
        run_sync(app, "hubspot", open_adapter=lambda name, settings: FakeSalesforce({}))


def test_the_cli_prints_the_summary_as_json_and_exits_0_on_records_skipped_by_rule(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    from connector import sync
    from connector.cli import main as cli
    from connector.core import sources

    monkeypatch.setattr(sources, "open_adapter", lambda name, settings: FakeSalesforce(world()))
    monkeypatch.setattr(sync, "PULL_IN_CHILD", False)  # a child process would not see the fake
    runner = CliRunner()
    result = runner.invoke(cli.app, ["sync", "--config", str(app.config.path), "--json"])
    assert result.exit_code == 0, result.output  # a record skipped by rule is a warning
    doc = json.loads(result.stdout)
    assert doc["salesforce"]["Contact"]["created"] == 39
    assert "skipped 1" in result.stderr
    again = runner.invoke(cli.app, ["sync", "--config", str(app.config.path)])
    assert again.exit_code == 0, again.output
    assert "salesforce" in again.stdout and "Contact" in again.stdout


def test_scores_are_recomputed_for_what_changed_and_all_on_a_full_sync(app: App) -> None:
    records = world()
    fake = FakeSalesforce(records)
    run_sync(app, open_adapter=lambda name, settings: fake)
    with app.engine.begin() as conn:
        conn.execute(update(m.Relationship).values(score=None))
    task = records["Task"][0]
    stamp = max(r.modstamp for r in records["Task"] if r.modstamp).replace(year=2027)
    records["Task"].append(RawRecord(task.id, {**task.fields, "Subject": "again"}, modstamp=stamp))
    run_sync(app, open_adapter=lambda name, settings: fake)
    with app.engine.connect() as conn:
        scored = conn.scalar(select(func.count()).where(m.Relationship.score.is_not(None)))
    assert scored == 1  # the task's relationship only
    run_sync(app, full=True, open_adapter=lambda name, settings: fake)
    with app.engine.connect() as conn:
        unscored = conn.scalar(select(func.count()).where(m.Relationship.score.is_(None)))
    assert unscored == 0


def test_on_a_terminal_a_progress_line_per_object_then_the_table(app: App) -> None:
    import io

    from rich.console import Console

    from connector.cli.sync_view import RichProgress, failure_lines, summary_table

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    summary = run_sync(
        app,
        progress=RichProgress(console),
        open_adapter=lambda name, settings: FakeSalesforce(world()),
    )
    console.print(summary_table(summary))
    shown = screen.getvalue()
    assert "salesforce Contact" in shown and "42 records" in shown
    assert "OpportunityContactRole" in shown
    lines = failure_lines(summary)
    assert lines[0].startswith("salesforce Contact: skipped 1: a person needs a valid email")
    assert "0030013" in lines[1]


def test_relationships_are_scored_as_they_are_written_and_the_rest_on_a_full_sync(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    from connector import sync
    from connector.governance.scoring import scored

    asked: list[set[int]] = []
    real = sync.recompute_scores

    def spy(*args: Any, **kw: Any) -> int:
        asked.append(set(kw["relationship_ids"]))
        return real(*args, **kw)

    monkeypatch.setattr(sync, "recompute_scores", spy)

    def rows() -> list[m.Relationship]:
        with app.sessions() as session:
            return list(session.scalars(select(m.Relationship)))

    def assert_current() -> None:
        now = sync._utcnow()
        for rel in rows():
            score, last = scored(rel.signals, rel.last_interaction_at, app.config.scoring, now)
            assert rel.last_interaction_at == last
            assert (rel.score is None) == (score is None)
            assert rel.score is None or score is None or abs(rel.score - score) < 0.002

    fake = FakeSalesforce(world())
    run_sync(app, full=True, push=False, open_adapter=lambda name, settings: fake)
    assert_current()
    total = len(rows())
    assert total > 20 and len(asked[-1]) < total / 4  # written scored: not scored again

    with app.engine.begin() as conn:  # as if time had passed since they were scored
        conn.execute(update(m.Relationship).values(score=None))
    run_sync(app, full=True, push=False, open_adapter=lambda name, settings: fake)
    assert len(asked[-1]) > 0.9 * total  # little was written this time: the rest is re-scored
    assert_current()


def test_a_first_or_full_sync_pulls_in_a_child_process_and_an_incremental_one_in_a_thread(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    from connector import sync
    from connector.core import sources
    from connector.ingest.feed import ThreadFeed
    from mappings.loader import default_path, load_mapping

    fake = FakeSalesforce(world())
    monkeypatch.setattr(sources, "open_adapter", lambda name, settings: fake)
    children: list[bool] = []  # each pull given to a child process: whether it was --full

    class Child(ThreadFeed):  # a child process would not see the fake: it pulls here
        def __init__(
            self, source: str, settings: Any, wants: list[Any], full: bool, child: Any = None
        ):
            children.append(full)
            assert child is not None and child.is_alive()  # started ahead, while describes ran
            super().__init__(lambda: fake, load_mapping(default_path(source), source), wants, full)

    monkeypatch.setattr(sync, "ProcessFeed", Child)
    run_sync(app, push=False)  # nothing pulled yet: everything is read
    before = snapshot(app.engine)
    run_sync(app, push=False)  # every object from its cursor (Event has none: no record yet)
    assert snapshot(app.engine) == before
    run_sync(app, full=True, push=False)
    assert children == [False, True]
    wants = [("User", "c1"), ("Account", None)]  # no Account yet: its cursor is None
    assert not sync.pulls_in_child(False, wants, {"User", "Account"})
    assert sync.pulls_in_child(False, wants, {"User"})  # killed in Account's first pass
    assert sync.pulls_in_child(True, wants, {"User", "Account"})
