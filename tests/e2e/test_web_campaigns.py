"""Invitation campaigns on the web, against the real app and the OIDC stand-in (real sign-ins), on
SQLite and PostgreSQL: a manager creates a campaign on the page and opens it; rep A nominates a
private contact on the page, rep B a discoverable one through the API; neither rep, nor a third
one, sees the other's nomination on any page or API answer; the owner sees both while the
campaign is open (the disclosure audited), accepts them, closes it and no longer sees the private
one (the guest stays, "a colleague"); done. And the refusals: only the owner decides or moves the
campaign, only a manager or an admin creates one (403, audited), every change needs its CSRF
token.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.store import models as m
from connector.store.models_campaigns import Nomination
from sandbox.runner import Sandbox
from tests.conftest import fresh_db_url
from tests.e2e.web_campaign_support import (
    CampaignWorld,
    in_store,
    make_campaign_world,
    nominate,
    open_campaign,
)
from tests.e2e.web_support import Client, served, sign_in


@pytest.fixture
def world(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, fresh_sandbox: Sandbox
) -> Iterator[CampaignWorld]:
    made = make_campaign_world(tmp_path, fresh_sandbox, fresh_db_url(backend, tmp_path, request))
    with served(made.web.config, made.web.base_url):
        yield made


def signed_in(world: CampaignWorld, sandbox: Sandbox, email: str) -> tuple[Client, str]:
    """A client signed in as `email` through the stand-in, and its session's CSRF token."""
    c = Client(world.web.base_url)
    assert sign_in(c, sandbox, email, "/campaigns").status_code == 303
    found = re.search(r'name="csrf" value="([^"]+)"', c.get("/campaigns").text)
    assert found
    return c, found.group(1)


def everything(c: Client, campaign_id: int) -> tuple[str, set[int]]:
    """Every campaign page and API answer (and the audit listing) the member gets, as one text;
    the relationship ids in them (data-rel on the pages, relationship_id in the API)."""
    pages = [c.get(p).text for p in ("/campaigns", f"/campaigns/{campaign_id}")]
    docs = [c.get(f"/api/v1{p}").json() for p in ("/campaigns", f"/campaigns/{campaign_id}")]
    docs.append(c.get("/api/v1/audit").json())
    text = "\n".join(pages) + json.dumps(docs)
    ids = {int(i) for i in re.findall(r'data-rel="(\d+)"', text)}
    ids |= {int(i) for i in re.findall(r'"relationship_id": (\d+)', text)}
    return text, ids


def events(world: CampaignWorld, action: str) -> list[tuple[int, dict[str, Any]]]:
    def read(s: Session) -> list[tuple[int, dict[str, Any]]]:
        q = select(m.AuditEvent).where(m.AuditEvent.action == action).order_by(m.AuditEvent.id)
        return [(e.actor_id, e.details) for e in s.scalars(q)]

    return in_store(world.db_url, read)


def member_id(world: CampaignWorld, email: str) -> int:
    return in_store(
        world.db_url, lambda s: s.scalar(select(m.Member.id).where(m.Member.email == email))
    )


def statuses(world: CampaignWorld) -> dict[int, str]:
    return in_store(world.db_url, lambda s: {n.id: n.status for n in s.scalars(select(Nomination))})


def test_a_campaign_from_draft_to_done_keeps_each_nomination_where_it_belongs(
    world: CampaignWorld, fresh_sandbox: Sandbox
) -> None:
    web = world.web
    owner, tok_o = signed_in(world, fresh_sandbox, world.owner)
    assert "Start a campaign" in owner.get("/campaigns").text
    form = {"csrf": tok_o, "name": "Roland-Garros box", "capacity": "2", "purpose": "Finals day",
            "starts": "2027-06-06", "ends": "2027-06-06", "orgs": "Initech Web",
            "countries": "", "min_strength": ""}  # fmt: skip
    made = owner.post("/campaigns", data=form)
    assert made.status_code == 303, made.text
    found = re.fullmatch(r"/campaigns/(\d+)\?done=created", made.headers["location"])
    assert found
    cid = int(found.group(1))
    a, tok_a = signed_in(world, fresh_sandbox, web.a)
    assert a.get(f"/campaigns/{cid}").status_code == 404  # a draft is its owner's alone
    opened = owner.post(f"/campaigns/{cid}/state", data={"csrf": tok_o, "target": "open"})
    assert opened.status_code == 303

    listed = a.get("/api/v1/campaigns").json()
    assert [(c["id"], c["role"], c["candidates"], c["mine"]) for c in listed] == [
        (cid, "rep", 2, 0)
    ]
    mine = a.get(f"/campaigns/{cid}").text
    assert "Xavier Secretus" in mine and "Yvonne Openshaw" in mine and "Nominate" in mine
    note = {"csrf": tok_a, "person_email": web.x, "note": "met him at VivaTech"}
    put = a.post(f"/campaigns/{cid}/nominate", data=note)
    assert put.status_code == 303 and put.headers["location"] == f"/campaigns/{cid}?done=nominated"
    b, tok_b = signed_in(world, fresh_sandbox, web.b)
    put = b.post(f"/api/v1/campaigns/{cid}/nominations", json={"person_email": web.y},
                 headers={"X-CSRF-Token": tok_b})  # fmt: skip
    assert put.status_code == 200, put.text
    nom_y = put.json()["id"]

    # each rep sees their own nomination, and nobody else's
    doc_a = a.get(f"/api/v1/campaigns/{cid}").json()
    assert doc_a["role"] == "rep" and doc_a["guests"] == []
    assert [n["person"]["name"] for n in doc_a["mine"]] == ["Xavier Secretus"]
    nom_x = doc_a["mine"][0]["id"]
    assert [n["id"] for n in doc_a["nominations"]] == [nom_x]
    text_b, ids_b = everything(b, cid)
    assert "Xavier Secretus" not in text_b and "VivaTech" not in text_b and web.rel_x not in ids_b
    c, _ = signed_in(world, fresh_sandbox, world.c)
    text_c, ids_c = everything(c, cid)
    assert not {"Xavier Secretus", "Yvonne Openshaw", "VivaTech"} & set(re.findall(
        r"Xavier Secretus|Yvonne Openshaw|VivaTech", text_c))  # fmt: skip
    assert not ids_c & {web.rel_x, web.rel_y}

    # the owner sees both while it is open; the private one for this campaign only, audited
    seen = {
        n["person"]["name"]: n for n in owner.get(f"/api/v1/campaigns/{cid}").json()["nominations"]
    }
    assert (
        seen["Xavier Secretus"]["disclosed"]
        and seen["Xavier Secretus"]["nominator"]["email"] == web.a
    )
    assert not seen["Yvonne Openshaw"]["disclosed"]
    page_o = owner.get(f"/campaigns/{cid}").text
    assert f'data-rel="{web.rel_x}"' in page_o and "met him at VivaTech" in page_o
    disclosed = events(world, "campaign.nomination_disclosed")
    assert disclosed and {d["relationships"][0] for _, d in disclosed} == {web.rel_x}
    assert {actor for actor, _ in disclosed} == {member_id(world, world.owner)}

    ok = owner.post(f"/campaigns/{cid}/nominations/{nom_x}/accept", data={"csrf": tok_o})
    assert ok.status_code == 303 and ok.headers["location"] == f"/campaigns/{cid}?done=accept"
    ok = owner.post(f"/api/v1/campaigns/{cid}/nominations/{nom_y}/accept", json={},
                    headers={"X-CSRF-Token": tok_o})  # fmt: skip
    assert ok.status_code == 200 and ok.json()["status"] == "accepted"
    assert "2 / 2" in owner.get(f"/campaigns/{cid}").text  # the capacity, used

    # closed: the private nomination leaves the owner's view; the guest stays, "a colleague"
    assert owner.post(f"/campaigns/{cid}/state",
                      data={"csrf": tok_o, "target": "closed"}).status_code == 303  # fmt: skip
    doc_o = owner.get(f"/api/v1/campaigns/{cid}").json()
    assert [n["person"]["name"] for n in doc_o["nominations"]] == ["Yvonne Openshaw"]
    guests = {g["name"]: g for g in doc_o["guests"]}
    assert (
        guests["Xavier Secretus"]["nominators"] == [] and guests["Xavier Secretus"]["by_colleague"]
    )
    assert [n["email"] for n in guests["Yvonne Openshaw"]["nominators"]] == [web.b]
    text_o, ids_o = everything(owner, cid)
    assert web.rel_x not in ids_o and "VivaTech" not in text_o and world.name(web.a) not in text_o
    assert len(events(world, "campaign.disclosure_ended")) == 1
    # the owner may still take a guest off the list, learning nothing more of who put them forward
    why = {"reason": "the box is for finance"}
    off = owner.post(f"/api/v1/campaigns/{cid}/nominations/{nom_x}/decline", json=why,
                     headers={"X-CSRF-Token": tok_o})  # fmt: skip
    assert off.status_code == 200, off.text
    assert off.json()["by_colleague"] and off.json()["nominator"] is None
    assert off.json()["relationship_id"] is None and off.json()["strength"] is None
    assert [g["name"] for g in owner.get(f"/api/v1/campaigns/{cid}").json()["guests"]] == [
        "Yvonne Openshaw"
    ]
    assert owner.post(f"/campaigns/{cid}/state",
                      data={"csrf": tok_o, "target": "done"}).status_code == 303  # fmt: skip
    assert owner.get(f"/api/v1/campaigns/{cid}").json()["campaign"]["state"] == "done"
    # the rep still sees theirs, and why it was declined
    told = a.get(f"/api/v1/campaigns/{cid}").json()["mine"]
    assert [(n["status"], n["reason"]) for n in told] == [("declined", "the box is for finance")]


def test_only_the_owner_decides_and_every_change_needs_its_csrf_token(
    world: CampaignWorld, fresh_sandbox: Sandbox
) -> None:
    web = world.web
    cid = open_campaign(world.db_url, world.owner)
    nom = nominate(world.db_url, cid, web.a, web.x)
    anonymous = Client(web.base_url)
    assert anonymous.get(f"/campaigns/{cid}").headers["location"].startswith("/sign-in")
    assert anonymous.get("/api/v1/campaigns").status_code == 401

    b, tok_b = signed_in(world, fresh_sandbox, web.b)
    new = {"csrf": tok_b, "name": "B's own party", "capacity": "3"}
    assert b.post("/campaigns", data=new).status_code == 403  # a rep runs no campaign
    header = {"X-CSRF-Token": tok_b}
    api = f"/api/v1/campaigns/{cid}/nominations/{nom}"
    assert (
        b.post("/api/v1/campaigns", json={"name": "B's", "capacity": 3}, headers=header).status_code
        == 403
    )
    assert (
        b.post(f"/campaigns/{cid}/nominations/{nom}/accept", data={"csrf": tok_b}).status_code
        == 403
    )
    assert b.post(f"{api}/decline", json={"reason": "no"}, headers=header).status_code == 403
    assert (
        b.post(f"/campaigns/{cid}/state", data={"csrf": tok_b, "target": "closed"}).status_code
        == 403
    )
    a, tok_a = signed_in(world, fresh_sandbox, web.a)  # the nominator is not the owner either
    assert a.post(f"{api}/accept", json={}, headers={"X-CSRF-Token": tok_a}).status_code == 403
    tried = [d["tried"] for _, d in events(world, "web.forbidden")]
    page = f"/campaigns/{cid}"
    assert tried == ["/campaigns", "POST /api/v1/campaigns", f"{page}/nominations/{nom}/accept",
                     f"POST {api}/decline", f"{page}/state", f"POST {api}/accept"]  # fmt: skip

    owner, tok_o = signed_in(world, fresh_sandbox, world.owner)
    for form in ({}, {"csrf": "forged"}, {"csrf": tok_b}):  # none, wrong, another session's
        assert (
            owner.post(f"/campaigns/{cid}/nominations/{nom}/accept", data=form).status_code == 403
        )
    assert owner.post(f"{api}/accept", json={}).status_code == 403
    assert owner.post(f"{api}/accept", json={}, headers=header).status_code == 403
    assert owner.post(f"/campaigns/{cid}/state", data={"target": "closed"}).status_code == 403
    assert a.post(f"/campaigns/{cid}/withdraw", data={"person_email": web.x}).status_code == 403
    assert statuses(world) == {nom: "nominated"}
    assert owner.get(f"/api/v1/campaigns/{cid}").json()["campaign"]["state"] == "open"

    # refusals with the service's message: 400, and a page for an id that is no campaign
    stranger = {"person_email": "nobody@else.example"}
    lost = a.post(f"/api/v1/campaigns/{cid}/nominations", json=stranger,
                  headers={"X-CSRF-Token": tok_a})  # fmt: skip
    assert lost.status_code == 400 and "nobody@else.example" in lost.json()["error"]
    full = owner.post(f"{api}/decline", json={}, headers={"X-CSRF-Token": tok_o})
    assert full.status_code == 400 and "reason" in full.json()["error"]
    assert owner.get("/campaigns/99999999999").status_code == 404
    assert owner.get("/campaigns/0").status_code == 404
