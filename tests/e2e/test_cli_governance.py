"""who-knows, rate, intro and audit as a user runs them (subprocesses), including every refusal:
unknown member, unknown person, rating 0 or 6, someone else's relationship, someone else's
introduction, an illegal transition: exit 2, one clear line, no traceback, nothing changed."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from connector.core.config import Sharing
from connector.store import models as m
from connector.store.db import make_engine, session_factory
from tests import governance_world as w
from tests.conftest import run_carnet

NOW = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store made by `carnet init`, filled with Globex: Ana, Bob (EMEA), Cat (US)."""
    folder = tmp_path_factory.mktemp("template")
    w.write_config(folder, Sharing(default="discoverable", scope="company"))
    assert run_carnet("init", cwd=folder).returncode == 0
    engine = make_engine(f"sqlite:///{folder / 'carnet.db'}")
    with session_factory(engine)() as s:
        ana = w.member(s, "ana@us.example", "emea", "Ana")
        bob = w.member(s, "bob@us.example", "emea", "Bob")
        cat = w.member(s, "cat@us.example", "us", "Cat")
        g = w.org(s, "Globex GmbH", ("globex.de",))
        w.org(s, "Globex Holding", ("globex.com",))
        ceo = w.person(s, "ceo@globex.de", g, "Jurgen Gross", "CEO", phone="+49 1")
        zoe = w.person(s, "zoe@globex.de", g, "Zoe Ng", "CFO", reports_to=ceo, phone="+49 2")
        w.rel(s, bob, zoe, rating=4, share="shared", notes="golf on fridays", last=NOW)
        w.rel(s, cat, zoe, rating=2, share="discoverable", notes="cat's notes")
        w.rel(s, cat, ceo, rating=5, share="private", notes="private dinner")
        w.rel(s, ana, ceo, rating=1, share="private")
        s.commit()
    engine.dispose()
    return folder


@pytest.fixture
def store(template: Path, tmp_path: Path) -> Iterator[Path]:
    for name in ("config.yaml", "carnet.db"):
        shutil.copy(template / name, tmp_path / name)
    yield tmp_path


def carnet(folder: Path, *args: str) -> Any:
    return run_carnet(
        "--config", str(folder / "config.yaml"), *args, cwd=folder, env={"COLUMNS": "200"}
    )


def snapshot(folder: Path) -> dict[str, Any]:
    engine = make_engine(f"sqlite:///{folder / 'carnet.db'}")
    try:
        with session_factory(engine)() as s:
            return w.snapshot(s)
    finally:
        engine.dispose()


def refused(result: Any, message: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert result.stdout == ""


def test_who_knows_a_person_as_json_and_as_a_table(store: Path) -> None:
    result = carnet(store, "who-knows", "zoe@globex.de", "--as", "ana@us.example", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    [zoe] = doc["people"]
    by = {k["member"]["email"]: k for k in zoe["known_by"]}
    assert by["bob@us.example"]["notes"] == "golf on fridays" and zoe["phone"] == "+49 2"
    assert by["cat@us.example"]["visibility"] == "discoverable"
    assert by["cat@us.example"]["notes"] is None
    text = carnet(store, "who-knows", "globex.de", "--as", "ana@us.example")
    assert text.returncode == 0, text.stderr
    assert "Zoe Ng" in text.stdout and "Bob" in text.stdout
    # the CEO is known privately by Cat (hidden) and by Ana herself (shown as hers)
    assert "private dinner" not in text.stdout and "Jurgen Gross" in text.stdout
    assert snapshot(store)["audit_events"] == 2  # each answer that showed others' relationships


def test_who_knows_refusals(store: Path) -> None:
    before = snapshot(store)
    refused(carnet(store, "who-knows", "zoe@globex.de", "--as", "eve@us.example"), "no member")
    refused(
        carnet(store, "who-knows", "who@globex.de", "--as", "ana@us.example"),
        "no person with email who@globex.de",
    )
    refused(
        carnet(store, "who-knows", "globex", "--as", "ana@us.example"),
        "matches several orgs: Globex GmbH (globex.de); Globex Holding (globex.com)",
    )
    assert snapshot(store) == before


def test_rate_changes_only_the_callers_own_relationship(store: Path) -> None:
    before = snapshot(store)
    ok = carnet(store, "rate", "zoe@globex.de", "5", "--as", "ana@us.example", "--share", "shared")
    assert ok.returncode == 0, ok.stderr
    assert "created and rated your relationship with Zoe Ng: 5, shared" in ok.stdout
    after = snapshot(store)
    # Bob's and Cat's relationships with Zoe are untouched; Ana has a new one of her own
    assert set(before["relationships"]) < set(after["relationships"])
    [new] = set(after["relationships"]) - set(before["relationships"])
    assert new[1:] == (1, 2, 5, "shared", False)  # (id, member Ana, person Zoe, ...)
    # there is no way to name someone else's relationship
    other = carnet(
        store, "rate", "zoe@globex.de", "1", "--as", "ana@us.example", "--member", "bob@us.example"
    )
    assert (
        other.returncode == 2
        and "No such option" in other.stderr
        and "Traceback" not in other.stderr
    )
    assert snapshot(store) == after


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("zoe@globex.de", "0", "--as", "ana@us.example"),
            "rating must be a whole number from 1 to 5, got 0",
        ),
        (
            ("zoe@globex.de", "6", "--as", "ana@us.example"),
            "rating must be a whole number from 1 to 5, got 6",
        ),
        (("zoe@globex.de", "3", "--as", "eve@us.example"), "--as eve@us.example: no member"),
        (
            ("nobody@globex.de", "3", "--as", "ana@us.example"),
            "no person with email nobody@globex.de",
        ),
    ],
)
def test_rate_refusals_change_nothing(store: Path, args: tuple[str, ...], message: str) -> None:
    before = snapshot(store)
    refused(carnet(store, "rate", *args), message)
    assert snapshot(store) == before


def test_the_introduction_lifecycle_and_its_refusals(store: Path) -> None:
    asked = carnet(
        store, "intro", "request", "zoe@globex.de", "--as", "ana@us.example", "--reason", "renewal"
    )
    assert asked.returncode == 0, asked.stderr
    assert "introduction #1 to Zoe Ng requested from Bob <bob@us.example>" in asked.stdout
    before = snapshot(store)
    refused(
        carnet(store, "intro", "approve", "1", "--as", "cat@us.example"),
        "no introduction #1 of yours",
    )
    refused(
        carnet(store, "intro", "approve", "1", "--as", "ana@us.example"),
        "only the broker of introduction #1",
    )
    refused(
        carnet(store, "intro", "made", "1", "--as", "bob@us.example"),
        "introduction #1 is requested: it cannot become made",
    )
    assert snapshot(store) == before
    ok = carnet(store, "intro", "approve", "1", "--as", "bob@us.example", "--reason", "glad to")
    assert ok.returncode == 0 and "introduction #1 is now approved" in ok.stdout
    refused(
        carnet(store, "intro", "decline", "1", "--as", "bob@us.example"),
        "is approved: it cannot become declined",
    )
    assert carnet(store, "intro", "made", "1", "--as", "bob@us.example").returncode == 0
    listed = carnet(store, "intro", "list", "--as", "ana@us.example", "--json")
    doc = json.loads(listed.stdout)
    assert [(i["id"], i["status"], i["response"]) for i in doc["requested"]] == [
        (1, "made", "glad to")
    ]


def test_audit_as_a_member_and_as_the_admin(store: Path) -> None:
    assert carnet(store, "who-knows", "zoe@globex.de", "--as", "ana@us.example").returncode == 0
    assert carnet(store, "rate", "ceo@globex.de", "2", "--as", "cat@us.example").returncode == 0
    bob = json.loads(carnet(store, "audit", "--as", "bob@us.example", "--json").stdout)
    assert [e["action"] for e in bob["events"]] == ["relationship.shown"]
    assert bob["events"][0]["actor"]["email"] == "ana@us.example"
    admin = carnet(store, "audit", "--json")
    doc = json.loads(admin.stdout)
    assert [e["action"] for e in doc["events"]] == ["relationship.changed", "relationship.shown"]
    assert doc["events"][0]["details"] == {"withheld": "concerns a relationship you may not see"}
    assert "private dinner" not in admin.stdout and "cat@us.example" not in json.dumps(
        doc["events"][0]
    )
    assert carnet(store, "audit").returncode == 0
    refused(carnet(store, "audit", "--as", "eve@us.example"), "no member")


def test_the_store_after_refusals_still_holds_the_private_relationships(store: Path) -> None:
    """Sanity: the hidden relationships the refusals were about are really there."""
    engine = make_engine(f"sqlite:///{store / 'carnet.db'}")
    with session_factory(engine)() as s:
        private = s.scalars(
            select(m.Relationship).where(m.Relationship.shareability == "private")
        ).all()
    engine.dispose()
    assert len(private) == 2
