"""Property test of invitation campaigns: in random worlds (members, teams, people, relationships
of random shareability, scopes, pilot lists, grace periods), with campaigns of random owners
driven through the service functions to random states, and random nominations, withdrawals and
decisions, no output any member reads (show_campaign, list_campaigns, the audit listing, a
decision's answer) names a relationship that member may not see, except to the owner of a
campaign still open, for a nomination made to that campaign. The admin's audit log follows the
company audience. Colleagues never see others' nominations at all.

A relationship is "named" when its holder's email and its person's name appear in one entry (an
element of a list) or its id appears under `relationship_id` / `relationships`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.errors import UsageError
from connector.governance.audit import list_events
from connector.governance.campaigns import (
    create_campaign,
    decide,
    list_campaigns,
    nominate,
    set_state,
    show_campaign,
    withdraw,
)
from connector.governance.visibility import Visibility
from connector.store import models as m
from connector.store.models_campaigns import CAMPAIGN_STATES, Campaign, Nomination
from tests.unit.governance_properties_kit import (
    SETTINGS,
    World,
    level_of,
    rel_id,
    store,
    viewers,
    worlds,
)

OUTCOMES = ("nominated", "accepted", "accepted", "declined", "withdrawn")


@dataclass(frozen=True)
class Plan:
    world: World
    campaigns: tuple[tuple[int, str, int, int | None], ...]  # owner, final state, capacity, min
    acts: tuple[tuple[int, int, str], ...]  # campaign, relationship (index), outcome
    late_decline: bool  # the owner of a closed campaign declines a guest after closing it


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    world = draw(worlds())
    owners = [i for i, active in enumerate(world.active) if active]  # those who read answers
    campaigns = draw(
        st.lists(
            st.tuples(
                st.sampled_from(owners),
                st.sampled_from((*CAMPAIGN_STATES, "closed", "done")),  # most end past open
                st.integers(1, 3),
                st.sampled_from((None, None, 3)),
            ),
            min_size=1,
            max_size=3,
        )
    )
    acts: list[tuple[int, int, str]] = []
    if world.rels:
        acts = draw(
            st.lists(
                st.tuples(
                    st.integers(0, len(campaigns) - 1),
                    st.integers(0, len(world.rels) - 1),
                    st.sampled_from(OUTCOMES),
                ),
                max_size=12,
            )
        )
    return Plan(world, tuple(campaigns), tuple(acts), draw(st.booleans()))


def _member(s: Session, i: int) -> m.Member:
    member = s.get(m.Member, i + 1)
    assert member is not None
    return member


def _act(s: Session, plan: Plan, ids: list[int], act: tuple[int, int, str]) -> None:
    """One rep's nomination and what becomes of it; a refusal (exclusive, criteria, capacity,
    a repeat) is part of the game."""
    ci, ri, outcome = act
    owner = plan.campaigns[ci][0]
    r = plan.world.rels[ri]
    holder, sharing = _member(s, r.member), plan.world.sharing
    try:
        nid = nominate(s, ids[ci], holder, f"p{r.person}@x.example", sharing)["id"]
        if outcome == "withdrawn":
            withdraw(s, ids[ci], holder, f"p{r.person}@x.example")
        elif outcome != "nominated":
            accept = outcome == "accepted"
            decide(s, ids[ci], nid, _member(s, owner), accept, "no", sharing=sharing)
    except UsageError:
        pass


def build(s: Session, plan: Plan) -> list[tuple[int, Any]]:
    """The campaigns through the service functions; returns the answers of decisions the owners
    made after closing (owner index, answer)."""
    ids = []
    for k, (owner, state, capacity, strength) in enumerate(plan.campaigns):
        criteria = {"min_strength": strength} if strength else None
        doc = create_campaign(
            s, _member(s, owner), name=f"C{k}", capacity=capacity, criteria=criteria
        )
        ids.append(doc["id"])
        if state != "draft":
            set_state(s, doc["id"], _member(s, owner), "open")
    for act in plan.acts:
        if plan.campaigns[act[0]][1] != "draft":
            _act(s, plan, ids, act)
    late = []
    for k, (owner, state, _, _) in enumerate(plan.campaigns):
        for target in ("closed", "done")[: max(0, CAMPAIGN_STATES.index(state) - 1)]:
            set_state(s, ids[k], _member(s, owner), target)
        guest = s.scalar(
            select(Nomination.id).where(
                Nomination.campaign_id == ids[k], Nomination.status == "accepted"
            )
        )
        if plan.late_decline and state == "closed" and guest is not None:
            answer = decide(
                s, ids[k], guest, _member(s, owner), False, "no", sharing=plan.world.sharing
            )
            late.append((owner, answer))
    return late


# -- the oracle ----------------------------------------------------------------------------------


def _pairs(doc: Any) -> Iterator[tuple[str, str]]:
    """Every (holder email, person name) the document puts together: a nomination (nominator and
    person), a guest (nominators and name), an audit entry's relationship (holder and person),
    and any two such strings in one entry of a nomination, guest or candidate list."""
    if isinstance(doc, list):
        for item in doc:
            yield from _pairs(item)
        return
    if not isinstance(doc, dict):
        return
    if isinstance(doc.get("holder"), str) and isinstance(doc.get("person"), str):
        yield doc["holder"], doc["person"]
    if isinstance(doc.get("nominator"), dict) and isinstance(doc.get("person"), dict):
        yield doc["nominator"]["email"], doc["person"]["name"]
    for n in doc.get("nominators") or []:
        yield n["email"], doc["name"]
    for key in ("nominations", "guests", "candidates", "mine"):
        for entry in doc.get(key) if isinstance(doc.get(key), list) else []:
            yield from _text_pairs(json.dumps(entry))
    for value in doc.values():
        yield from _pairs(value)


def _text_pairs(text: str) -> Iterator[tuple[str, str]]:
    for email in re.findall(r'"(m\d+@us\.example)"', text):
        for name in re.findall(r'"(P\d+)"', text):
            yield email, name


def _rel_ids(doc: Any) -> Iterator[int]:
    """Every relationship id the document names."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key == "relationship_id" and isinstance(value, int):
                yield value
            elif key == "relationships" and isinstance(value, list):
                for r in value:
                    yield r["id"] if isinstance(r, dict) else r
            yield from _rel_ids(value)
    elif isinstance(doc, list):
        for item in doc:
            yield from _rel_ids(item)


def named(doc: Any, world: World) -> set[int]:
    """The relationships (ids) the document names."""
    by_pair = {(f"m{r.member}@us.example", f"P{r.person}"): rel_id(r) for r in world.rels}
    return set(_rel_ids(doc)) | {by_pair[p] for p in _pairs(doc) if p in by_pair}


def assert_private(doc: Any, world: World, viewer: int | None, allowed: set[int]) -> None:
    hidden = {
        rel_id(r)
        for r in world.rels
        if r.member != viewer and level_of(world, r, viewer) == Visibility.HIDDEN
    }
    leaked = (named(doc, world) & hidden) - allowed
    assert not leaked, f"viewer {viewer} was shown hidden relationships {leaked}: {doc}"


def disclosed_to(s: Session, viewer: int, campaign_id: int | None = None) -> set[int]:
    """The relationships nominated (not withdrawn) to the open campaigns `viewer` owns."""
    q = (
        select(Nomination.relationship_id)
        .join(Campaign, Campaign.id == Nomination.campaign_id)
        .where(Nomination.status != "withdrawn")
        .where(Campaign.owner_id == viewer + 1, Campaign.state.in_(("draft", "open")))
    )
    if campaign_id is not None:
        q = q.where(Campaign.id == campaign_id)
    return set(s.scalars(q))


@settings(SETTINGS, max_examples=50)
@given(plans())
def test_no_output_names_a_relationship_its_reader_may_not_see(plan: Plan) -> None:
    world = plan.world
    with store(world) as s:
        late = build(s, plan)
        for owner, answer in late:  # closed: the campaign rule grants nothing any more
            assert_private(answer, world, owner, set())
        campaign_ids = range(1, len(plan.campaigns) + 1)  # a fresh store numbers them from 1
        for v in viewers(world):
            me = _member(s, v)
            for cid in campaign_ids:
                try:
                    doc = show_campaign(s, cid, me, world.sharing)
                except UsageError:
                    continue
                assert_private(doc, world, v, disclosed_to(s, v, cid))
                if doc["role"] == "rep":  # colleagues never see others' nominations
                    assert all(n["nominator"]["email"] == me.email for n in doc["nominations"])
                    assert doc["guests"] == []
            assert_private(list_campaigns(s, me, world.sharing), world, v, disclosed_to(s, v))
            assert_private(list_events(s, me, world.sharing), world, v, disclosed_to(s, v))
        assert_private(list_events(s, None, world.sharing), world, None, set())
