"""The grace period in the store, on SQLite and PostgreSQL (issue 13, section 1): a sync marks
what it discovers, the rule (both forms, at a given moment) hides it from everyone but its holder
until they choose or `grace_days` pass, `waiting_for` lists it, and relationships that existed
before migration 0004 do not start waiting."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from connector.core.config import Sharing
from connector.governance.relationships import rate
from connector.governance.review import waiting_for
from connector.governance.viewers import CRM_AUDIENCE, Viewer
from connector.governance.visibility import (
    Visibility,
    visibility,
    visibility_sql,
    visible_relationships,
)
from connector.store import models as m
from connector.store.db import make_engine
from connector.store.migrate import upgrade
from tests.conftest import fresh_db_url
from tests.store.ingest_support import NOW, Store, base, contact

COMPANY = Sharing(scope="company", grace_days=7)


@pytest.fixture
def store(session: Session) -> Store:
    return Store(session)


def owned_contact(store: Store) -> tuple[m.Member, m.Member, m.Person]:
    """Ann owns a contact (a sync discovers her relationship); Ben is her colleague."""
    base(store)
    store.put(contact("003A", "ida@acme.com", org="001A", owner="005A"))
    return store.member("ann@us.com"), store.member("ben@us.com"), store.person("ida@acme.com")


def seen_by(s: Session, viewer: Viewer, at_days: float) -> set[int]:
    now = NOW + timedelta(days=at_days)
    return {v.id for v in visible_relationships(s, viewer, COMPANY, now=now)}


def test_a_discovered_relationship_waits_for_its_holder(store: Store) -> None:
    ann, ben, ida = owned_contact(store)
    rel = store.rel("ann@us.com", ida)
    assert rel is not None and rel.discovered_at == NOW and rel.chosen_at is None
    assert seen_by(store.s, ann, 1) == {rel.id}  # the holder sees it
    assert seen_by(store.s, ben, 1) == set() and seen_by(store.s, CRM_AUDIENCE, 1) == set()
    assert seen_by(store.s, ben, 7.01) == {rel.id}  # the grace period is over: the default
    doc = waiting_for(store.s, ann, COMPANY, now=NOW + timedelta(days=1))
    assert [(w["person"]["email"], w["published_at"]) for w in doc["waiting"]] == [
        ("ida@acme.com", (NOW + timedelta(days=7)).isoformat())
    ]
    assert waiting_for(store.s, ben, COMPANY, now=NOW)["waiting"] == []
    assert waiting_for(store.s, ann, Sharing(grace_days=0))["waiting"] == []
    rate(store.s, ann, ida, 4)  # a rating alone is not a choice
    assert seen_by(store.s, ben, 1) == set()
    rate(store.s, ann, ida, 4, share="shared")
    store.s.commit()
    assert seen_by(store.s, ben, 1) == {rel.id} and seen_by(store.s, CRM_AUDIENCE, 1) == {rel.id}
    assert waiting_for(store.s, ann, COMPANY, now=NOW + timedelta(days=1))["waiting"] == []
    chose = store.s.scalars(
        select(m.AuditEvent).where(m.AuditEvent.actor_id == ann.id).order_by(m.AuditEvent.id)
    ).all()
    assert [e.details.get("chose") for e in chose] == [None, True]


def test_a_private_choice_ends_the_wait_and_stays_private(store: Store) -> None:
    ann, ben, ida = owned_contact(store)
    rate(store.s, ann, ida, 5, share="private")
    store.s.commit()
    assert waiting_for(store.s, ann, COMPANY, now=NOW)["waiting"] == []
    assert seen_by(store.s, ben, 1) == set() and seen_by(store.s, ben, 30) == set()


@pytest.mark.parametrize("days", [0, 7])
def test_the_two_forms_agree_on_the_grace_period(store: Store, days: int) -> None:
    ann, ben, _ida = owned_contact(store)
    s = store.s
    sharing = Sharing(scope="company", grace_days=days)
    for i, (found, chosen) in enumerate(
        [(None, None), (-1, None), (-1, -0.5), (-30, None), (-6.9, None), (-7.1, None)]
    ):
        person = m.Person(name=f"P{i}", name_key=f"p{i}")
        s.add(person)
        s.flush()
        s.add(
            m.Relationship(
                member_id=ann.id,
                person_id=person.id,
                discovered_at=None if found is None else NOW + timedelta(days=found),
                chosen_at=None if chosen is None else NOW + timedelta(days=chosen),
            )
        )
    s.flush()
    viewers: list[Viewer] = [ann, ben, CRM_AUDIENCE]
    for viewer in viewers:
        level = visibility_sql(viewer, sharing, now=NOW)
        rows = s.execute(
            select(m.Relationship, level).join(m.Member, m.Member.id == m.Relationship.member_id)
        ).all()
        for rel, sql_level in rows:
            want = visibility(ann, rel, viewer, sharing, now=NOW)
            assert sql_level == want, (viewer, rel.discovered_at, rel.chosen_at)
    hidden = {
        rel.discovered_at
        for rel, lv in s.execute(
            select(m.Relationship, visibility_sql(ben, sharing, now=NOW)).join(
                m.Member, m.Member.id == m.Relationship.member_id
            )
        )
        if lv == Visibility.HIDDEN
    }
    waiting_ones = {NOW - timedelta(days=1), NOW - timedelta(days=6.9)}
    assert hidden == (waiting_ones | {NOW} if days else set())  # ida's (found at NOW) waits too


def test_relationships_from_before_the_migration_do_not_wait(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    engine = make_engine(fresh_db_url(backend, tmp_path, request))
    try:
        upgrade(engine, "0003")
        with engine.begin() as conn:
            for sql in (
                "INSERT INTO member (id, email, name, active, created_at, updated_at) VALUES "
                "(1, 'ann@us.com', 'Ann', true, :t, :t), (2, 'ben@us.com', 'Ben', true, :t, :t)",
                "INSERT INTO person (id, name, name_key, level, created_at, updated_at) "
                "VALUES (1, 'Ida', 'ida', 'unknown', :t, :t)",
                "INSERT INTO relationship (id, member_id, person_id, signals, is_owner, exclusive, "
                "created_at, updated_at) VALUES (1, 1, 1, '{}', true, false, :t, :t)",
            ):
                conn.execute(text(sql), {"t": NOW.replace(tzinfo=None)})
        upgrade(engine)
        with Session(engine) as s:
            rel = s.get(m.Relationship, 1)
            ben = s.get(m.Member, 2)
            assert rel is not None and ben is not None
            assert (rel.discovered_at, rel.chosen_at) == (None, None)
            assert [v.id for v in visible_relationships(s, ben, COMPANY)] == [1]
    finally:
        engine.dispose()
