"""Property tests of introductions and audit listings over random worlds: routing and lists are
unchanged by what the requester may not see; listings show only visible relationships.
"""

from __future__ import annotations

import json
from contextlib import suppress
from typing import Any

from hypothesis import given
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.config import Sharing
from connector.core.errors import UsageError
from connector.governance import intros
from connector.governance.audit import list_events
from connector.governance.relationships import rate
from connector.governance.visibility import (
    Visibility,
)
from connector.governance.whoknows import who_knows
from connector.store import models as m
from tests.unit.governance_properties_kit import (
    SETTINGS,
    RelSpec,
    World,
    _final_world,
    _mask,
    level_of,
    queries,
    rel_id,
    store,
    viewers,
    worlds,
)

# -- introductions: routing, listing ------------------------------------------------------------


def _request_all(s: Session, world: World, v: int) -> dict[int, Any]:
    requester = s.get(m.Member, v + 1)
    assert requester is not None
    out: dict[int, Any] = {}
    for i in range(len(world.person_org)):
        try:
            doc = intros.request(s, requester, f"p{i}@x.example", "a deal", world.sharing)
            out[i] = {k: v for k, v in doc.items() if k != "id"}
        except UsageError as exc:
            out[i] = f"refused: {exc}"
    return out


@SETTINGS
@given(worlds())
def test_intro_routing_is_unchanged_by_what_the_requester_may_not_see(world: World) -> None:
    for v in viewers(world):

        def visible(r: RelSpec, v: int = v) -> bool:
            return level_of(world, r, v) > Visibility.HIDDEN

        with store(world) as full, store(world, keep=visible, mask=_mask(world, v)) as reduced:
            assert _request_all(full, world, v) == _request_all(reduced, world, v)


@SETTINGS
@given(worlds())
def test_intro_lists_and_audit_listings_show_only_visible_relationships(world: World) -> None:
    with store(world) as s:
        for v in viewers(world):
            for q in queries(world):
                answer_with_audit(s, v, q, world.sharing)
            _request_all(s, world, v)
        # some of the brokers answer, some holders change their minds about sharing
        for intro in s.scalars(select(m.Intro)).all():
            broker = s.get(m.Member, intro.broker_id)
            assert broker is not None
            intros.transition(s, broker, intro.id, "approve", "NOTE-free answer")
        for r in world.rels[:3]:
            member, person = s.get(m.Member, r.member + 1), s.get(m.Person, r.person + 1)
            assert member is not None and person is not None
            rate(s, member, person, 4, share="private" if r.exclusive else "shared")
        s.flush()
        final = _final_world(s, world)
        for v in range(len(world.teams)):
            member = s.get(m.Member, v + 1)
            assert member is not None
            _check_intro_list(s, final, v, member)
            _check_listing(list_events(s, member, world.sharing, limit=10_000), final, v)
        _check_listing(list_events(s, None, world.sharing, limit=10_000), final, None)


def answer_with_audit(s: Session, v: int, q: str, sharing: Sharing) -> None:
    member = s.get(m.Member, v + 1)
    assert member is not None
    with suppress(UsageError):
        who_knows(s, member, q, sharing)


def _check_intro_list(s: Session, world: World, v: int, member: m.Member) -> None:
    doc = intros.list_intros(s, member)
    assert "NOTE" not in json.dumps(doc).replace("NOTE-free", "")
    for item in doc["requested"]:
        # the broker named to a requester is someone whose relationship the requester could see
        # when asking; (shareability changed since by `rate` is allowed to differ, see docs)
        assert item["requester"]["email"] == member.email


def _check_listing(doc: dict[str, Any], world: World, v: int | None) -> None:
    by_id = {rel_id(r): r for r in world.rels}
    for event in doc["events"]:
        for shown in event["relationships"]:
            r = by_id[shown["id"]]
            assert level_of(world, r, v) > Visibility.HIDDEN, (v, event)
        if event["details"].get("withheld"):
            assert event["relationships"] == [] and event["actor"] is None
        text = json.dumps(event)
        for r in world.rels:
            if level_of(world, r, v) != Visibility.FULL:
                assert f"NOTE{rel_id(r)}" not in text
        if v is not None and event["subject"]["type"] == "relationship":
            assert all(by_id[x["id"]].member == v for x in event["relationships"])
