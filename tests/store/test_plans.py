"""Account plans on a hand-made account: a four-level reports-to hierarchy, people in three
countries, one private relationship; coverage and single-threaded figures checked against values
computed by hand, for the CRM audience and for the private relationship's holder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.core.config import Sharing
from connector.core.errors import RecordError, UsageError
from connector.governance.relationships import member_by_email
from connector.plans.plan import activities_query, show_plan
from connector.plans.plan_edit import apply_crm_stakeholder, set_plan
from connector.store import models as m
from tests import governance_world as w

SHARING = Sharing(default="discoverable", scope="company")

# name: (email, level, country, manager)
PEOPLE = {
    "Clara Chef": ("clara@globex.example", "c_level", "DE", None),
    "Felix Finanz": ("felix@globex.example", "vp", "DE", "Clara Chef"),
    "Vera Vente": ("vera@globex.example", "vp", "FR", "Clara Chef"),
    "Dieter Dir": ("dieter@globex.example", "director", "DE", "Felix Finanz"),
    "Dora Dir": ("dora@globex.example", "director", "US", "Vera Vente"),
    "Max Manager": ("max@globex.example", "manager", "FR", "Dieter Dir"),
    "Mia Manager": ("mia@globex.example", "manager", "US", "Dora Dir"),
    "Sam Staff": ("sam@globex.example", "staff", "US", "Max Manager"),
    "Sue Staff": ("sue@globex.example", "staff", "FR", "Mia Manager"),
    "Ned Staff": ("ned@globex.example", "staff", "DE", "Max Manager"),
}
# (member, person, rating, shareability)
RELS = [
    ("ann", "Clara Chef", 5, "shared"),
    ("bob", "Clara Chef", 2, None),
    ("ann", "Felix Finanz", 4, None),
    ("cat", "Vera Vente", 3, "private"),
    ("dan", "Vera Vente", 2, None),
    ("bob", "Dieter Dir", 1, None),
    ("ann", "Max Manager", 3, None),
    ("dan", "Sam Staff", 4, None),
    ("bob", "Sue Staff", 3, "shared"),
]


def build_world(s: Session) -> dict[str, Any]:
    """Globex and its people; members ann, bob, cat, dan; Sue is a champion (key by stance)."""
    members = {
        n: w.member(s, f"{n}@us.example", "east" if n != "cat" else "west")
        for n in ("ann", "bob", "cat", "dan")
    }
    org = w.org(s, "Globex", ("globex.example",), country="DE")
    w.org(s, "Globex Trading", ("globex-trading.example",))
    people: dict[str, m.Person] = {}
    for name, (email, level, country, boss) in PEOPLE.items():
        p = w.person(
            s,
            email,
            org,
            name=name,
            title=f"{level.upper()} title",
            reports_to=people[boss] if boss else None,
        )
        p.level, p.country = level, country
        people[name] = p
    for holder, who, rating, share in RELS:
        w.rel(s, members[holder], people[who], rating=rating, share=share)
    set_plan(s, "globex.example", None, stance=("sue@globex.example", "champion"))
    s.flush()
    return {"members": members, "org": org, "people": people}


def add_credited_deal(
    s: Session, world: dict[str, Any], amount: float, currency: str, status: str
) -> None:
    """Bob introduces Ann to Sue Staff; a day later Ann opens a deal at Globex (then derive)."""
    ann, bob = world["members"]["ann"], world["members"]["bob"]
    t0 = datetime(2026, 5, 1, tzinfo=UTC)
    s.add(
        m.Intro(
            requester_id=ann.id,
            broker_id=bob.id,
            person_id=world["people"]["Sue Staff"].id,
            reason="r",
            status="made",
            requested_at=t0,
            made_at=t0,
        )
    )
    s.add(
        m.Opportunity(
            name="Globex renewal",
            org_id=world["org"].id,
            owner_id=ann.id,
            amount=amount,
            currency=currency,
            status=status,
            crm_created_at=t0 + timedelta(days=1),
        )
    )
    s.flush()


def _by_name(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in doc["stakeholders"]}


def test_coverage_and_risk_for_the_crm_audience(session: Session) -> None:
    build_world(session)
    doc = show_plan(session, "Globex", None, SHARING)
    cov = doc["coverage"]
    assert (cov["people"], cov["known"]) == (10, 7)
    assert [(r["level"], r["people"], r["known"]) for r in cov["by_level"]] == [
        ("c_level", 1, 1),
        ("vp", 2, 2),
        ("director", 2, 1),
        ("manager", 2, 1),
        ("staff", 3, 2),
    ]
    assert [(r["country"], r["people"], r["known"]) for r in cov["by_country"]] == [
        ("DE", 4, 3),
        ("FR", 3, 3),
        ("US", 3, 1),
    ]
    # key: Clara, Felix, Vera, Dieter, Dora (level) and Sue (champion)
    assert (cov["key"], cov["key_known"], cov["key_known_strong"]) == (6, 5, 3)
    assert cov["key_strong_share"] == 0.5
    people = _by_name(doc)
    risky = sorted(p["name"] for p in doc["stakeholders"] if p["id"] in doc["single_threaded"])
    assert risky == ["Dieter Dir", "Felix Finanz", "Sue Staff", "Vera Vente"]
    assert [k["member"]["email"] for k in people["Vera Vente"]["known_by"]] == ["dan@us.example"]
    assert "cat@us.example" not in str(doc)
    assert people["Sue Staff"]["stance"] == "champion" and people["Sue Staff"]["key"]
    assert people["Ned Staff"]["known_by"] == [] and not people["Ned Staff"]["key"]


def test_the_holder_sees_their_private_relationship_counted(session: Session) -> None:
    build_world(session)
    cat = member_by_email(session, "cat@us.example")
    doc = show_plan(session, "globex.example", cat, SHARING)
    vera = _by_name(doc)["Vera Vente"]
    assert [(k["member"]["email"], k["yours"]) for k in vera["known_by"]] == [
        ("cat@us.example", True),
        ("dan@us.example", False),
    ]
    assert not vera["single_threaded"] and vera["strength"] == 3
    assert doc["coverage"]["key_known_strong"] == 4
    ann = member_by_email(session, "ann@us.example")
    assert "cat@us.example" not in str(show_plan(session, "Globex", ann, SHARING))


def test_hierarchy_is_the_reports_to_tree(session: Session) -> None:
    world = build_world(session)
    doc = show_plan(session, "Globex", None, SHARING)
    people = _by_name(doc)
    p = world["people"]
    assert doc["roots"] == [p["Clara Chef"].id]
    assert people["Sam Staff"]["reports_to_id"] == p["Max Manager"].id
    assert people["Max Manager"]["reports_to_id"] == p["Dieter Dir"].id


def test_team_scope_hides_everything_from_the_crm_audience(session: Session) -> None:
    build_world(session)
    doc = show_plan(session, "Globex", None, Sharing(default="shared", scope="team"))
    assert doc["coverage"]["known"] == 0 and doc["single_threaded"] == []


def test_member_views_are_audited(session: Session) -> None:
    build_world(session)
    ann = member_by_email(session, "ann@us.example")
    show_plan(session, "Globex", ann, SHARING)
    event = session.scalars(
        select(m.AuditEvent).where(m.AuditEvent.action == "relationship.shown")
    ).one()
    assert event.details["command"] == "plan show" and event.actor_id == ann.id


def test_plan_set_changes_and_audits(session: Session) -> None:
    world = build_world(session)
    ann = world["members"]["ann"]
    out = set_plan(
        session,
        "Globex",
        ann,
        strategy="Land the CFO",
        stance=("felix@globex.example", "Ally"),
        influence=("felix@globex.example", 5),
        action="Met the CFO & team",
    )
    assert set(out["changes"]) == {"strategy", "stakeholders", "action"}
    doc = show_plan(session, "Globex", None, SHARING)
    felix = _by_name(doc)["Felix Finanz"]
    assert (felix["stance"], felix["influence"]) == ("ally", 5)
    assert doc["strategy"] == "Land the CFO"
    assert doc["actions"][0]["text"] == "Met the CFO & team"
    assert doc["actions"][0]["by"]["email"] == "ann@us.example"
    again = set_plan(session, "Globex", ann, strategy="Land the CFO")
    assert again["changes"] == {}
    n = session.scalar(
        select(func.count()).select_from(m.AuditEvent).where(m.AuditEvent.action == "plan.changed")
    )
    assert n == 2  # the fixture's champion, then this change; the no-op writes nothing


@pytest.mark.parametrize(
    "kwargs",
    [
        {"stance": ("felix@globex.example", "friend")},
        {"influence": ("felix@globex.example", 6)},
        {"influence": ("felix@globex.example", 0)},
        {"stance": ("nobody@globex.example", "ally")},
        {"strategy": "x", "stance": ("felix@globex.example", "frenemy")},
        {"action": "   "},
        {},
    ],
)
def test_plan_set_refuses_and_changes_nothing(session: Session, kwargs: dict[str, Any]) -> None:
    build_world(session)
    before = (show_plan(session, "Globex", None, SHARING, audit=False), _events(session))
    with pytest.raises(UsageError):
        set_plan(session, "Globex", None, **kwargs)
    assert (show_plan(session, "Globex", None, SHARING, audit=False), _events(session)) == before


def test_plan_set_person_of_another_org_and_org_lookup(session: Session) -> None:
    world = build_world(session)
    w.person(session, "x@other.example", world["org"], name="Elsewhere").org_id = None
    session.flush()
    with pytest.raises(UsageError, match="not one of Globex's people"):
        set_plan(session, "Globex", None, stance=("x@other.example", "ally"))
    with pytest.raises(UsageError, match="several orgs"):
        show_plan(session, "Glob", None, SHARING)
    with pytest.raises(UsageError, match="no org matches"):
        show_plan(session, "Initech", None, SHARING)


def _events(s: Session) -> int:
    return int(s.scalar(select(func.count()).select_from(m.AuditEvent)) or 0)


def test_crm_fields_set_stance_and_influence(session: Session) -> None:
    world = build_world(session)
    dora = world["people"]["Dora Dir"]
    assert apply_crm_stakeholder(session, dora.id, "Adversary", 4, source="salesforce")
    assert not apply_crm_stakeholder(session, dora.id, "adversary", None)
    with pytest.raises(RecordError):
        apply_crm_stakeholder(session, dora.id, "hostile", None)
    with pytest.raises(RecordError):
        apply_crm_stakeholder(session, dora.id, None, 9)
    doc = show_plan(session, "Globex", None, SHARING)
    assert (_by_name(doc)["Dora Dir"]["stance"], _by_name(doc)["Dora Dir"]["influence"]) == (
        "adversary",
        4,
    )


def _rel_of(s: Session, member: m.Member, person: m.Person) -> m.Relationship:
    return s.scalars(
        select(m.Relationship).where(
            m.Relationship.member_id == member.id, m.Relationship.person_id == person.id
        )
    ).one()


def test_crm_activities_are_actions_where_the_relationship_is_seen_in_full(
    session: Session,
) -> None:
    world = build_world(session)
    ann, bob = world["members"]["ann"], world["members"]["bob"]
    people = world["people"]
    meeting = {"at": "2026-06-02T10:00:00+00:00", "kind": "meeting", "source": "salesforce"}
    # one meeting with Clara and Sue (both relationships shared), one call on a discoverable one
    _rel_of(session, ann, people["Clara Chef"]).signals = {"activities": [{**meeting, "id": "T1"}]}
    _rel_of(session, bob, people["Sue Staff"]).signals = {"activities": [{**meeting, "id": "T1"}]}
    call = {"at": "2026-06-03T09:00:00+00:00", "kind": "call", "source": "hubspot", "id": "C9"}
    _rel_of(session, bob, people["Clara Chef"]).signals = {"activities": [call]}
    session.flush()
    set_plan(session, "Globex", ann, action="Sent the proposal")
    crm = show_plan(session, "Globex", None, SHARING)["actions"]
    assert [(a["text"], a["source"]) for a in crm] == [
        ("Sent the proposal", "cli"),
        ("meeting with Clara Chef, Sue Staff", "salesforce"),
    ]
    mine = show_plan(session, "Globex", bob, SHARING, audit=False)["actions"]
    assert ("call with Clara Chef", "hubspot") in [(a["text"], a["source"]) for a in mine]
    assert mine[1]["by"]["email"] == "bob@us.example"


@pytest.mark.parametrize("viewer", [None, "ann", "cat"])
def test_a_page_drawing_a_few_counts_every_stakeholder(
    session: Session, viewer: str | None
) -> None:
    """The web draws a large account in part: with `detail`, coverage, strength and risk are
    those of the whole plan; who knows whom is there for the picked stakeholders only, and as in
    the whole plan; the audit lists what was shown in detail (and through activities)."""
    world = build_world(session)
    me = world["members"][viewer] if viewer else None
    whole = show_plan(session, "Globex", me, SHARING, audit=False)
    picked = {world["people"][n].id for n in ("Vera Vente", "Sam Staff", "Ned Staff")}
    part = show_plan(session, "Globex", me, SHARING, detail=lambda people: picked)
    for key in ("coverage", "single_threaded", "roots", "actions"):
        assert part[key] == whole[key]
    for a, b in zip(part["stakeholders"], whole["stakeholders"], strict=True):
        assert {k: v for k, v in a.items() if k != "known_by"} == {
            k: v for k, v in b.items() if k != "known_by"
        }
        assert a["known_by"] == (b["known_by"] if a["id"] in picked else [])
        assert a["known"] == len(b["known_by"])
    if me is not None:
        event = session.scalars(
            select(m.AuditEvent).where(m.AuditEvent.action == "relationship.shown")
        ).one()
        others = {
            r.id: r.shareability
            for r in session.scalars(select(m.Relationship))
            if r.member_id != me.id
        }
        picked_rels = session.scalars(
            select(m.Relationship.id).where(
                m.Relationship.person_id.in_(picked), m.Relationship.member_id != me.id
            )
        ).all()
        shown = set(event.details["relationships"])
        assert shown <= set(others)
        visible = {k["member"]["email"] for s in part["stakeholders"] for k in s["known_by"]}
        assert "cat@us.example" not in visible or viewer == "cat"
        assert shown >= {r for r in picked_rels if others[r] != "private"}


def test_a_plan_finds_crm_activities_through_the_partial_index(session: Session) -> None:
    """The activities query repeats the partial index's predicate in the store's own SQL, so the
    planner can use ix_relationship_activities (on PostgreSQL, once sequential scans are off: on a
    table this small it would rather scan)."""
    world = build_world(session)
    ann = world["members"]["ann"]
    people = select(m.Person.id).where(m.Person.org_id == world["org"].id)
    dialect = session.get_bind().dialect
    q = activities_query(dialect.name, people, ann, SHARING, datetime.now(UTC))
    sql = str(q.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    conn = session.connection()
    if dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = " ".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {sql}"))
    else:
        plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
    assert "ix_relationship_activities" in plan
