"""Every table takes a full row and gives it back unchanged, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connector.store import models as m
from connector.store.db import session_factory
from connector.store.models_campaigns import Campaign, Nomination
from connector.store.models_plans import AccountPlan, PlanAction, Stakeholder
from connector.store.models_refresh import ChangeCount, RefreshPerson, RefreshRel
from connector.store.models_snapshot import NetworkSnapshot
from connector.store.models_web import ApiToken, SignInAttempt, WebSession

T0 = datetime(2026, 3, 1, 12, 30, 15, 123000, tzinfo=UTC)


def _graph(s: Session) -> dict[str, Any]:
    """One row in every table, linked the way real data is."""
    member = m.Member(
        email="ana@us.example",
        name="Ana Ruiz",
        team="EMEA",
        country="ES",
        title="AE",
        salesforce_user_id="005000000000001AAA",
        hubspot_owner_id="101",
        mailbox_id="u-1",
    )
    parent = m.Org(name="Globex Holding", country="US", industry="Energy")
    org = m.Org(name="Globex GmbH", country="DE", industry="Energy")
    s.add_all([member, parent, org])
    s.flush()
    org.parent_id = parent.id
    s.add(m.OrgDomain(domain="globex.de", org_id=org.id))
    boss = m.Person(
        first_name="Jürgen",
        last_name="Groß",
        name="Jürgen Groß",
        name_key="jurgen gross",
        title="Geschäftsführer",
        level="c_level",
        country="DE",
        org_id=org.id,
    )
    s.add(boss)
    s.flush()
    person = m.Person(
        first_name="Zoë",
        last_name="Ng",
        name="Zoë Ng",
        name_key="zoe ng",
        title="VP Sales",
        level="vp",
        country="DE",
        org_id=org.id,
        reports_to_id=boss.id,
        phone="+49 30 1234",
    )
    s.add(person)
    s.flush()
    s.add(m.PersonEmail(email="zoe.ng@globex.de", person_id=person.id))
    link = m.SourceLink(
        source="salesforce",
        object="Contact",
        external_id="003000000000001AAA",
        entity="person",
        entity_id=person.id,
        modstamp=T0,
        seen={"Email": "zoe.ng@globex.de"},
    )
    issue = m.IdentityIssue(
        source="hubspot",
        object="contacts",
        external_id="42",
        reason="two people named Zoë Ng",
        candidates=[person.id, boss.id],
    )
    rel = m.Relationship(
        member_id=member.id,
        person_id=person.id,
        rating=4,
        score=3.5,
        signals={"address_book": True, "activities": [{"at": T0.isoformat()}]},
        is_owner=True,
        shareability="discoverable",
        exclusive=True,
        notes="met at fair",
        last_interaction_at=T0,
    )
    opp = m.Opportunity(
        name="Globex renewal",
        org_id=org.id,
        owner_id=member.id,
        amount=125000.5,
        currency="EUR",
        stage="Negotiation/Review",
        status="open",
        close_date=date(2026, 6, 30),
        crm_created_at=T0,
    )
    s.add_all([link, issue, rel, opp])
    s.flush()
    role = m.ContactRole(
        opportunity_id=opp.id, person_id=person.id, role="Decision Maker", is_primary=True
    )
    intro = m.Intro(
        requester_id=member.id,
        broker_id=member.id,
        person_id=person.id,
        reason="renewal",
        response="happy to",
        status="approved",
        requested_at=T0,
        decided_at=T0 + timedelta(hours=1),
        opportunity_id=opp.id,
    )
    campaign = Campaign(
        name="Roland-Garros VIP box",
        purpose="quarter-finals <4 June>",
        starts_on=date(2026, 6, 4),
        ends_on=date(2026, 6, 5),
        capacity=12,
        owner_id=member.id,
        criteria={"orgs": ["globex.de"], "levels": ["vp"], "countries": ["DE"], "min_strength": 3},
        state="closed",
        opened_at=T0,
        closed_at=T0 + timedelta(days=3),
    )
    s.add_all([role, intro, campaign])
    s.flush()
    nomination = Nomination(
        campaign_id=campaign.id,
        relationship_id=rel.id,
        nominator_id=member.id,
        status="accepted",
        note="loves tennis — ünïcode",
        decided_at=T0 + timedelta(days=1),
        crm_status={"salesforce": "Attended"},
    )
    s.add(nomination)
    s.flush()
    credit = m.ReferralCredit(
        opportunity_id=opp.id,
        referrer_id=member.id,
        intro_id=intro.id,
        nomination_id=nomination.id,
        percent=10.0,
        amount=12500.05,
        currency="EUR",
        status="pending",
    )
    plan = AccountPlan(org_id=org.id, strategy="land & expand <fast>", objectives="3 champions")
    s.add_all([credit, plan])
    s.flush()
    s.add_all(
        [
            Stakeholder(
                plan_id=plan.id,
                person_id=person.id,
                stance="champion",
                influence=5,
                role="Decision Maker",
            ),
            PlanAction(
                plan_id=plan.id, text="lunch with Zoë", member_id=member.id, source="cli", at=T0
            ),
            m.AuditEvent(
                at=T0,
                actor_id=member.id,
                action="rate",
                subject_type="relationship",
                subject_id=str(rel.id),
                details={"rating": [None, 4]},
            ),
            m.SyncState(
                source="salesforce",
                object="Contact",
                cursor="2026-03-01T12:30:15.123Z",
                last_started_at=T0,
                last_finished_at=T0,
                last_counts={"pulled": 3},
                last_errors=[],
                api_usage={"used": 18, "max": 5000},
            ),
            m.Outbox(
                source="hubspot",
                object="contacts",
                external_id="42",
                field_set="relationship",
                desired={"carnet_strength": 4},
                desired_hash="a" * 64,
                status="pending",
            ),
            m.Lease(
                name="sync:salesforce",
                holder="host-1:123",
                acquired_at=T0,
                expires_at=T0 + timedelta(minutes=10),
            ),
            WebSession(
                id_hash="b" * 64,
                member_id=member.id,
                csrf_secret="c" * 64,
                roles="admin,manager",
                created_at=T0,
                expires_at=T0 + timedelta(hours=8),
            ),
            ApiToken(
                token_hash="d" * 64,
                member_id=member.id,
                label="reporting script",
                created_by_id=member.id,
                created_at=T0,
                revoked_at=T0 + timedelta(days=30),
            ),
            SignInAttempt(key_hash="e" * 64, at=T0),
            NetworkSnapshot(
                team="EMEA",
                scope="team",
                week="2026-W09",
                org_id=org.id,
                accounts=1,
                single_threaded_accounts=1,
                people=2,
                known=1,
                key=2,
                key_known=1,
                key_known_strong=1,
                single_threaded=1,
                relationships=1,
                strength={"4": 1, "none": 1},
                taken_at=T0,
            ),
            RefreshRel(source="salesforce", id=rel.id, person_id=person.id, sig="1|shared|4"),
            RefreshPerson(source="salesforce", id=person.id, org_id=org.id, sig="vp|~|~"),
            ChangeCount(name="refresh:salesforce", n=2**40),
        ]
    )
    s.flush()
    return {"member": member}


def _row(obj: Any) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in inspect(obj).mapper.column_attrs}


TABLES = sorted(
    (mapper.class_ for mapper in m.Base.registry.mappers), key=lambda c: c.__tablename__
)


@pytest.mark.parametrize("model", TABLES, ids=lambda t: t.__tablename__)
def test_every_table_round_trips(engine: Engine, model: type[m.Base]) -> None:
    factory = session_factory(engine)
    with factory() as s, s.begin():
        _graph(s)
        written = [_row(o) for o in s.scalars(select(model))]
    assert written, f"the fixture writes no {model.__tablename__} row"
    with factory() as s:
        read = [_row(o) for o in s.scalars(select(model))]
    key = lambda r: str(sorted((k, str(v)) for k, v in r.items()))  # noqa: E731
    assert sorted(read, key=key) == sorted(written, key=key)
    for row in read:
        for value in row.values():
            if isinstance(value, datetime):
                assert value.tzinfo is not None, "datetimes come back aware"


def test_datetimes_keep_the_instant(session: Session) -> None:
    _graph(session)
    session.commit()
    session.expire_all()
    lease = session.scalars(select(m.Lease)).one()
    assert lease.acquired_at == T0


@pytest.mark.parametrize(
    "bad",
    [
        lambda ids: m.Relationship(member_id=ids["member"], person_id=ids["person"], rating=6),
        lambda ids: m.Relationship(
            member_id=ids["member"], person_id=ids["person"], shareability="public"
        ),
        lambda ids: m.Relationship(member_id=ids["member"], person_id=999999),  # foreign key
        lambda ids: m.Intro(
            requester_id=ids["member"],
            broker_id=ids["member"],
            person_id=ids["person"],
            reason="x",
            status="maybe",
        ),
        lambda ids: m.Person(name="x", name_key="x", level="boss"),
    ],
    ids=["rating-6", "share-public", "fk", "intro-state", "level"],
)
def test_constraints_hold_on_both_backends(engine: Engine, bad: Any) -> None:
    factory = session_factory(engine)
    with factory() as s, s.begin():
        g = _graph(s)
        person = m.Person(name="Other", name_key="other")
        s.add(person)
        s.flush()
        ids = {"member": g["member"].id, "person": person.id}
    with factory() as s:
        s.add(bad(ids))
        with pytest.raises(IntegrityError):
            s.commit()
