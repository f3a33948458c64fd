"""The bulk statements (connector/store/bulk.py) store what the ORM stores, on both backends: rows
inserted and updated in chunks (SQLite: one `VALUES (...), (...)` statement per chunk), a row
updated twice as its last update says, and every row counted by the store's write triggers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connector.store import bulk
from connector.store.db import make_engine, session_factory
from connector.store.models import Member, Person, Relationship

T0 = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
COLUMNS = ("rating", "score", "signals", "is_owner", "notes", "last_interaction_at")


def _people(session: Session, n: int) -> list[int]:
    people = [Person(name=f"P {i}", name_key=f"p {i}") for i in range(n)]
    session.add_all(people)
    session.flush()
    return [p.id for p in people]


def _member(session: Session) -> int:
    member = Member(email="rep@northwind.example", name="Rep")
    session.add(member)
    session.flush()
    return member.id


def _stored(session: Session) -> dict[int, tuple[Any, ...]]:
    rows = session.execute(
        select(Relationship.id, *(getattr(Relationship, c) for c in COLUMNS))
    ).all()
    return {r[0]: tuple(r[1:]) for r in rows}


@contextmanager
def copies_made() -> Iterator[list[bool]]:
    """Whether each PostgreSQL COPY that bulk.py made meanwhile went through (not refused, so
    not sent again as plain statements)."""
    copies: list[bool] = []
    real = bulk._copied

    def copied(*args: Any) -> bool:
        copies.append(real(*args))
        return copies[-1]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bulk, "_copied", copied)
        yield copies


def _live_count(session: Session) -> int | None:
    if session.get_bind().dialect.name != "sqlite":
        return None
    return int(session.execute(text("SELECT n FROM change_count WHERE name = 'live'")).scalar_one())


def test_chunks_insert_and_update_every_row_once(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "_VALUES_ROWS", 3)  # 10 rows: four statements on SQLite
    member, people = _member(session), _people(session, 10)
    before = _live_count(session)
    rows = [
        {"member_id": member, "person_id": p, "signals": {"emails": i}, "score": i / 10}
        for i, p in enumerate(people)
    ]
    ids = bulk.insert_ids(session, Relationship, rows)
    assert len(set(ids)) == 10
    bulk.bulk_update(
        session,
        Relationship,
        [{"id": rid, "rating": 1 + i % 5, "last_interaction_at": T0} for i, rid in enumerate(ids)],
    )
    got = _stored(session)
    for i, rid in enumerate(ids):
        rating, score, signals, is_owner, notes, last = got[rid]
        assert (rating, score, signals, is_owner, notes) == (
            1 + i % 5,
            i / 10,
            {"emails": i},
            False,
            None,
        )
        assert last == T0
    if before is not None:  # one count per row inserted and per row updated
        assert _live_count(session) == before + 20


def test_a_row_updated_twice_keeps_its_last_update(session: Session) -> None:
    member, people = _member(session), _people(session, 2)
    ids = bulk.insert_ids(
        session, Relationship, [{"member_id": member, "person_id": p} for p in people]
    )
    bulk.bulk_update(
        session,
        Relationship,
        [
            {"id": ids[0], "rating": 2},
            {"id": ids[1], "notes": "met at the fair"},
            {"id": ids[0], "rating": 4},
        ],
    )
    got = _stored(session)
    assert got[ids[0]][0] == 4 and got[ids[1]][4] == "met at the fair"


# text as the store receives it (connector/core/normalise.py cleans what comes in): no NUL, which
# PostgreSQL's text refuses, and no lone surrogate
texts = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30
)
updates = st.lists(
    st.tuples(
        st.integers(0, 7),  # which row
        st.fixed_dictionaries(
            {},
            optional={
                "rating": st.none() | st.integers(1, 5),
                "score": st.none() | st.floats(0, 100, allow_nan=False),
                "signals": st.dictionaries(
                    st.sampled_from(["emails", "meetings"]), st.integers(0, 9)
                ),
                "is_owner": st.booleans(),
                "notes": st.none() | texts,
                "last_interaction_at": st.none()
                | st.integers(0, 10**6).map(lambda s: T0 - timedelta(seconds=s)),
            },
        ),
    ),
    max_size=25,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(changes=updates)
def test_bulk_update_stores_what_the_orm_stores(session: Session, changes: list[Any]) -> None:
    """The same updates through bulk_update and through the ORM, row after row, leave the same
    rows (SQLite: chunks of 2 rows, so most runs take several statements; PostgreSQL: COPY into
    a temporary table and one UPDATE from it, each time)."""
    try:
        member, people = _member(session), _people(session, 16)
        base = [{"member_id": member, "person_id": p} for p in people]
        ours = bulk.insert_ids(session, Relationship, base[:8])
        theirs = bulk.insert_ids(session, Relationship, base[8:])
        with pytest.MonkeyPatch.context() as mp, copies_made() as copies:
            mp.setattr(bulk, "_VALUES_ROWS", 2)
            bulk.bulk_update(session, Relationship, [{"id": ours[i], **u} for i, u in changes])
        folded: dict[int, dict[str, Any]] = {}  # each row's updates, in order: one a row
        for i, u in changes:
            folded.setdefault(i, {}).update(u)
        groups = {tuple(u) for u in folded.values() if u}
        postgres = session.get_bind().dialect.name == "postgresql"
        assert copies == ([True] * len(groups) if postgres else [])
        for i, u in changes:
            rel = session.get(Relationship, theirs[i])
            assert rel is not None
            for k, v in u.items():
                setattr(rel, k, v)
            session.flush()
        session.expire_all()
        got = _stored(session)
        assert [got[r] for r in ours] == [got[r] for r in theirs]
    finally:
        session.rollback()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_postgresql_plans_each_lookup_with_its_values(session: Session) -> None:
    """No statement is prepared on the server, however often it runs: a prepared `IN` list of
    ids may be planned once for any values, and then tests every row of the range against every
    id (connector/store/db.py)."""
    member, people = _member(session), _people(session, 30)
    ids = bulk.insert_ids(
        session, Relationship, [{"member_id": member, "person_id": p} for p in people]
    )
    for i in range(10):  # psycopg prepares a statement at its fifth run unless told not to
        wanted = ids[i : i + 12]
        q = select(Relationship.id).where(bulk.among(session, Relationship.id, wanted))
        assert sorted(session.scalars(q)) == sorted(wanted)
    prepared = session.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar_one()
    assert prepared == 0


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_postgresql_updates_without_the_temporary_privilege(engine: Engine) -> None:
    """A database that denies its users temporary tables (some hosted PostgreSQL do): updates go
    as plain statements, stored as asked, and no COPY into a temporary table is tried (each would
    fail its CREATE and leave an error in the server's log); inserts still go through COPY."""
    role, db = f"carnet_notemp_{uuid.uuid4().hex[:8]}", engine.url.database
    admin = [
        f'REVOKE TEMPORARY ON DATABASE "{db}" FROM PUBLIC',
        f'CREATE ROLE "{role}" LOGIN',
        f'GRANT USAGE ON SCHEMA public TO "{role}"',
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"',
        f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"',
    ]
    with engine.begin() as conn:
        for sql in admin:
            conn.execute(text(sql))
    limited = make_engine(engine.url.set(username=role).render_as_string(hide_password=False))
    try:
        with session_factory(limited)() as session:
            may = "SELECT has_database_privilege(current_database(), 'TEMPORARY')"
            assert session.execute(text(may)).scalar_one() is False
            member, people = _member(session), _people(session, 3)
            with copies_made() as copies:
                ids = bulk.insert_ids(
                    session, Relationship, [{"member_id": member, "person_id": p} for p in people]
                )
                assert copies == [True]
                changes = [{"id": i, "rating": n + 1, "notes": f"n{n}"} for n, i in enumerate(ids)]
                bulk.bulk_update(session, Relationship, changes)
                bulk.bulk_update(session, Relationship, [{"id": ids[0], "score": 2.5}])
            assert copies == [True]  # the inserts' only
            session.commit()
            got = session.execute(
                select(Relationship.id, Relationship.rating, Relationship.notes, Relationship.score)
            ).all()
            assert sorted(got) == [
                (ids[0], 1, "n0", 2.5), (ids[1], 2, "n1", None), (ids[2], 3, "n2", None)
            ]  # fmt: skip
    finally:
        limited.dispose()
        with engine.begin() as conn:
            conn.execute(text(f'GRANT TEMPORARY ON DATABASE "{db}" TO PUBLIC'))
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))


inserts = st.lists(
    st.fixed_dictionaries(
        {
            "rating": st.none() | st.integers(1, 5),
            "score": st.none() | st.floats(-1e6, 1e6, allow_nan=False),
            "signals": st.dictionaries(texts, st.none() | st.booleans() | st.integers() | texts),
            "is_owner": st.booleans(),
            "notes": st.none() | texts,
            "last_interaction_at": st.none()
            | st.integers(0, 10**9).map(lambda s: T0 - timedelta(seconds=s)),
        }
    ),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=inserts)
def test_bulk_insert_stores_what_the_orm_stores(
    session: Session, rows: list[dict[str, Any]]
) -> None:
    """Rows through bulk_insert (SQLite: a VALUES list; PostgreSQL: COPY, whose text format has
    its own escapes for tabs, newlines and backslashes) read back as the ORM's own inserts do."""
    try:
        member, people = _member(session), _people(session, 2 * len(rows))
        with copies_made() as copies:
            ours = bulk.insert_ids(
                session,
                Relationship,
                [
                    {"member_id": member, "person_id": p, **r}
                    for p, r in zip(people, rows, strict=False)
                ],
            )
        # on PostgreSQL the rows went in through COPY, not through INSERTs after a refused COPY
        assert copies == ([True] if session.get_bind().dialect.name == "postgresql" else [])
        theirs = [
            Relationship(member_id=member, person_id=p, **r)
            for p, r in zip(people[len(rows) :], rows, strict=True)
        ]
        session.add_all(theirs)
        session.flush()
        session.expire_all()
        got = _stored(session)
        assert [got[r] for r in ours] == [got[t.id] for t in theirs]
    finally:
        session.rollback()


def test_a_refused_row_is_raised_as_the_store_refuses_and_the_transaction_goes_on(
    session: Session,
) -> None:
    """A row the store will not take fails its statement with SQLAlchemy's own error (on
    PostgreSQL, after its COPY is rolled back), the caller's savepoint takes it back, and the
    transaction carries on."""
    member, people = _member(session), _people(session, 2)
    bulk.insert_ids(session, Relationship, [{"member_id": member, "person_id": people[0]}])
    with pytest.raises(IntegrityError), session.begin_nested():
        bulk.bulk_insert(  # the same (member, person) twice
            session,
            Relationship,
            [
                {"member_id": member, "person_id": people[1]},
                {"member_id": member, "person_id": people[0]},
            ],
        )
    bulk.bulk_insert(session, Relationship, [{"member_id": member, "person_id": people[1]}])
    assert sorted(
        p for _, p in session.execute(select(Relationship.id, Relationship.person_id))
    ) == sorted(people)
