"""Property tests: for random members, teams, relationships, shareabilities, scopes, pilot
lists and grace periods, no read path reveals a private relationship, or one still waiting for its
holder's choice, to anyone but its holder, nor a discoverable relationship's notes or the
person's contact details.

The strongest form used here is non-interference: an answer for viewer V must not change when
everything V may not see is removed (hidden relationships) or rewritten (notes, phones, other
emails where V has no FULL view). SQLite only, small worlds, few examples: well under 30 s.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from hypothesis import given
from sqlalchemy import select

from connector.governance.relationships import rate
from connector.governance.viewers import CRM_AUDIENCE
from connector.governance.visibility import Visibility, visibility_sql, visible_relationships
from connector.store import models as m
from tests.unit.governance_properties_kit import (
    DISCOVERED,
    NOW,
    SETTINGS,
    RelSpec,
    World,
    _final_world,
    _mask,
    _no_secret_leaks,
    answer,
    level_of,
    queries,
    rel_id,
    store,
    viewers,
    worlds,
)

# -- the two forms of the rule agree ------------------------------------------------------------


@SETTINGS
@given(worlds())
def test_sql_form_equals_python_form(world: World) -> None:
    with store(world) as s:
        for v in [*range(len(world.teams)), None]:
            who = CRM_AUDIENCE if v is None else s.get(m.Member, v + 1)
            assert who is not None
            level = visibility_sql(who, world.sharing)
            got = dict(
                s.execute(
                    select(m.Relationship.id, level).join(
                        m.Member, m.Member.id == m.Relationship.member_id
                    )
                ).all()
            )
            assert got == {rel_id(r): level_of(world, r, v) for r in world.rels}


# -- who-knows: by person, by org, with second-degree paths ---------------------------------------


@SETTINGS
@given(worlds())
def test_who_knows_is_unchanged_by_what_the_viewer_may_not_see(world: World) -> None:
    with store(world) as full:
        for v in viewers(world):

            def visible(r: RelSpec, v: int = v) -> bool:
                return level_of(world, r, v) > Visibility.HIDDEN

            with store(world, keep=visible, mask=_mask(world, v)) as reduced:
                before = {q: answer(full, v, q, world.sharing) for q in queries(world)}
                after = {q: answer(reduced, v, q, world.sharing) for q in queries(world)}
            assert before == after
            _no_secret_leaks(json.dumps(before), world, v)


# -- the CRM audience ----------------------------------------------------------------------------


@SETTINGS
@given(worlds())
def test_the_crm_audience_sees_only_what_a_company_wide_audience_may(world: World) -> None:
    with store(world) as s:
        got = visible_relationships(s, CRM_AUDIENCE, world.sharing)
        want = {
            rel_id(r)
            for r in world.rels
            if level_of(world, r, None) > Visibility.HIDDEN and world.active[r.member]
        }
        assert {g.id for g in got} == want
        if world.sharing.scope == "team":
            assert got == []
        for g in got:
            assert not g.yours
            if g.level != Visibility.FULL:
                assert g.notes is None and g.last_interaction_at is None
            assert world.rels and by_spec(world, g.id).share != "private"


def by_spec(world: World, rid: int) -> RelSpec:
    return next(r for r in world.rels if rel_id(r) == rid)


# -- the grace period ----------------------------------------------------------------------------


def waiting(world: World, r: RelSpec) -> bool:
    """Discovered by a sync within the grace period, and not chosen by its holder since."""
    days = world.sharing.grace_days
    at = DISCOVERED[r.discovered]
    return bool(days) and not r.chosen and at is not None and at > NOW - timedelta(days=days)


@SETTINGS
@given(worlds())
def test_a_relationship_waiting_for_its_holder_reaches_nobody_else(world: World) -> None:
    """Through the one rule (both forms), who-knows and the CRM audience: a relationship in its
    grace period is seen by its holder only; once the holder chooses, the rule as usual."""
    with store(world) as s:
        for v in [*range(len(world.teams)), None]:
            who: Any = CRM_AUDIENCE if v is None else s.get(m.Member, v + 1)
            seen = {g.id for g in visible_relationships(s, who, world.sharing)}
            for r in world.rels:
                if waiting(world, r) and r.member != v:
                    assert level_of(world, r, v) == Visibility.HIDDEN
                    assert rel_id(r) not in seen, (v, r)
            if v is not None and world.active[v]:
                shown = json.dumps([answer(s, v, q, world.sharing) for q in queries(world)])
                for r in world.rels:
                    if waiting(world, r) and r.member != v:
                        assert f'"relationship_id": {rel_id(r)},' not in shown
        for r in world.rels:  # each holder chooses: the wait is over
            member, person = s.get(m.Member, r.member + 1), s.get(m.Person, r.person + 1)
            assert member is not None and person is not None
            rate(s, member, person, 3, share=r.share or world.sharing.default)
        s.flush()
        chosen = _final_world(s, world)
        assert not any(waiting(chosen, r) for r in chosen.rels)
        got = {g.id for g in visible_relationships(s, CRM_AUDIENCE, world.sharing)}
        assert got == {
            rel_id(r)
            for r in chosen.rels
            if level_of(chosen, r, None) > Visibility.HIDDEN and world.active[r.member]
        }
