"""The write-back refresh derives only what changed since the last one (and what depends on it):
whatever changes the overlay goes through, each followed by an incremental refresh, the outbox is
always exactly what a refresh deriving every record gives (the same rows, values, hashes and
states); and a refresh with nothing changed derives and changes no field row."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from connector.core.config import Sharing
from connector.core.records import Outcome, WriteResult
from connector.store import models as m
from connector.store.models_plans import AccountPlan, Stakeholder
from connector.writeback.campaigns import desired_campaigns
from connector.writeback.desired import desired_fields
from connector.writeback.notes import desired_notes
from connector.writeback.outbox import PushRun, Tally, due_rows, field_specs, record
from connector.writeback.outbox_refresh import refresh as outbox_refresh
from connector.writeback.push import refresh_outbox
from mappings.loader import load_mapping, mapping_path
from tests import governance_world as w

SF = "salesforce"
SHARING = Sharing(default="discoverable", scope="company", grace_days=7)
MAPPING = load_mapping(mapping_path(SF, None), SF)
SPECS = field_specs(MAPPING)
WEB = "https://carnet.example"
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
PEOPLE, ORGS, MEMBERS = 8, 3, 3


store = w.memory_store


@dataclass
class World:
    members: list[int]
    orgs: list[int]
    people: list[int]
    rels: list[int]
    links: list[int]  # the Contact links
    credit: int


def world(s: Session) -> World:
    members = [w.member(s, f"rep{i}@us.example", team=f"t{i % 2}") for i in range(MEMBERS)]
    orgs = [w.org(s, f"Org {i}", (f"org{i}.example",)) for i in range(ORGS)]
    people = [w.person(s, f"p{i}@org.example", orgs[i % ORGS]) for i in range(PEOPLE)]
    people[0].level, people[1].level = "vp", "c_level"  # key people
    rels = [  # the last two people: known by nobody
        w.rel(s, members[i % MEMBERS], people[i], rating=1 + i % 5, last=T0).id
        for i in range(PEOPLE - 2)
    ]
    rels.append(w.rel(s, members[1], people[0], rating=2, share="private").id)
    links = [_link(s, "Contact", f"003{i}", "person", p.id) for i, p in enumerate(people)]
    links.append(_link(s, "Contact", "003dup", "person", people[0].id))  # a person linked twice
    for i, o in enumerate(orgs):
        _link(s, "Account", f"001{i}", "org", o.id)
    opp = m.Opportunity(name="Deal", org_id=orgs[0].id, amount=1000.0)
    s.add(opp)
    s.flush()
    _link(s, "Opportunity", "006", "opportunity", opp.id)
    credit = m.ReferralCredit(opportunity_id=opp.id, referrer_id=members[0].id, percent=10.0)
    s.add(credit)
    plan = AccountPlan(org_id=orgs[0].id, strategy="land")
    s.add(plan)
    s.flush()
    s.add(Stakeholder(plan_id=plan.id, person_id=people[0].id, stance="champion"))
    s.commit()
    return World(
        [x.id for x in members], [o.id for o in orgs], [p.id for p in people], rels, links,
        credit.id,
    )  # fmt: skip


def _link(s: Session, obj: str, ext: str, entity: str, eid: int) -> int:
    row = m.SourceLink(source=SF, object=obj, external_id=ext, entity=entity, entity_id=eid)
    s.add(row)
    s.flush()
    return row.id


# -- the changes ----------------------------------------------------------------------------------

person = st.integers(0, PEOPLE - 1)
org = st.one_of(st.none(), st.integers(0, ORGS - 1))
rel = st.integers(0, 20)
member = st.integers(0, MEMBERS - 1)
moves = st.one_of(  # what moves or goes: drawn more often than the rest
    st.tuples(st.just("move_rel"), rel, person),
    st.tuples(st.just("delete_rel"), rel, st.none()),
    st.tuples(st.just("add_rel"), member, person),
    st.tuples(st.just("move_person"), person, org),
    st.tuples(st.just("link_to"), person, person),
)
change = st.one_of(
    moves,
    st.tuples(st.just("rate"), rel, st.sampled_from([None, 1, 2, 3, 4, 5])),
    st.tuples(st.just("raw_share"), rel, st.sampled_from(["private", "shared"])),
    st.tuples(st.just("share"), rel, st.sampled_from([None, "private", "discoverable", "shared"])),
    st.tuples(st.just("chosen"), rel, st.sampled_from(["waiting", "chosen", "old"])),
    st.tuples(st.just("owner"), rel, st.booleans()),
    st.tuples(st.just("last"), rel, st.integers(0, 30)),
    st.tuples(st.just("move_rel"), rel, person),
    st.tuples(st.just("delete_rel"), rel, st.none()),
    st.tuples(st.just("add_rel"), member, person),
    st.tuples(st.just("move_person"), person, org),
    st.tuples(st.just("level"), person, st.sampled_from(["c_level", "vp", "staff"])),
    st.tuples(st.just("tombstone_person"), person, st.none()),
    st.tuples(st.just("delete_person"), person, st.none()),
    st.tuples(st.just("member"), member, st.sampled_from(["rename", "inactive", "active", "team"])),
    st.tuples(st.just("plan"), person, st.sampled_from(["champion", "adversary", "strategy"])),
    st.tuples(st.just("link_gone"), person, st.none()),
    st.tuples(st.just("link_to"), person, person),
    st.tuples(st.just("seen"), person, st.integers(0, 5)),
    st.tuples(st.just("credit"), st.integers(0, 3), st.none()),
    st.tuples(st.just("write"), st.none(), st.none()),
)


def apply(s: Session, wd: World, op: str, a: Any, b: Any) -> None:
    """One change (one that cannot be made here, such as moving a deleted person, is none)."""
    now = datetime.now(UTC)
    if op in REL_CHANGES:
        _rel_change(s, wd, op, a, b, now)
    elif op in PERSON_CHANGES:
        person = s.get(m.Person, wd.people[a])
        if person is not None:
            _person_change(s, person, wd, op, b, now)
    elif op in ("link_gone", "link_to", "seen"):
        _link_change(s, wd, op, a, b, now)
    elif op == "write":  # the CRM takes every due write
        run = PushRun()
        for row in due_rows(s, SF, now):
            record(row, WriteResult(str(row.id), Outcome.OK, row.external_id), run, now)
    else:
        _other_change(s, wd, op, a, b, now)
    s.commit()


REL_CHANGES = (
    "rate", "raw_share", "share", "chosen", "owner", "last", "move_rel", "delete_rel", "add_rel",
)  # fmt: skip
PERSON_CHANGES = ("move_person", "level", "tombstone_person", "delete_person")


def _rel_change(s: Session, wd: World, op: str, a: int, b: Any, now: datetime) -> None:
    rels = s.scalars(select(m.Relationship).order_by(m.Relationship.id)).all()
    taken = {(x.member_id, x.person_id) for x in rels}
    if op == "add_rel":
        if (wd.members[a], wd.people[b]) not in taken and s.get(m.Person, wd.people[b]) is not None:
            s.add(m.Relationship(member_id=wd.members[a], person_id=wd.people[b], rating=3))
        return
    if not rels:
        return
    r = rels[a % len(rels)]
    if op == "rate":
        r.rating = b
    elif op == "share":
        r.shareability = b
    elif op == "raw_share":  # written in SQL, as an admin may: no updated_at
        q = "UPDATE relationship SET shareability = :b, rating = 1 WHERE id = :i"
        s.execute(text(q), {"b": b, "i": r.id})
    elif op == "chosen":  # in its grace period, chosen, or found long ago
        r.discovered_at = now - timedelta(days=1 if b == "waiting" else 30)
        r.chosen_at = now if b == "chosen" else None
    elif op == "owner":
        r.is_owner = b
    elif op == "last":
        r.last_interaction_at = T0 - timedelta(days=b)
    elif op == "delete_rel":
        s.delete(r)
    elif (r.member_id, wd.people[b]) not in taken and s.get(m.Person, wd.people[b]) is not None:
        r.person_id = wd.people[b]  # move_rel


def _person_change(s: Session, person: m.Person, wd: World, op: str, b: Any, now: datetime) -> None:
    if op == "move_person":
        person.org_id = None if b is None else wd.orgs[b]
    elif op == "level":
        person.level = b
    elif op == "tombstone_person":
        person.deleted_at = now
    else:  # gone altogether, with its relationships (the store cascades)
        s.execute(delete(m.Person).where(m.Person.id == person.id))


def _link_change(s: Session, wd: World, op: str, a: int, b: Any, now: datetime) -> None:
    link = s.get(m.SourceLink, wd.links[a])
    assert link is not None
    if op == "link_gone":
        link.deleted_at = now
    elif op == "link_to":
        link.entity_id = wd.people[b]
    else:  # a pull saw the contact's Carnet fields
        link.seen = {"Carnet_Strength__c": b or None, "Carnet_Known_By__c": None}
        link.seen_at = now


def _other_change(s: Session, wd: World, op: str, a: int, b: Any, now: datetime) -> None:
    if op == "member":
        mem = s.get(m.Member, wd.members[a])
        assert mem is not None
        if b == "rename":
            mem.name = f"{mem.name}x"
        elif b == "team":
            mem.team = None if mem.team else "t9"
        else:
            mem.active = b == "active"
    elif op == "plan":
        plan = s.scalar(select(AccountPlan))
        assert plan is not None
        if b == "strategy":
            plan.strategy = f"{plan.strategy} again"
        elif s.get(m.Person, wd.people[a]) is not None:
            mark = s.scalar(select(Stakeholder).where(Stakeholder.person_id == wd.people[a]))
            if mark is None:
                s.add(Stakeholder(plan_id=plan.id, person_id=wd.people[a], stance=b))
            else:
                mark.stance = b
            plan.updated_at = now  # as connector.plans.plan_edit does
    elif op == "credit":
        credit = s.get(m.ReferralCredit, wd.credit)
        assert credit is not None
        credit.amount = 100.0 * a if a else None
        credit.status = "void" if a == 3 else "pending"


# -- the property ---------------------------------------------------------------------------------


def outbox(s: Session) -> dict[tuple[str, str, str], tuple[Any, ...]]:
    s.expire_all()
    return {
        (r.object, r.external_id, r.field_set): (
            json.dumps(r.desired, sort_keys=True), r.desired_hash, r.written_hash, r.status
        )
        for r in s.scalars(select(m.Outbox))
    }  # fmt: skip


def incremental(s: Session) -> Tally:
    tally = refresh_outbox(s, SF, MAPPING, SHARING, WEB, SPECS, datetime.now(UTC))
    s.commit()
    return tally


def everything(s: Session) -> None:
    """What a refresh deriving every record makes of the outbox (the mark left as it is)."""
    desired = chain(
        desired_fields(s, SF, MAPPING, SHARING, WEB),
        desired_notes(s, SF, MAPPING, SHARING),
        desired_campaigns(s, SF, MAPPING),
    )
    outbox_refresh(s, SF, desired, SPECS, datetime.now(UTC))
    s.commit()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.lists(change, min_size=1, max_size=10))
def test_an_incremental_refresh_gives_what_a_full_one_gives(
    changes: list[tuple[str, Any, Any]],
) -> None:
    with store() as s:
        wd = world(s)
        incremental(s)  # the first: everything
        for op, a, b in changes:
            apply(s, wd, op, a, b)
            incremental(s)
            after = outbox(s)
            everything(s)
            assert outbox(s) == after, (op, a, b)


def test_a_refresh_with_nothing_changed_derives_no_field_row() -> None:
    with store() as s:
        wd = world(s)
        first = incremental(s)
        assert first.derived > 0 and first.refreshed == first.derived
        idle = incremental(s)
        assert idle.refreshed == 0
        assert idle.derived == 1  # the plan note alone: notes and campaigns are derived whole
        apply(s, wd, "rate", 0, 5)
        one = incremental(s)
        # the person's two contacts and their org's account
        assert (one.derived, one.refreshed) == (1 + 3, 3)


def test_private_relationships_never_reach_a_desired_row() -> None:
    with store() as s:
        wd = world(s)
        incremental(s)
        apply(s, wd, "share", 6, "shared")  # rep1's relationship to p0: was private
        incremental(s)
        apply(s, wd, "share", 6, "private")
        incremental(s)
        rows = {r.external_id: r.desired["values"] for r in s.scalars(select(m.Outbox))}
        assert "Rep1" not in rows["0030"]["Carnet_Known_By__c"]
        assert rows["0030"] == rows["003dup"]
        everything(s)
        assert {r.external_id: r.desired["values"] for r in s.scalars(select(m.Outbox))} == rows
