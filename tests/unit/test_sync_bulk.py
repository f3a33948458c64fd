"""The pull's bulk-load settings: a sync asked not to push leaves the write-back out, and on SQLite
write transactions start with BEGIN IMMEDIATE, so a second writer waits instead of failing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, create_engine, select, update
from sqlalchemy.dialects import postgresql

from connector.core.records import ObjectSpec, Page
from connector.store import models as m
from connector.store.app import App
from connector.store.bulk import among
from connector.store.migrate import upgrade
from connector.sync import run_sync
from connector.writeback.push import PUSH_STATE
from tests.unit.test_sync_fake import FakeSalesforce, world


def push_states(app: App) -> list[str]:
    with app.engine.connect() as conn:
        q = select(m.SyncState.source).where(m.SyncState.object == PUSH_STATE)
        return list(conn.scalars(q))


def test_a_sync_without_push_pulls_everything_and_writes_nothing_back(app: App) -> None:
    summary = run_sync(app, push=False, open_adapter=lambda name, settings: FakeSalesforce(world()))
    assert summary.push is None and push_states(app) == []
    assert summary.sources["salesforce"]["Contact"].counts.created == 39


def test_a_sync_pushes_by_default(app: App) -> None:
    summary = run_sync(app, open_adapter=lambda name, settings: FakeSalesforce(world()))
    assert summary.push is not None and push_states(app) == ["salesforce"]


def test_a_writer_that_reads_first_waits_for_another_writer_instead_of_failing(app: App) -> None:
    """`carnet rate` during a sync: it reads, then writes. It waits for the sync's page to be
    committed (busy timeout), then sees it and writes; it does not fail "database is locked"."""
    with app.sessions() as setup:
        setup.add(m.Member(email="ana@example.com", name="Ana"))
        setup.commit()
    outcome: dict[str, object] = {}

    def rate() -> None:
        try:
            with app.sessions() as other:
                name = other.scalar(select(m.Member.name))
                other.execute(update(m.Member).values(team=f"read {name}"))
                other.commit()
        except Exception as exc:  # the assertion below shows it
            outcome["error"] = exc

    with app.sessions() as sync:
        sync.execute(update(m.Member).values(name="Ana Ruiz"))  # the sync's page, not committed
        second = threading.Thread(target=rate)
        second.start()
        time.sleep(0.3)  # the other writer is waiting now
        assert second.is_alive()
        sync.commit()
    second.join(timeout=10)
    assert "error" not in outcome, outcome
    with app.engine.connect() as conn:
        assert conn.execute(select(m.Member.name, m.Member.team)).one() == (
            "Ana Ruiz",
            "read Ana Ruiz",
        )


def test_among_finds_text_and_integer_keys(app: App) -> None:
    """Long IN lists (json_each on SQLite): numeric external ids are found as text, ids as
    integers."""
    with app.sessions() as session:
        session.add_all(
            [
                m.SourceLink(source="hubspot", object="contacts", external_id=e, entity="person")
                for e in ("12345", "0031", "x")
            ]
        )
        session.flush()
        ext = select(m.SourceLink.external_id).where(
            among(session, m.SourceLink.external_id, [12345, "0031", "0031", "missing"])
        )
        assert sorted(session.scalars(ext)) == ["0031", "12345"]
        ids = select(m.SourceLink.external_id).where(among(session, m.SourceLink.id, {1, 3}))
        assert sorted(session.scalars(ids)) == ["12345", "x"]


def test_among_is_a_plain_in_on_postgresql() -> None:
    class OnPostgres:
        def get_bind(self) -> Engine:
            return create_engine("postgresql+psycopg://carnet@localhost/none")

    clause = among(OnPostgres(), m.SourceLink.id, [2, 1, 2])  # type: ignore[arg-type]
    sql = str(clause.compile(dialect=postgresql.dialect()))
    assert "json_each" not in sql and "IN" in sql


def test_no_write_lock_is_held_while_the_crm_answers(app: App) -> None:
    """An incremental sync reads its cursor, then waits for the CRM: meanwhile another writer
    (with a short busy timeout here) gets in at once."""
    run_sync(app, push=False, open_adapter=lambda name, settings: FakeSalesforce(world()))
    writes: list[str] = []

    class Answering(FakeSalesforce):
        def pull(self, spec: ObjectSpec, cursor: str | None, full: bool) -> Iterator[Page]:
            with app.engine.connect() as conn:  # another writer, while the CRM "answers"
                conn.exec_driver_sql("PRAGMA busy_timeout=300")
                conn.execute(update(m.Member).values(team=f"during {spec.name}"))
                conn.commit()
            writes.append(spec.name)
            yield from super().pull(spec, cursor, full)

    run_sync(app, push=False, open_adapter=lambda name, settings: Answering(world()))
    assert writes[:2] == ["User", "Account"] and len(writes) == 7


def test_a_pure_reader_does_not_wait_for_a_writer(tmp_path: Path) -> None:
    """`carnet status` during a sync's page: its read-only session takes no write lock."""
    from sqlalchemy import text

    from connector.store.db import make_engine, read_only_sessions

    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    upgrade(engine)
    writer = engine.connect()
    writer.begin()  # BEGIN IMMEDIATE: the write lock is held from here
    writer.execute(
        text(
            "INSERT INTO lease (name, holder, acquired_at, expires_at) "
            "VALUES ('x', 'w', '2026-01-01', '2026-01-02')"
        )
    )
    start = time.monotonic()
    with read_only_sessions(engine)() as s:
        assert s.execute(text("SELECT count(*) FROM lease")).scalar() == 0
    assert time.monotonic() - start < 10  # far below the 30 s busy timeout it would wait
    writer.rollback()
    writer.close()
    engine.dispose()
