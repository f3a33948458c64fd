"""Relationships on both backends: rating, CRM ratings, score recomputation, the read path and its
redaction, and who-knows (people, orgs, second-degree paths, org lookup)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.config import Scoring, Sharing
from connector.core.errors import RecordError, UsageError
from connector.governance.relationships import (
    apply_crm_rating,
    member_by_email,
    rate,
    rate_by_email,
)
from connector.governance.scoring import recompute_scores
from connector.governance.viewers import CRM_AUDIENCE
from connector.governance.visibility import Visibility, visible_relationships
from connector.governance.whoknows import resolve_org, who_knows
from connector.store import models as m
from tests import governance_world as w

NOW = datetime(2026, 11, 1, tzinfo=UTC)
COMPANY = Sharing(scope="company")


@pytest.fixture
def globex(session: Session) -> dict[str, Any]:
    """Ana and Bob in EMEA, Cat in the US; Globex's CEO <- CFO <- controller, plus an outsider."""
    s = session
    ana, bob, cat = (
        w.member(s, "ana@us.example", "emea", "Ana"),
        w.member(s, "bob@us.example", "emea", "Bob"),
        w.member(s, "cat@us.example", "us", "Cat"),
    )
    g = w.org(s, "Globex GmbH", ("globex.de",), "DE")
    ceo = w.person(s, "ceo@globex.de", g, "Jürgen Groß", "CEO", phone="+49 1")
    cfo = w.person(s, "cfo@globex.de", g, "Zoe Ng", "CFO", reports_to=ceo, phone="+49 2")
    ctl = w.person(s, "ctl@globex.de", g, "Rob Rep", "Controller", reports_to=cfo, phone="+49 3")
    w.rel(s, bob, ctl, rating=4, share="shared", notes="golf", last=NOW)
    w.rel(s, cat, ceo, rating=5, share="private", notes="secret dinner")
    w.rel(s, cat, cfo, score=3.4, share="discoverable", notes="met at a fair")
    s.commit()
    return {"ana": ana, "bob": bob, "cat": cat, "org": g, "ceo": ceo, "cfo": cfo, "ctl": ctl}


def test_rate_creates_then_changes_the_callers_own_relationship(
    session: Session, globex: dict[str, Any]
) -> None:
    ana, ceo = globex["ana"], globex["ceo"]
    rel, changes, created = rate(session, ana, ceo, 3, share="shared", exclusive=True)
    assert created and rel.member_id == ana.id and rel.person_id == ceo.id
    assert changes == {
        "rating": [None, 3],
        "shareability": [None, "shared"],
        "exclusive": [False, True],
    }
    rel2, changes2, created2 = rate(session, ana, ceo, 4)
    assert rel2.id == rel.id and not created2 and changes2 == {"rating": [3, 4]}
    _, nothing, _ = rate(session, ana, ceo, 4)
    assert nothing == {}
    session.commit()
    events = session.scalars(select(m.AuditEvent).order_by(m.AuditEvent.id)).all()
    assert [e.action for e in events] == ["relationship.created", "relationship.changed"]
    assert events[0].actor_id == ana.id and events[0].subject_id == str(rel.id)


@pytest.mark.parametrize("rating", [0, 6, -1])
def test_a_rating_outside_1_to_5_is_refused(
    session: Session, globex: dict[str, Any], rating: int
) -> None:
    with pytest.raises(UsageError, match="1 to 5"):
        rate_by_email(session, "ana@us.example", "ceo@globex.de", rating, None, None, COMPANY)
    assert (
        session.scalars(
            select(m.Relationship).where(m.Relationship.member_id == globex["ana"].id)
        ).all()
        == []
    )


def test_rate_by_email_refuses_unknown_people_and_bad_shares(
    session: Session, globex: dict[str, Any]
) -> None:
    with pytest.raises(UsageError, match="no member"):
        rate_by_email(session, "eve@us.example", "ceo@globex.de", 3, None, None, COMPANY)
    with pytest.raises(UsageError, match="no person"):
        rate_by_email(session, "ana@us.example", "who@nowhere.example", 3, None, None, COMPANY)
    with pytest.raises(UsageError, match="--share"):
        rate_by_email(session, "ana@us.example", "ceo@globex.de", 3, "public", None, COMPANY)
    doc = rate_by_email(session, "Ana@US.example", " CEO@globex.de", 5, None, None, COMPANY)
    assert doc["member"] == "ana@us.example" and doc["shareability"] == "discoverable"


def test_crm_rating_is_the_owners_and_a_bad_value_is_a_record_error(
    session: Session, globex: dict[str, Any]
) -> None:
    cat, cfo = globex["cat"], globex["cfo"]
    assert apply_crm_rating(session, cat.id, cfo.id, 2, "shared")
    rel = session.scalars(
        select(m.Relationship).where(
            m.Relationship.member_id == cat.id, m.Relationship.person_id == cfo.id
        )
    ).one()
    assert (rel.rating, rel.shareability) == (2, "shared")
    assert not apply_crm_rating(session, cat.id, cfo.id, 2, "shared")  # unchanged
    # a CRM change that carries no rating (nor shareability) never erases one (issue 13)
    assert not apply_crm_rating(session, cat.id, cfo.id, None, None)
    assert (rel.rating, rel.shareability) == (2, "shared")
    for bad in [(7, None), (3, "everyone")]:
        with pytest.raises(RecordError):
            apply_crm_rating(session, cat.id, cfo.id, *bad)
    ana = globex["ana"]
    assert apply_crm_rating(session, ana.id, cfo.id, 4, None)  # creates Ana's relationship
    actions = session.scalars(select(m.AuditEvent.action)).all()
    assert actions.count("relationship.created") == 1
    assert all(e.details["source"] == "crm" for e in session.scalars(select(m.AuditEvent)))


def test_recompute_scores_writes_only_what_changed(
    session: Session, globex: dict[str, Any]
) -> None:
    bob, ceo, cfo = globex["bob"], globex["ceo"], globex["cfo"]
    seen = NOW - timedelta(days=10)
    r1 = w.rel(
        session,
        bob,
        ceo,
        signals={"address_book": True, "activities": [{"at": seen.isoformat(), "kind": "call"}]},
    )
    r2 = w.rel(session, bob, cfo, signals={})
    session.commit()
    assert recompute_scores(session, Scoring(), NOW) >= 1
    session.commit()
    session.refresh(r1)
    session.refresh(r2)
    assert r1.score == pytest.approx(1 + 1.5 + 0.4 * 0.5 ** (10 / 90), abs=1e-3)
    assert r1.last_interaction_at == seen
    assert r2.score is None
    assert recompute_scores(session, Scoring(), NOW) == 0  # nothing changed since
    later = NOW + timedelta(days=90)
    assert recompute_scores(session, Scoring(), later, relationship_ids=[r1.id]) == 1
    session.refresh(r1)
    assert r1.score == pytest.approx(1 + 1.5 + 0.4 * 0.5 ** (100 / 90), abs=1e-3)


def test_the_read_path_redacts_to_the_level(session: Session, globex: dict[str, Any]) -> None:
    ana = globex["ana"]
    team = {v.member_email: v for v in visible_relationships(session, ana, Sharing())}
    assert set(team) == {"bob@us.example"}  # Cat is in another team: nothing under team scope
    assert team["bob@us.example"].notes == "golf"
    company = visible_relationships(session, ana, COMPANY)
    by_holder = {v.member_email: v for v in company}
    assert len(company) == 2 and "secret dinner" not in str(company)
    cfo = by_holder["cat@us.example"]
    assert cfo.level == Visibility.DISCOVERABLE and cfo.notes is None
    assert cfo.strength == 3 and cfo.rating is None
    crm = visible_relationships(session, CRM_AUDIENCE, Sharing(scope="team"))
    assert crm == []
    assert {v.id for v in visible_relationships(session, CRM_AUDIENCE, COMPANY)} == {
        v.id for v in company
    }


def test_who_knows_a_person(session: Session, globex: dict[str, Any]) -> None:
    ana = globex["ana"]
    doc = who_knows(session, ana, "cfo@globex.de", COMPANY)
    assert doc["kind"] == "person" and doc["person"]["name"] == "Zoe Ng"
    [group] = doc["people"]
    assert group["phone"] is None and group["emails"] == []  # discoverable only: no details
    [k] = group["known_by"]
    assert k["member"]["email"] == "cat@us.example" and k["visibility"] == "discoverable"
    assert k["notes"] is None and k["last_interaction_at"] is None
    # the CEO is known only privately: nobody, not even a hint, but a path through the CFO
    ceo = who_knows(session, ana, "ceo@globex.de", COMPANY)
    assert ceo["people"] == [] and "secret" not in str(ceo) and "Cat" in str(ceo["paths"])
    [path] = ceo["paths"]
    assert path["via"]["name"] == "Zoe Ng" and path["link"] == "direct_report"
    session.commit()
    shown = session.scalars(
        select(m.AuditEvent).where(m.AuditEvent.action == "relationship.shown")
    ).all()
    assert len(shown) == 2 and all(e.actor_id == ana.id for e in shown)


def test_who_knows_an_org_groups_strongest_first(session: Session, globex: dict[str, Any]) -> None:
    ana, bob = globex["ana"], globex["bob"]
    rate(session, ana, globex["ctl"], 2)
    doc = who_knows(session, ana, "globex.de", COMPANY)
    assert doc["kind"] == "org" and doc["known_people"] == 2
    names = [g["name"] for g in doc["people"]]
    assert names == ["Rob Rep", "Zoe Ng"]
    rob = doc["people"][0]
    assert rob["phone"] == "+49 3" and rob["emails"] == ["ctl@globex.de"]  # a FULL view
    assert [k["member"]["name"] for k in rob["known_by"]] == ["Bob", "Ana"]
    assert [k["yours"] for k in rob["known_by"]] == [False, True]
    assert [p["person"]["name"] for p in doc["paths"]] == ["Jürgen Groß"]
    # as Bob, under team scope, Cat's relationships are out of reach
    mine = who_knows(session, bob, "Globex GmbH", Sharing())
    assert [g["name"] for g in mine["people"]] == ["Rob Rep"]
    assert "Cat" not in str(mine)
    cut = who_knows(session, ana, "globex", COMPANY, limit=1)
    assert cut["known_people"] == 2 and [g["name"] for g in cut["people"]] == ["Rob Rep"]


def test_org_lookup_by_domain_name_prefix_and_contains(
    session: Session, globex: dict[str, Any]
) -> None:
    w.org(session, "Globex Holding", ("globex.com",))
    w.org(session, "Initech", ("initech.example",))
    assert resolve_org(session, "https://www.globex.de/about").name == "Globex GmbH"
    assert resolve_org(session, "GLOBEX GMBH").name == "Globex GmbH"
    assert resolve_org(session, "init").name == "Initech"
    assert resolve_org(session, "tech").name == "Initech"
    with pytest.raises(UsageError, match="several orgs") as exc:
        resolve_org(session, "globex")
    assert "globex.com" in str(exc.value) and "globex.de" in str(exc.value)
    with pytest.raises(UsageError, match="no org matches"):
        resolve_org(session, "umbrella")
    with pytest.raises(UsageError, match="no person"):
        who_knows(session, globex["ana"], "nobody@globex.de", COMPANY)


def test_an_inactive_or_unknown_member_cannot_act(session: Session, globex: dict[str, Any]) -> None:
    w.member(session, "old@us.example", "emea", active=False)
    with pytest.raises(UsageError, match="no longer active"):
        member_by_email(session, "old@us.example")
    with pytest.raises(UsageError, match="no member"):
        member_by_email(session, "nobody@us.example")
