"""Introductions and the audit listing on both backends: routing, refusals that reveal nothing,
forward-only states, and who may read which audit event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.config import Sharing
from connector.core.errors import UsageError
from connector.governance.audit import list_events
from connector.governance.intros import list_intros, request, transition
from connector.governance.relationships import rate
from connector.governance.whoknows import who_knows
from connector.store import models as m
from tests import governance_world as w

NOW = datetime(2026, 11, 1, tzinfo=UTC)
COMPANY = Sharing(scope="company")


@pytest.fixture
def world(session: Session) -> dict[str, Any]:
    s = session
    ana, bob, cat, dan = (
        w.member(s, f"{n}@us.example", team, n.title())
        for n, team in (("ana", "emea"), ("bob", "emea"), ("cat", "us"), ("dan", "us"))
    )
    g = w.org(s, "Globex", ("globex.de",))
    zoe = w.person(s, "zoe@globex.de", g, "Zoe Ng", "CFO")
    max_ = w.person(s, "max@globex.de", g, "Max Pohl", "CTO")
    w.rel(s, bob, zoe, rating=3, share="discoverable", last=NOW - timedelta(days=200))
    w.rel(s, cat, zoe, rating=3, share="shared", last=NOW - timedelta(days=2))
    w.rel(s, dan, zoe, rating=5, share="private", notes="private dinner")
    w.rel(s, dan, max_, rating=4, share="private")
    s.commit()
    return {"ana": ana, "bob": bob, "cat": cat, "dan": dan, "zoe": zoe, "max": max_}


def test_the_broker_is_the_strongest_visible_then_the_most_recent(
    session: Session, world: dict[str, Any]
) -> None:
    doc = request(session, world["ana"], "zoe@globex.de", "renewal at Globex", COMPANY)
    # Dan (5) is private: invisible; Bob and Cat tie at 3; Cat talked to Zoe more recently
    assert doc["broker"]["email"] == "cat@us.example" and doc["status"] == "requested"
    session.commit()
    event = session.scalars(select(m.AuditEvent)).one()
    assert event.action == "intro.requested" and event.actor_id == world["ana"].id


def test_an_exclusive_holder_is_the_broker(session: Session, world: dict[str, Any]) -> None:
    rate(session, world["bob"], world["zoe"], 2, exclusive=True)
    doc = request(session, world["ana"], "zoe@globex.de", "renewal", COMPANY)
    assert doc["broker"]["email"] == "bob@us.example" and doc["exclusive"] is True


def test_a_request_nobody_visible_can_broker_reveals_nothing(
    session: Session, world: dict[str, Any]
) -> None:
    with pytest.raises(UsageError) as exc:
        request(session, world["ana"], "max@globex.de", "intro please", COMPANY)
    assert str(exc.value) == "no colleague you can see knows max@globex.de"
    with pytest.raises(UsageError, match="no person"):
        request(session, world["ana"], "nobody@globex.de", "x", COMPANY)
    with pytest.raises(UsageError, match="--reason"):
        request(session, world["ana"], "zoe@globex.de", "  ", COMPANY)
    # the one who knows is not asked about it either: nothing was written
    assert session.scalars(select(m.Intro)).all() == []


def test_states_only_go_forward_and_only_the_right_member_moves_them(
    session: Session, world: dict[str, Any]
) -> None:
    ana, cat, bob = world["ana"], world["cat"], world["bob"]
    intro_id = request(session, ana, "zoe@globex.de", "renewal", COMPANY)["id"]
    with pytest.raises(UsageError, match=f"no introduction #{intro_id} of yours"):
        transition(session, bob, intro_id, "approve", None)
    with pytest.raises(UsageError, match="only the broker"):
        transition(session, ana, intro_id, "approve", None)
    with pytest.raises(UsageError, match="only the requester"):
        transition(session, cat, intro_id, "cancel", None)
    with pytest.raises(UsageError, match="cannot become made"):
        transition(session, cat, intro_id, "made", None)
    assert transition(session, cat, intro_id, "approve", "happy to")["status"] == "approved"
    with pytest.raises(UsageError, match="is approved: it cannot become declined"):
        transition(session, cat, intro_id, "decline", None)
    assert transition(session, cat, intro_id, "made", None)["status"] == "made"
    with pytest.raises(UsageError, match="is made"):
        transition(session, ana, intro_id, "cancel", None)
    with pytest.raises(UsageError, match="no introduction #999"):
        transition(session, cat, 999, "approve", None)
    session.commit()
    actions = session.scalars(select(m.AuditEvent.action).order_by(m.AuditEvent.id)).all()
    assert actions == ["intro.requested", "intro.approved", "intro.made"]
    intro = session.get(m.Intro, intro_id)
    assert intro is not None and intro.decided_at and intro.made_at and intro.response == "happy to"


def test_one_open_request_per_person_and_cancel(session: Session, world: dict[str, Any]) -> None:
    ana = world["ana"]
    first = request(session, ana, "zoe@globex.de", "renewal", COMPANY)["id"]
    with pytest.raises(UsageError, match=f"already have introduction #{first}"):
        request(session, ana, "zoe@globex.de", "again", COMPANY)
    assert transition(session, ana, first, "cancel", "not needed")["status"] == "cancelled"
    assert request(session, ana, "zoe@globex.de", "again", COMPANY)["id"] != first


def test_the_list_shows_both_sides_with_each_others_reason(
    session: Session, world: dict[str, Any]
) -> None:
    ana, cat = world["ana"], world["cat"]
    intro_id = request(session, ana, "zoe@globex.de", "renewal at Globex", COMPANY)["id"]
    transition(session, cat, intro_id, "decline", "she left the project")
    mine, theirs = list_intros(session, ana), list_intros(session, cat)
    assert [i["id"] for i in mine["requested"]] == [intro_id] and mine["brokering"] == []
    assert [i["id"] for i in theirs["brokering"]] == [intro_id] and theirs["requested"] == []
    for doc in (mine["requested"][0], theirs["brokering"][0]):
        assert doc["reason"] == "renewal at Globex" and doc["response"] == "she left the project"
        assert doc["status"] == "declined"
    assert list_intros(session, world["bob"]) == {
        "as": "bob@us.example",
        "requested": [],
        "brokering": [],
    }


def test_audit_listing_follows_the_visibility_rule(session: Session, world: dict[str, Any]) -> None:
    ana, bob, cat, dan = world["ana"], world["bob"], world["cat"], world["dan"]
    who_knows(session, ana, "zoe@globex.de", COMPANY)  # shows Bob's and Cat's relationships
    intro_id = request(session, ana, "zoe@globex.de", "renewal", COMPANY)["id"]
    transition(session, cat, intro_id, "approve", "ok")
    rate(session, dan, world["zoe"], 4)  # Dan's private relationship changes
    session.commit()

    def actions(reader: m.Member | None) -> list[str]:
        return [e["action"] for e in list_events(session, reader, COMPANY)["events"]]

    assert actions(ana) == ["intro.approved", "intro.requested", "relationship.shown"]
    assert actions(cat) == ["intro.approved", "intro.requested", "relationship.shown"]
    assert actions(bob) == ["relationship.shown"]  # who saw Bob's relationship: Ana
    bob_view = list_events(session, bob, COMPANY)["events"][0]
    assert [r["holder"] for r in bob_view["relationships"]] == ["bob@us.example"]
    assert "query" not in bob_view["details"]  # Ana's query is Ana's
    assert actions(dan) == ["relationship.changed"]  # only Dan sees his private change
    admin = list_events(session, None, COMPANY)["events"]
    withheld = [e for e in admin if e["action"] == "relationship.changed"]
    assert withheld[0]["details"] == {"withheld": "concerns a relationship you may not see"}
    assert withheld[0]["actor"] is None and withheld[0]["relationships"] == []
    assert "private dinner" not in str(admin) and "dan@" not in str(admin)
    assert len(list_events(session, None, COMPANY, limit=2)["events"]) == 2
