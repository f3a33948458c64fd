"""`carnet campaign ...` as a user runs it (subprocesses, on SQLite and PostgreSQL): a campaign from
draft to done, two reps nominating (one a private relationship), what the owner and a third rep
see before and after close, and every refusal: exit 2, one clear line, no traceback, nothing
changed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from connector.core.config import Sharing
from connector.store import models as m
from connector.store.db import make_engine, session_factory
from connector.store.models_campaigns import Campaign, Nomination
from tests import governance_world as w
from tests.conftest import fresh_db_url, run_carnet

WEB = (
    "web:\n"
    "  oidc:\n"
    "    issuer: http://127.0.0.1:9/idp\n"
    "    client_id: carnet\n"
    "    client_secret_env: CARNET_TEST_OIDC_SECRET\n"
    "  managers: [olga@us.example, group:events]\n"
)
CRITERIA = (
    *("--org", "globex.de", "--level", "c_level", "--level", "vp"),
    *("--country", "de", "--min-strength", "3"),
)


@dataclass
class World:
    folder: Path
    url: str

    def carnet(self, *args: str) -> Any:
        return run_carnet(
            "--config",
            str(self.folder / "config.yaml"),
            *args,
            cwd=self.folder,
            env={"COLUMNS": "200", "CARNET_DATABASE_URL": self.url},
        )

    def ok(self, *args: str) -> Any:
        result = self.carnet(*args)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json").stdout)

    def snapshot(self) -> dict[str, Any]:
        """Everything a campaign command may change, to compare before and after a refusal."""
        engine = make_engine(self.url)
        try:
            with session_factory(engine)() as s:
                return {
                    **w.snapshot(s),
                    "campaigns": [
                        tuple(r)
                        for r in s.execute(
                            select(Campaign.id, Campaign.state, Campaign.capacity).order_by(
                                Campaign.id
                            )
                        )
                    ],
                    "nominations": [
                        tuple(r)
                        for r in s.execute(
                            select(Nomination.id, Nomination.status, Nomination.reason).order_by(
                                Nomination.id
                            )
                        )
                    ],
                }
        finally:
            engine.dispose()

    def count(self, action: str) -> int:
        engine = make_engine(self.url)
        try:
            with session_factory(engine)() as s:
                q = select(func.count()).where(m.AuditEvent.action == action)
                return int(s.scalar(q) or 0)
        finally:
            engine.dispose()


# the command layer's refusals are the same on either store (the services under them are tested
# on both in tests/store/test_campaigns*.py): the whole story runs on both, the rest on SQLite
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])


@pytest.fixture
def world(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> World:
    """Olga (a manager), reps Ana, Bob, Cat and Dan; Globex GmbH (DE) with its CEO, whom Ana knows
    PRIVATELY, its CFO, whom Bob knows (shared, exclusive) and Dan knows too, a VP whom Cat
    knows, and a staff member nobody's criteria want."""
    url = fresh_db_url(backend, tmp_path, request)
    config = w.write_config(tmp_path, Sharing(default="discoverable", scope="company"))
    config.write_text(config.read_text(encoding="utf-8") + WEB, encoding="utf-8")
    world = World(tmp_path, url)
    world.ok("init")
    engine = make_engine(url)
    with session_factory(engine)() as s:
        _fill(s)
        s.commit()
    engine.dispose()
    return world


def _fill(s: Any) -> None:
    olga = w.member(s, "olga@us.example", "events", "Olga")
    ana = w.member(s, "ana@us.example", "emea", "Ana")
    bob = w.member(s, "bob@us.example", "emea", "Bob")
    cat = w.member(s, "cat@us.example", "emea", "Cat")
    dan = w.member(s, "dan@us.example", "emea", "Dan")
    g = w.org(s, "Globex GmbH", ("globex.de",), country="DE")
    ceo = w.person(s, "ceo@globex.de", g, "Jurgen Gross", "CEO")
    cfo = w.person(s, "zoe@globex.de", g, "Zoe Ng", "CFO")
    vp = w.person(s, "lena@globex.de", g, "Lena Vogt", "VP Sales")
    clerk = w.person(s, "max@globex.de", g, "Max Klein", "Clerk")
    for p, level in ((ceo, "c_level"), (cfo, "c_level"), (vp, "vp"), (clerk, "staff")):
        p.level = level
    w.rel(s, ana, ceo, rating=4, share="private", notes="sailing partner")
    w.rel(s, bob, cfo, rating=4, share="shared", exclusive=True)
    w.rel(s, dan, cfo, rating=3, share="shared")
    w.rel(s, cat, vp, rating=3, share="discoverable")
    w.rel(s, cat, clerk, rating=5, share="shared")
    w.rel(s, olga, clerk, rating=2, share="shared")
    s.flush()


def refused(result: Any, message: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert result.stdout == ""


def opened(world: World, capacity: int = 2) -> int:
    doc = world.json(
        "campaign",
        "create",
        "Roland-Garros VIP box",
        "--as",
        "olga@us.example",
        "--capacity",
        str(capacity),
        "--purpose",
        "Quarter-finals",
        "--starts",
        "2027-06-04",
        "--ends",
        "2027-06-05",
        *CRITERIA,
    )
    assert doc["state"] == "draft" and doc["starts_on"] == "2027-06-04"
    assert doc["criteria"] == {
        "orgs": ["globex.de"],
        "levels": ["c_level", "vp"],
        "countries": ["DE"],
        "min_strength": 3,
    }
    cid = int(doc["id"])
    world.ok("campaign", "open", str(cid), "--as", "olga@us.example")
    return cid


def by_person(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["person"]["name"]: r for r in rows}


def test_a_campaign_from_draft_to_done(world: World) -> None:
    cid = opened(world)
    c = str(cid)
    # each rep sees their own matching contacts, and only theirs
    ana = world.json("campaign", "show", c, "--as", "ana@us.example")
    assert ana["role"] == "rep" and [k["person"]["name"] for k in ana["candidates"]] == [
        "Jurgen Gross"
    ]
    world.ok("campaign", "nominate", c, "ceo@globex.de", "--as", "ana@us.example", "--note", "yes")
    world.ok("campaign", "nominate", c, "zoe@globex.de", "--as", "bob@us.example")
    world.ok("campaign", "nominate", c, "lena@globex.de", "--as", "cat@us.example")

    # the owner sees every nomination while the campaign is open, the private one included
    owner = world.json("campaign", "show", c, "--as", "olga@us.example")
    noms = by_person(owner["nominations"])
    assert set(noms) == {"Jurgen Gross", "Zoe Ng", "Lena Vogt"}
    assert noms["Jurgen Gross"]["nominator"]["email"] == "ana@us.example"
    assert noms["Jurgen Gross"]["disclosed"] and not noms["Zoe Ng"]["disclosed"]
    text = world.ok("campaign", "show", c, "--as", "olga@us.example").stdout
    assert "Jurgen Gross" in text and "Ana" in text and "Zoe Ng" in text
    assert world.count("campaign.nomination_disclosed") == 2

    # a third rep sees neither Ana's nor Bob's nomination, in JSON or as text
    for output in (
        world.ok("campaign", "show", c, "--as", "cat@us.example", "--json").stdout,
        world.ok("campaign", "show", c, "--as", "cat@us.example").stdout,
        world.ok("campaign", "list", "--as", "cat@us.example", "--json").stdout,
        world.ok("audit", "--as", "cat@us.example", "--json").stdout,
    ):
        for secret in ("Jurgen", "ceo@globex.de", "ana@us.example", "Zoe", "bob@us.example"):
            assert secret not in output
    cat = world.json("campaign", "show", c, "--as", "cat@us.example")
    assert [n["nominator"]["email"] for n in cat["nominations"]] == ["cat@us.example"]
    assert cat["guests"] == []
    assert [n["person"]["name"] for n in cat["mine"]] == ["Lena Vogt"]

    # accept and decline within capacity (2 seats)
    world.ok("campaign", "accept", c, str(noms["Jurgen Gross"]["id"]), "--as", "olga@us.example")
    world.ok("campaign", "accept", c, str(noms["Lena Vogt"]["id"]), "--as", "olga@us.example")
    declined = world.ok(
        "campaign",
        "decline",
        c,
        str(noms["Zoe Ng"]["id"]),
        "--as",
        "olga@us.example",
        "--reason",
        "no seat left",
    )
    assert "declined (no seat left)" in declined.stdout
    bob = world.json("campaign", "show", c, "--as", "bob@us.example")
    assert [(n["status"], n["reason"]) for n in bob["mine"]] == [("declined", "no seat left")]

    world.ok("campaign", "close", c, "--as", "olga@us.example")
    assert world.count("campaign.disclosure_ended") == 1
    after = world.json("campaign", "show", c, "--as", "olga@us.example")
    assert "Jurgen Gross" not in by_person(after["nominations"])  # the disclosure has ended
    assert set(by_person(after["nominations"])) == {"Zoe Ng", "Lena Vogt"}
    guests = {g["name"]: g for g in after["guests"]}
    assert set(guests) == {"Jurgen Gross", "Lena Vogt"}  # the guest stays ...
    assert guests["Jurgen Gross"]["nominators"] == [] and guests["Jurgen Gross"]["by_colleague"]
    assert "ana@us.example" not in json.dumps(after) and "sailing" not in json.dumps(after)
    text = world.ok("campaign", "show", c, "--as", "olga@us.example").stdout
    assert "a colleague" in text and "ana@us.example" not in text and "Ana" not in text

    done = world.json("campaign", "close", c, "--done", "--as", "olga@us.example")
    assert done["state"] == "done" and done["guests"] == 2
    listed = world.json("campaign", "list", "--as", "olga@us.example")
    assert [(x["id"], x["state"], x["role"]) for x in listed] == [(cid, "done", "owner")]


@SQLITE_ONLY
def test_a_rep_withdraws_and_lists(world: World) -> None:
    c = str(opened(world))
    listed = world.json("campaign", "list", "--as", "ana@us.example")
    assert [(x["name"], x["candidates"], x["mine"]) for x in listed] == [
        ("Roland-Garros VIP box", 1, 0)
    ]
    made = world.ok("campaign", "nominate", c, "ceo@globex.de", "--as", "ana@us.example")
    assert "only the campaign's owner sees it" in made.stdout
    back = world.json("campaign", "withdraw", c, "ceo@globex.de", "--as", "ana@us.example")
    assert back["status"] == "withdrawn"
    owner = world.json("campaign", "show", c, "--as", "olga@us.example")
    assert owner["nominations"] == []  # a withdrawn nomination is nobody else's business


@SQLITE_ONLY
def test_creating_refusals_change_nothing(world: World) -> None:
    before = world.snapshot()
    create = ("campaign", "create", "Dinner", "--as", "olga@us.example")
    refused(
        world.carnet(*create, "--capacity", "5", "--starts", "2027-02-30"),
        "--starts '2027-02-30': expected a date as YYYY-MM-DD",
    )
    refused(
        world.carnet(*create, "--capacity", "5", "--ends", "4 June"),
        "--ends '4 June': expected a date as YYYY-MM-DD",
    )
    refused(world.carnet(*create), "--capacity N is required")
    refused(world.carnet(*create, "--capacity", "0"), "room for at least one guest")
    refused(
        world.carnet(*create, "--capacity", "5", "--starts", "2027-06-05", "--ends", "2027-06-04"),
        "ends (2027-06-04) before it starts (2027-06-05)",
    )
    refused(
        world.carnet(*create, "--capacity", "5", "--level", "intern"),
        "level 'intern': expected one of c_level",
    )
    refused(
        world.carnet("campaign", "create", "Dinner", "--as", "dan@us.example", "--capacity", "5"),
        "dan@us.example may not own a campaign: owners are the managers and admins",
    )
    refused(
        world.carnet("campaign", "create", "Dinner", "--as", "eve@us.example", "--capacity", "5"),
        "--as eve@us.example: no member",
    )
    assert world.snapshot() == before


@SQLITE_ONLY
def test_refusals_along_the_way_change_nothing(world: World) -> None:
    draft = world.json(
        "campaign", "create", "Dinner", "--as", "olga@us.example", "--capacity", "1", *CRITERIA
    )
    c = str(draft["id"])
    before = world.snapshot()
    nominate = ("campaign", "nominate", c, "ceo@globex.de", "--as", "ana@us.example")
    refused(world.carnet(*nominate), f"no campaign #{c}")  # a draft is its owner's alone
    refused(world.carnet("campaign", "show", "99", "--as", "olga@us.example"), "no campaign #99")
    refused(world.carnet("campaign", "open", c, "--as", "ana@us.example"), f"no campaign #{c}")
    assert world.snapshot() == before

    world.ok("campaign", "open", c, "--as", "olga@us.example")
    before = world.snapshot()
    refused(
        world.carnet("campaign", "close", c, "--as", "ana@us.example"),
        f"only the owner of campaign #{c} may change its state",
    )
    refused(
        world.carnet("campaign", "close", c, "--done", "--as", "olga@us.example"),
        f"campaign #{c} is open: only a closed campaign can be marked done",
    )
    refused(
        world.carnet("campaign", "nominate", c, "zoe@globex.de", "--as", "ana@us.example"),
        "you have no relationship with zoe@globex.de",
    )
    refused(
        world.carnet("campaign", "nominate", c, "nobody@globex.de", "--as", "ana@us.example"),
        "no person with email nobody@globex.de",
    )
    refused(
        world.carnet("campaign", "nominate", c, "max@globex.de", "--as", "cat@us.example"),
        "does not match campaign",
    )
    refused(
        world.carnet("campaign", "nominate", c, "zoe@globex.de", "--as", "dan@us.example"),
        "Bob handles Zoe Ng exclusively: ask them for an introduction",
    )
    assert world.snapshot() == before

    world.ok(*nominate)
    world.ok("campaign", "nominate", c, "lena@globex.de", "--as", "cat@us.example")
    noms = by_person(world.json("campaign", "show", c, "--as", "olga@us.example")["nominations"])
    first, second = str(noms["Jurgen Gross"]["id"]), str(noms["Lena Vogt"]["id"])
    refused(
        world.carnet("campaign", "accept", c, first, "--as", "cat@us.example"),
        f"only the owner of campaign #{c} may accept or decline",
    )
    world.ok("campaign", "accept", c, first, "--as", "olga@us.example")
    before = world.snapshot()
    refused(
        world.carnet("campaign", "accept", c, second, "--as", "olga@us.example"),
        f"campaign #{c} is full (1 of 1 guests)",
    )
    refused(
        world.carnet("campaign", "decline", c, second, "--as", "olga@us.example"),
        "a decline needs a reason",
    )
    refused(
        world.carnet("campaign", "accept", c, "999", "--as", "olga@us.example"),
        f"no nomination #999 in campaign #{c}",
    )
    refused(world.carnet(*nominate), "you already nominated ceo@globex.de")
    assert world.snapshot() == before

    world.ok("campaign", "close", c, "--as", "olga@us.example")
    before = world.snapshot()
    refused(
        world.carnet("campaign", "nominate", c, "lena@globex.de", "--as", "cat@us.example"),
        f"campaign #{c} is closed: nominations are taken while it is open",
    )
    refused(
        world.carnet("campaign", "open", c, "--as", "olga@us.example"),
        f"campaign #{c} is closed: a campaign never goes back",
    )
    assert world.snapshot() == before


@SQLITE_ONLY
def test_a_manager_named_only_through_a_group_is_told_why(world: World) -> None:
    before = world.snapshot()
    refused(
        world.carnet("campaign", "create", "Dinner", "--as", "ana@us.example", "--capacity", "5"),
        "the command line cannot check groups (group:events): list the email",
    )
    assert world.snapshot() == before
