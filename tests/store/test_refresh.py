"""`carnet push` refreshes the outbox in proportion to what changed, on both stores: a push with
nothing changed derives and refreshes no row (and says so: `derived` and `refreshed` in its
summary and in `carnet status`'s push state); a change derives its record and its dependants
only; a --full sync (or a new mapping, sharing setting or web address) derives everything."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from connector.core.config import SourceBase
from connector.core.protocols import Adapter
from connector.store import models as m
from connector.store.app import App
from connector.writeback.changes import PUSH_STATE, unwritten
from connector.writeback.push import PushSummary, run_push
from tests import governance_world as w
from tests.store.campaign_support import FakeCrm, app_on

SF = "salesforce"
COMPANY = "sharing:\n  default: discoverable\n  scope: company\n"  # the CRM audience sees


def world(s: Session) -> dict[str, int]:
    """Two accounts, three linked contacts, relationships the CRM may see (none to quinn)."""
    ann, bob = w.member(s, "ann@us.example"), w.member(s, "bob@us.example")
    globex, initech = w.org(s, "Globex"), w.org(s, "Initech")
    pat, quinn = w.person(s, "pat@globex.example", globex), w.person(s, "q@globex.example", globex)
    ray = w.person(s, "ray@initech.example", initech)
    pat_ann = w.rel(s, ann, pat, rating=4)
    w.rel(s, bob, ray, rating=3)
    for obj, ext, entity, eid in (
        ("Contact", "003P", "person", pat.id),
        ("Contact", "003Q", "person", quinn.id),
        ("Contact", "003R", "person", ray.id),
        ("Account", "001G", "org", globex.id),
        ("Account", "001I", "org", initech.id),
    ):
        s.add(m.SourceLink(source=SF, object=obj, external_id=ext, entity=entity, entity_id=eid))
    s.commit()
    return {"pat_ann": pat_ann.id, "quinn": quinn.id, "initech": initech.id}


def push(app: App, full: bool = False) -> dict[str, int]:
    crm = FakeCrm()

    def open_adapter(name: str, settings: SourceBase) -> Adapter:
        return cast(Adapter, crm)  # the calls a field push makes

    summary: PushSummary = run_push(app, open_adapter=open_adapter, full=full)
    return summary.sources[SF].as_dict()


def test_a_push_with_nothing_changed_refreshes_nothing(
    session: Session, engine: Engine, tmp_path: Path
) -> None:
    app = app_on(engine, tmp_path, COMPANY)
    world(session)
    first = push(app)
    assert (first["derived"], first["refreshed"], first["written"]) == (5, 5, 5)
    idle = push(app)
    assert (idle["derived"], idle["refreshed"], idle["due"], idle["written"]) == (0, 0, 0, 0)
    state = session.scalar(
        select(m.SyncState).where(m.SyncState.source == SF, m.SyncState.object == PUSH_STATE)
    )
    assert state is not None and state.last_counts["refreshed"] == 0


def test_a_change_derives_its_record_and_its_dependants_only(
    session: Session, engine: Engine, tmp_path: Path
) -> None:
    app = app_on(engine, tmp_path, COMPANY)
    ids = world(session)
    push(app)
    rel = session.get(m.Relationship, ids["pat_ann"])
    assert rel is not None
    rel.rating = 1
    session.commit()
    rated = push(app)  # pat's contact, and Globex (pat's org)
    assert (rated["derived"], rated["refreshed"], rated["written"]) == (2, 1, 1)
    quinn = session.get(m.Person, ids["quinn"])
    assert quinn is not None
    quinn.org_id = ids["initech"]  # quinn moves: Globex and Initech's coverage both change
    session.commit()
    moved = push(app)
    assert (moved["derived"], moved["refreshed"]) == (3, 2)
    rel = session.get(m.Relationship, ids["pat_ann"])
    session.delete(rel)  # nobody visible knows pat any more
    session.commit()
    gone = push(app)
    assert (gone["derived"], gone["refreshed"]) == (2, 2)
    again = push(app, full=True)  # a --full sync: everything derived, nothing left to change
    assert (again["derived"], again["refreshed"], again["written"]) == (5, 0, 0)


def test_a_write_in_sql_after_an_idle_push_is_derived(
    session: Session, engine: Engine, tmp_path: Path
) -> None:
    """A push with nothing written since the last skips comparing relationships and people on
    SQLite (the store's count of writes has not moved); a write made in SQL, which leaves
    updated_at as it was, is still found by the next push; and so it is on SQLite once a table
    rebuilt by a migration has lost a trigger that counts."""
    app = app_on(engine, tmp_path, COMPANY)
    ids = world(session)
    sqlite = engine.dialect.name == "sqlite"
    push(app)
    for rating, drop in ((1, False), (2, sqlite)):
        push(app)
        assert unwritten(session, SF) == sqlite
        session.rollback()
        if drop:
            session.execute(text("DROP TRIGGER tr_relationship_update_counted"))
        rate = "UPDATE relationship SET rating = :r WHERE id = :i"
        session.execute(text(rate), {"r": rating, "i": ids["pat_ann"]})
        session.commit()
        assert unwritten(session, SF) is False
        session.rollback()
        rated = push(app)  # pat's contact, and Globex (pat's org)
        assert (rated["derived"], rated["refreshed"], rated["written"]) == (2, 1, 1)


def test_a_link_deleted_after_an_idle_push_takes_its_outbox_row(
    session: Session, engine: Engine, tmp_path: Path
) -> None:
    """A link deleted in SQL (the product never deletes one) is counted as a write on SQLite:
    the next push still finds its outbox row, whose record is gone, and drops it."""
    app = app_on(engine, tmp_path, COMPANY)
    world(session)
    push(app)
    push(app)
    rows = select(m.Outbox.external_id).where(m.Outbox.source == SF)
    assert "003R" in set(session.scalars(rows))
    session.rollback()
    session.execute(text("DELETE FROM source_link WHERE external_id = '003R'"))
    session.commit()
    gone = push(app)
    assert (gone["derived"], gone["refreshed"]) == (0, 1)
    assert "003R" not in set(session.scalars(rows))
