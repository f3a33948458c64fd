"""Property test of the holder's authority (issue 13): for random worlds of members, CRM users
and contacts, random CRM-side edits of a contact's owner fields (rating, shareability) by random
CRM users never change a relationship's shareability, exclusive flag or rating unless the editor
is its holder; a change without a rating never erases one; each refused edit is audited with its
CRM user; and the push's write-back of the agreed values (made as the integration user) changes
nothing and is not refused, after which no refused edit is left to undo.

Ingest runs as a sync runs it (`ingest_page`, the shipped Salesforce mapping's field names), on
SQLite in memory. Few examples, small worlds: a few seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.governance.authority import REFUSED
from connector.store import models as m
from connector.store.db import make_engine
from connector.writeback.desired import refused_edits
from mappings.loader import load_mapping, mapping_path
from mappings.schema import Mapping
from tests.store.ingest_support import NOW, Store, contact, user

SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
STRANGER = "005STRANGER000AAA"  # a CRM user who is none of our members (an admin, an import)
INTEGRATION = "005INTEGRATIONAAA"  # the user Carnet's pushes run as
RATINGS = (None, 1, 3, 5, 9)  # 9: a value Carnet cannot take
SHARES = (None, "private", "discoverable", "shared", "everyone")
RATING_FIELD, SHARE_FIELD = "Carnet_Owner_Rating__c", "Carnet_Shareability__c"


def uid(i: int) -> str:
    return f"005MEMBER{i:08d}"


@dataclass(frozen=True)
class Edit:
    contact: int
    editor: int | None  # a member's index; None: the stranger
    rating: int | None
    share: str | None


@dataclass(frozen=True)
class World:
    members: int
    owners: tuple[int, ...]  # each contact's owner (a member's index)
    first: tuple[Edit, ...]  # how each contact is when first pulled
    steps: tuple[Edit | str, ...]  # an edit, or "push": Carnet writes the agreed values back


def edits(draw: st.DrawFn, members: int, contact: int) -> Edit:
    return Edit(
        contact,
        draw(st.sampled_from((None, *range(members)))),
        draw(st.sampled_from(RATINGS)),
        draw(st.sampled_from(SHARES)),
    )


@st.composite
def worlds(draw: st.DrawFn) -> World:
    members = draw(st.integers(2, 4))
    n = draw(st.integers(1, 3))
    owners = tuple(draw(st.integers(0, members - 1)) for _ in range(n))
    first = tuple(edits(draw, members, c) for c in range(n))
    steps: list[Edit | str] = []
    for _ in range(draw(st.integers(1, 8))):
        if draw(st.booleans()):
            steps.append("push")
        else:
            steps.append(edits(draw, members, draw(st.integers(0, n - 1))))
    return World(members, owners, first, tuple(steps))


@contextmanager
def overlay() -> Iterator[Store]:
    engine = make_engine("sqlite://")
    m.Base.metadata.create_all(engine)
    with Session(engine) as s:
        yield Store(s)
    engine.dispose()


class Crm:
    """The contacts as the CRM holds them: owner fields, last editor, modstamp."""

    def __init__(self, world: World):
        self.world = world
        self.state = {c: {"rating": e.rating, "share": e.share} for c, e in enumerate(world.first)}
        self.editor = {c: _user(e.editor) for c, e in enumerate(world.first)}
        self.clock = NOW

    def record(self, c: int) -> Any:
        self.clock += timedelta(minutes=1)
        values = {k: v for k, v in self.state[c].items() if v is not None}
        extra: dict[str, Any] = {}
        if "rating" in values:
            extra["rating"] = values["rating"]
        if "share" in values:
            extra["shareability"] = values["share"]
        return contact(
            f"003C{c:014d}",
            f"p{c}@x.example",
            owner=uid(self.world.owners[c]),
            modified_by=self.editor[c],
            modstamp=self.clock,
            **extra,
        )


def _user(editor: int | None) -> str:
    return STRANGER if editor is None else uid(editor)


def relationships(s: Session) -> dict[tuple[int, int], tuple[Any, ...]]:
    s.expire_all()
    rows = s.execute(
        select(
            m.Relationship.member_id,
            m.Relationship.person_id,
            m.Relationship.shareability,
            m.Relationship.exclusive,
            m.Relationship.rating,
        )
    ).all()
    return {(r[0], r[1]): tuple(r[2:]) for r in rows}


def refusals(s: Session) -> list[m.AuditEvent]:
    return list(s.scalars(select(m.AuditEvent).where(m.AuditEvent.action == REFUSED)))


def push(store: Store, crm: Crm, mapping: Mapping) -> list[int]:
    """Carnet's write-back of the agreed values where an edit was refused, as the integration
    user; the contacts it wrote."""
    undo = refused_edits(store.s, "salesforce", mapping, "Contact")
    written = []
    for c in range(len(crm.world.owners)):
        agreed = undo.get(f"003C{c:014d}")
        if agreed is None:
            continue
        if RATING_FIELD in agreed[0]:
            crm.state[c]["rating"] = agreed[0][RATING_FIELD]
        if SHARE_FIELD in agreed[0]:
            crm.state[c]["share"] = agreed[0][SHARE_FIELD]
        crm.editor[c] = INTEGRATION
        written.append(c)
    return written


# The holder sets a rating Carnet cannot take over a refused shareability; the push must undo
# the bad rating too, or its own write-back comes back as a refused edit (found by hypothesis).
HOLDER_BAD_VALUE = World(
    members=3,
    owners=(2,),
    first=(Edit(0, None, None, None),),
    steps=(Edit(0, None, None, "everyone"), Edit(0, 2, 9, "everyone"), "push"),
)


@SETTINGS
@given(worlds())
@example(HOLDER_BAD_VALUE)
def test_only_the_holder_changes_a_relationship_from_the_crm(world: World) -> None:
    mapping = load_mapping(mapping_path("salesforce", None), "salesforce")
    with overlay() as store:
        store.put(*(user(uid(i), f"m{i}@us.example") for i in range(world.members)))
        ids = {uid(i): store.member(f"m{i}@us.example").id for i in range(world.members)}
        crm = Crm(world)
        store.put(*(crm.record(c) for c in range(len(world.owners))))
        for step in world.steps:
            before, refused_before = relationships(store.s), len(refusals(store.s))
            if step == "push":
                written = push(store, crm, mapping)
                store.put(*(crm.record(c) for c in written))
                assert relationships(store.s) == before  # Carnet's own write changes nothing
                assert len(refusals(store.s)) == refused_before  # nor is it refused
                assert refused_edits(store.s, "salesforce", mapping, "Contact") == {}
                continue
            assert isinstance(step, Edit)
            crm.state[step.contact] = {"rating": step.rating, "share": step.share}
            crm.editor[step.contact] = _user(step.editor)
            store.put(crm.record(step.contact))
            after = relationships(store.s)
            holder = ids[uid(world.owners[step.contact])]
            person = store.person_of(f"003C{step.contact:014d}").id
            editor = None if step.editor is None else ids[uid(step.editor)]
            for pair, was in before.items():
                now = after.get(pair)
                if now is None or now == was:
                    continue
                assert editor == holder and pair == (holder, person), (step, pair, was, now)
                assert now[1] == was[1]  # no CRM edit changes the exclusive flag
                assert was[2] is None or now[2] is not None  # a rating is never erased
            for event in refusals(store.s)[refused_before:]:
                assert event.details["crm_user"] == _user(step.editor)
                assert event.actor_id == editor
                assert event.details["sync_run"] is None  # no sync run in this test
