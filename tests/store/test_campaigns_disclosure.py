"""The campaign disclosure rule on both backends: the owner sees a private nomination while the
campaign is open and not after, a colleague never, the nominator always; the guest list; the
campaign list; and the audit listing, which follows the same rule."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.governance.audit import list_events
from connector.governance.campaigns import (
    decide,
    list_campaigns,
    nominate,
    set_state,
    show_campaign,
)
from connector.store import models as m
from tests.store.campaigns_kit import TEAM, build_world, open_campaign


@pytest.fixture
def world(session: Session) -> dict[str, Any]:
    return build_world(session)


# -- the disclosure rule -------------------------------------------------------------------------


def _pairs(doc: Any) -> set[tuple[str, str]]:
    """(nominator email, person name) of every nomination in a show document."""
    return {(n["nominator"]["email"], n["person"]["name"]) for n in doc["nominations"]}


def test_the_owner_sees_a_private_nomination_while_open_and_not_after(
    session: Session, world: dict[str, Any]
) -> None:
    cid = open_campaign(session, world)
    olga, ana, bob, cat = (world[k] for k in ("olga", "ana", "bob", "cat"))
    private = nominate(session, cid, ana, "zoe@globex.de", TEAM, note="golf")["id"]
    nominate(session, cid, bob, "ida@initech.example", TEAM)
    owner = show_campaign(session, cid, olga, TEAM)
    assert owner["role"] == "owner"
    assert _pairs(owner) == {("ana@us.example", "Zoe Ng"), ("bob@us.example", "Ida Roy")}
    shown = {n["id"]: n for n in owner["nominations"]}[private]
    assert (shown["disclosed"], shown["strength"], shown["note"]) == (True, 4, "golf")
    disclosed = session.scalars(
        select(m.AuditEvent).where(m.AuditEvent.action == "campaign.nomination_disclosed")
    ).one()
    assert disclosed.actor_id == olga.id
    assert disclosed.details["relationships"] == [world["rels"]["ana-zoe"].id]
    # a third rep: the campaign and the guest count, their own nominations, nobody else's
    third = show_campaign(session, cid, cat, TEAM)
    assert third["role"] == "rep" and third["nominations"] == third["mine"] == []
    assert third["guests"] == [] and third["campaign"]["guests"] == 0
    assert "ana@us.example" not in json.dumps([third, list_campaigns(session, cat, TEAM)])
    # bob sees his own only, though ana's relationship is in his team
    assert _pairs(show_campaign(session, cid, bob, TEAM)) == {("bob@us.example", "Ida Roy")}
    decide(session, cid, private, olga, True, sharing=TEAM)
    set_state(session, cid, olga, "closed")
    after = show_campaign(session, cid, olga, TEAM)
    assert _pairs(after) == {("bob@us.example", "Ida Roy")}
    assert after["guests"] == [
        {"person_id": world["zoe"].id, "name": "Zoe Ng", "title": "CFO", "org": "Globex",
         "nominations": [private], "nominators": [], "by_colleague": True, "crm_status": {}}
    ]  # fmt: skip
    assert "ana@us.example" not in json.dumps(after)
    # the nominator always sees hers
    mine = show_campaign(session, cid, ana, TEAM)["mine"]
    assert [(n["id"], n["status"]) for n in mine] == [(private, "accepted")]
    ended = session.scalars(
        select(m.AuditEvent).where(m.AuditEvent.action == "campaign.disclosure_ended")
    ).all()
    assert len(ended) == 1 and world["rels"]["ana-zoe"].id in ended[0].details["relationships"]
    # after close the owner still declines the guest, and is not told who nominated her
    out = decide(session, cid, private, olga, False, "no seat", sharing=TEAM)
    assert (out["status"], out["nominator"], out["by_colleague"]) == ("declined", None, True)
    assert "ana@us.example" not in json.dumps(out)


def test_list_campaigns(session: Session, world: dict[str, Any]) -> None:
    mine = open_campaign(session, world, opened=False)
    cid = open_campaign(session, world, criteria={"orgs": ["globex.de"]})
    nominate(session, cid, world["ana"], "zoe@globex.de", TEAM)
    ana = {c["id"]: c for c in list_campaigns(session, world["ana"], TEAM)}
    assert list(ana) == [cid]  # the draft is olga's alone
    assert (ana[cid]["role"], ana[cid]["mine"], ana[cid]["candidates"]) == ("rep", 1, 1)
    olga = {c["id"]: c for c in list_campaigns(session, world["olga"], TEAM)}
    assert set(olga) == {mine, cid}
    assert (olga[cid]["nominations"], olga[cid]["waiting"]) == (1, 1)


# -- the audit listing ---------------------------------------------------------------------------


def _listed(s: Session, reader: m.Member | None) -> list[dict[str, Any]]:
    return [
        e
        for e in list_events(s, reader, TEAM)["events"]
        if e["subject"]["type"] == "nomination" or e["action"].startswith("campaign.")
    ]


def test_the_audit_listing_never_shows_a_private_nomination_to_others(
    session: Session, world: dict[str, Any]
) -> None:
    cid = open_campaign(session, world)
    olga, ana, bob = world["olga"], world["ana"], world["bob"]
    private = nominate(session, cid, ana, "zoe@globex.de", TEAM)["id"]
    show_campaign(session, cid, olga, TEAM)  # a disclosure
    decide(session, cid, private, olga, True, sharing=TEAM)

    def about_zoe(events: list[dict[str, Any]]) -> list[str]:
        return [e["action"] for e in events if any(
            r["holder"] == "ana@us.example" for r in e["relationships"])]  # fmt: skip

    while_open = [
        "campaign.nomination_disclosed",  # decide() showed it to her once more
        "nomination.accepted",
        "campaign.nomination_disclosed",
        "nomination.created",
    ]
    assert about_zoe(_listed(session, olga)) == about_zoe(_listed(session, ana)) == while_open
    assert _listed(session, bob) == []  # a colleague: nothing of it
    admin = [e for e in _listed(session, None) if e["subject"]["type"] == "nomination"]
    assert admin and all(e["details"] == {"withheld": "concerns a relationship you may not see"}
                         for e in admin)  # fmt: skip
    set_state(session, cid, olga, "closed")
    assert about_zoe(_listed(session, olga)) == []  # the disclosure has ended, in the log too
    assert about_zoe(_listed(session, ana))[0] == "campaign.disclosure_ended"
    assert "ana@us.example" not in json.dumps(list_events(session, olga, TEAM))
