"""Invitation campaigns on both backends: the state machine, a rep's candidates, nominations and
decisions (test_campaigns_disclosure.py: who sees them, and the audit listing)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.errors import UsageError
from connector.governance.campaigns import (
    NotYours,
    create_campaign,
    decide,
    nominate,
    set_state,
    show_campaign,
    withdraw,
)
from connector.store import models as m
from connector.store.models_campaigns import Campaign, Nomination
from tests.store.campaigns_kit import TEAM, actions, build_world, open_campaign


@pytest.fixture
def world(session: Session) -> dict[str, Any]:
    return build_world(session)


# -- the state machine ---------------------------------------------------------------------------


def test_a_campaign_goes_draft_open_closed_done_and_each_step_is_audited(
    session: Session, world: dict[str, Any]
) -> None:
    doc = create_campaign(
        session, world["olga"], name="  Dinner ", capacity=3, criteria={"levels": ["VP"]}
    )
    assert (doc["state"], doc["name"], doc["criteria"]) == ("draft", "Dinner", {"levels": ["vp"]})
    for target, stamp in (("open", "opened_at"), ("closed", "closed_at"), ("done", "done_at")):
        doc = set_state(session, doc["id"], world["olga"], target)
        assert doc["state"] == target and doc[stamp] is not None
    assert actions(session, "campaign") == [
        "campaign.created",
        "campaign.opened",
        "campaign.disclosure_ended",
        "campaign.closed",
        "campaign.done",
    ]


@pytest.mark.parametrize(
    ("path", "target", "message"),
    [
        ((), "closed", "is draft: only an open campaign can be closed"),
        ((), "done", "is draft: only a closed campaign can be marked done"),
        (("open",), "open", "is already open"),
        (("open",), "done", "is open: only a closed campaign can be marked done"),
        (("open", "closed"), "open", "is closed: a campaign never goes back"),
        (("open", "closed"), "closed", "is already closed"),
        (("open", "closed", "done"), "open", "is done: a campaign never goes back"),
        (("open", "closed", "done"), "closed", "is done: a campaign never goes back"),
        (("open", "closed", "done"), "done", "is already done"),
        ((), "archived", "a campaign moves to open, closed or done, not 'archived'"),
    ],
)
def test_every_refused_transition_says_why_and_changes_nothing(
    session: Session, world: dict[str, Any], path: tuple[str, ...], target: str, message: str
) -> None:
    cid = open_campaign(session, world, opened=False)
    for step in path:
        set_state(session, cid, world["olga"], step)
    before = (session.get(Campaign, cid).state, len(actions(session, "campaign")))  # type: ignore[union-attr]
    with pytest.raises(UsageError, match=message):
        set_state(session, cid, world["olga"], target)
    after = (session.get(Campaign, cid).state, len(actions(session, "campaign")))  # type: ignore[union-attr]
    assert after == before


def test_only_the_owner_moves_it_and_a_draft_is_the_owners_alone(
    session: Session, world: dict[str, Any]
) -> None:
    cid = open_campaign(session, world, opened=False)
    with pytest.raises(UsageError, match=f"no campaign #{cid}"):
        set_state(session, cid, world["ana"], "open")  # a draft: ana does not know it exists
    with pytest.raises(UsageError, match=f"no campaign #{cid}"):
        show_campaign(session, cid, world["ana"], TEAM)
    set_state(session, cid, world["olga"], "open")
    with pytest.raises(NotYours, match=f"only the owner of campaign #{cid}"):
        set_state(session, cid, world["ana"], "closed")
    assert set_state(session, cid, world["ana"], "closed", admin=True)["state"] == "closed"


def test_create_refusals_name_every_problem(session: Session, world: dict[str, Any]) -> None:
    olga = world["olga"]
    with pytest.raises(NotYours, match="may not own a campaign: owners are managers and admins"):
        create_campaign(session, world["ana"], name="X", capacity=1, may_own=False)
    for kw, message in (
        ({"name": " ", "capacity": 1}, "a campaign needs a name"),
        ({"name": "x" * 81, "capacity": 1}, "80 characters at most, not 81"),
        ({"name": "X", "capacity": 0}, "room for at least one guest"),
        (
            {"name": "X", "capacity": 1, "starts_on": datetime(2027, 6, 4).date(),
             "ends_on": datetime(2027, 6, 3).date()},
            "ends \\(2027-06-03\\) before it starts",
        ),
    ):  # fmt: skip
        with pytest.raises(UsageError, match=message):
            create_campaign(session, olga, **kw)
    with pytest.raises(UsageError) as exc:
        create_campaign(
            session,
            olga,
            name="X",
            capacity=1,
            criteria={"colour": "red", "levels": ["boss"], "countries": ["FRA"], "min_strength": 6},
        )
    text = str(exc.value)
    for part in ("unknown criterion 'colour'", "level 'boss'", "country 'FRA'", "min_strength 6"):
        assert part in text
    assert session.scalars(select(Campaign)).all() == []


# -- candidates ----------------------------------------------------------------------------------


def _candidates(s: Session, cid: int, who: m.Member) -> list[str]:
    return [c["person"]["email"] for c in show_campaign(s, cid, who, TEAM)["candidates"]]


def test_candidates_are_my_own_live_relationships_private_and_waiting_ones_too(
    session: Session, world: dict[str, Any]
) -> None:
    cid = open_campaign(session, world)
    # strongest first; the deleted person is left out; bob's and cat's are not ana's to see here
    assert _candidates(session, cid, world["ana"]) == [
        "ida@initech.example",
        "zoe@globex.de",
        "max@globex.de",
    ]
    assert _candidates(session, cid, world["bob"]) == ["ida@initech.example", "zoe@globex.de"]
    assert _candidates(session, cid, world["olga"]) == []
    private = show_campaign(session, cid, world["ana"], TEAM)["candidates"][1]
    assert (private["shareability"], private["strength"]) == ("private", 4)


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ({"orgs": ["GLOBEX.DE"]}, ["zoe@globex.de", "max@globex.de"]),
        ({"orgs": ["globex"]}, ["zoe@globex.de", "max@globex.de"]),
        ({"orgs": ["globex.de"], "levels": ["vp"]}, ["max@globex.de"]),
        ({"orgs": ["globex.de"], "min_strength": 3}, ["zoe@globex.de"]),
        ({"countries": ["de"]}, ["zoe@globex.de"]),  # her org's country; max is in AT
        ({"countries": ["fr", "at"], "min_strength": 2}, ["ida@initech.example", "max@globex.de"]),
        ({"orgs": ["nowhere.example"]}, []),
    ],
)
def test_criteria_are_anded(
    session: Session, world: dict[str, Any], criteria: dict[str, Any], expected: list[str]
) -> None:
    cid = open_campaign(session, world, criteria=criteria)
    assert _candidates(session, cid, world["ana"]) == expected


# -- nominations ---------------------------------------------------------------------------------


def test_nominate_refusals(session: Session, world: dict[str, Any]) -> None:
    ana = world["ana"]
    draft = open_campaign(session, world, opened=False)
    with pytest.raises(UsageError, match=f"no campaign #{draft}"):
        nominate(session, draft, ana, "zoe@globex.de", TEAM)
    cid = open_campaign(session, world, criteria={"levels": ["c_level"], "min_strength": 3})
    cases = [
        ("nobody@nowhere.example", "no person with email nobody@nowhere.example"),
        ("gus@globex.de", "no person with email gus@globex.de"),
        ("max@globex.de", r"does not match campaign #\d+'s criteria \(level, strength\)"),
    ]
    for email, message in cases:
        with pytest.raises(UsageError, match=message):
            nominate(session, cid, ana, email, TEAM)
    with pytest.raises(UsageError, match=re.escape("you have no relationship with zoe@globex.de")):
        nominate(session, cid, world["olga"], "zoe@globex.de", TEAM)
    nominate(session, cid, ana, "zoe@globex.de", TEAM)
    with pytest.raises(UsageError, match=re.escape("you already nominated zoe@globex.de")):
        nominate(session, cid, ana, "zoe@globex.de", TEAM)
    set_state(session, cid, world["olga"], "closed")
    with pytest.raises(UsageError, match="is closed: nominations are taken while it is open"):
        nominate(session, cid, world["bob"], "zoe@globex.de", TEAM)


def test_exclusive_blocks_when_the_nominator_sees_it_and_only_then(
    session: Session, world: dict[str, Any]
) -> None:
    cid = open_campaign(session, world)
    world["rels"]["bob-zoe"].exclusive = True  # shared, same team: ana sees it
    world["rels"]["cat-zoe"].exclusive = True  # private: nobody else sees it
    session.flush()
    with pytest.raises(UsageError, match="Bob handles Zoe Ng exclusively: ask them for an intro"):
        nominate(session, cid, world["ana"], "zoe@globex.de", TEAM)
    assert session.scalars(select(Nomination)).all() == []
    # bob holds it exclusively himself; cat's hidden exclusivity does not refuse him
    assert nominate(session, cid, world["bob"], "zoe@globex.de", TEAM)["status"] == "nominated"
    world["rels"]["bob-zoe"].shareability = "private"  # now hidden from ana: she may nominate
    session.flush()
    assert nominate(session, cid, world["ana"], "zoe@globex.de", TEAM)["status"] == "nominated"


def test_withdraw_then_nominate_again(session: Session, world: dict[str, Any]) -> None:
    cid = open_campaign(session, world)
    ana = world["ana"]
    first = nominate(session, cid, ana, "zoe@globex.de", TEAM, note="tennis fan")
    assert first["person"]["email"] == "zoe@globex.de" and first["note"] == "tennis fan"
    with pytest.raises(UsageError, match=re.escape("you have no nomination of max@globex.de")):
        withdraw(session, cid, ana, "max@globex.de")
    assert withdraw(session, cid, ana, "zoe@globex.de")["status"] == "withdrawn"
    assert "zoe@globex.de" in _candidates(session, cid, ana)
    with pytest.raises(UsageError, match=re.escape("you have no nomination of zoe@globex.de")):
        withdraw(session, cid, ana, "zoe@globex.de")
    again = nominate(session, cid, ana, "zoe@globex.de", TEAM)
    assert (again["id"], again["status"], again["note"]) == (first["id"], "nominated", None)
    decide(session, cid, again["id"], world["olga"], True, sharing=TEAM)
    with pytest.raises(UsageError, match="is already accepted: only a nomination the owner"):
        withdraw(session, cid, ana, "zoe@globex.de")
    assert actions(session, "nomination") == [
        "nomination.created",
        "nomination.withdrawn",
        "nomination.created",
        "nomination.accepted",
    ]


def test_capacity_counts_distinct_people(session: Session, world: dict[str, Any]) -> None:
    cid = open_campaign(session, world, capacity=1)
    olga = world["olga"]
    by_ana = nominate(session, cid, world["ana"], "zoe@globex.de", TEAM)["id"]
    by_bob = nominate(session, cid, world["bob"], "zoe@globex.de", TEAM)["id"]
    ida = nominate(session, cid, world["bob"], "ida@initech.example", TEAM)["id"]
    decide(session, cid, by_ana, olga, True, sharing=TEAM)
    decide(session, cid, by_bob, olga, True, sharing=TEAM)  # the same person: still one seat
    doc = show_campaign(session, cid, olga, TEAM)
    assert doc["campaign"]["guests"] == 1 and [g["name"] for g in doc["guests"]] == ["Zoe Ng"]
    assert doc["guests"][0]["nominations"] == [by_ana, by_bob]
    with pytest.raises(UsageError, match=r"is full \(1 of 1 guests\): decline a guest"):
        decide(session, cid, ida, olga, True, sharing=TEAM)
    with pytest.raises(UsageError, match="a decline needs a reason"):
        decide(session, cid, by_ana, olga, False, " ", sharing=TEAM)
    decide(session, cid, by_ana, olga, False, "invited by the CEO", sharing=TEAM)
    assert show_campaign(session, cid, olga, TEAM)["campaign"]["guests"] == 1  # bob's stands
    decide(session, cid, by_bob, olga, False, "no seat", sharing=TEAM)
    accepted = decide(session, cid, ida, olga, True, "a reason is for a decline", sharing=TEAM)
    assert (accepted["status"], accepted["reason"]) == ("accepted", None)
    with pytest.raises(UsageError, match=f"nomination #{ida} is already accepted"):
        decide(session, cid, ida, olga, True, sharing=TEAM)


def test_only_the_owner_decides_and_only_while_open_or_closed(
    session: Session, world: dict[str, Any]
) -> None:
    cid = open_campaign(session, world)
    nid = nominate(session, cid, world["bob"], "ida@initech.example", TEAM)["id"]
    with pytest.raises(NotYours, match=f"only the owner of campaign #{cid} may accept"):
        decide(session, cid, nid, world["bob"], True, sharing=TEAM)
    with pytest.raises(UsageError, match=f"no nomination #{nid + 99} in campaign #{cid}"):
        decide(session, cid, nid + 99, world["olga"], True, sharing=TEAM)
    withdraw(session, cid, world["bob"], "ida@initech.example")
    with pytest.raises(UsageError, match=f"no nomination #{nid} in campaign #{cid}"):
        decide(session, cid, nid, world["olga"], True, sharing=TEAM)
    nominate(session, cid, world["bob"], "ida@initech.example", TEAM)
    set_state(session, cid, world["olga"], "closed")
    assert decide(session, cid, nid, world["olga"], True, sharing=TEAM)["status"] == "accepted"
    set_state(session, cid, world["olga"], "done")
    with pytest.raises(UsageError, match="is done: nominations are decided while it is open"):
        decide(session, cid, nid, world["olga"], False, "gone", sharing=TEAM)
