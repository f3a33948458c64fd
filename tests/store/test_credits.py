"""Referral credits through their whole life: made introduction, deal created, won, lost, reopened,
re-derived (idempotent), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.governance.credits import derive_credits, list_credits
from connector.store import models as m
from connector.store.models_campaigns import Campaign, Nomination
from tests import governance_world as w

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _intro(
    s: Session, requester: m.Member, broker: m.Member, who: m.Person, status: str = "made"
) -> m.Intro:
    row = m.Intro(
        requester_id=requester.id,
        broker_id=broker.id,
        person_id=who.id,
        reason="deal",
        status=status,
        requested_at=T0 - timedelta(days=2),
        decided_at=T0 - timedelta(days=1),
        made_at=T0 if status == "made" else None,
    )
    s.add(row)
    s.flush()
    return row


def _opp(
    s: Session,
    owner: m.Member,
    org: m.Org | None,
    created: datetime,
    amount: float = 50_000.0,
    status: str = "open",
) -> m.Opportunity:
    row = m.Opportunity(
        name=f"Deal {created:%m%d%H}",
        org_id=org.id if org else None,
        owner_id=owner.id,
        amount=amount,
        currency="EUR",
        status=status,
        crm_created_at=created,
    )
    s.add(row)
    s.flush()
    return row


def _world(s: Session) -> tuple[m.Member, m.Member, m.Org, m.Person]:
    ann = w.member(s, "ann@us.example", "east")
    bob = w.member(s, "bob@us.example", "east")
    acme = w.org(s, "Acme", ("acme.example",))
    cfo = w.person(s, "cfo@acme.example", acme, title="CFO")
    return ann, bob, acme, cfo


def _credits(s: Session) -> list[tuple[int, int, str, float | None]]:
    rows = s.execute(
        select(
            m.ReferralCredit.opportunity_id,
            m.ReferralCredit.referrer_id,
            m.ReferralCredit.status,
            m.ReferralCredit.amount,
        ).order_by(m.ReferralCredit.id)
    ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_whole_lifecycle_lost_reopened_won(session: Session) -> None:
    ann, bob, acme, cfo = _world(session)
    intro = _intro(session, requester=ann, broker=bob, who=cfo)
    deal = _opp(session, ann, acme, T0 + timedelta(days=3))
    first = derive_credits(session, 10.0)
    assert first.created == 1 and intro.opportunity_id == deal.id
    assert _credits(session) == [(deal.id, bob.id, "pending", 5000.0)]
    for status, expected in (("lost", "void"), ("open", "pending"), ("won", "earned")):
        deal.status = status
        session.flush()
        counts = derive_credits(session, 10.0)
        assert counts.changed == 1 and counts.created == 0
        assert _credits(session) == [(deal.id, bob.id, expected, 5000.0)]
    again = derive_credits(session, 10.0)
    assert (again.created, again.changed, again.unchanged) == (0, 0, 1)
    assert session.scalar(select(func.count()).select_from(m.ReferralCredit)) == 1
    events = session.scalars(
        select(m.AuditEvent.action).where(m.AuditEvent.subject_type == "referral_credit")
    ).all()
    assert list(events) == ["referral_credit.created"] + ["referral_credit.changed"] * 3


def test_percent_kept_and_amount_follows_the_deal(session: Session) -> None:
    ann, bob, acme, cfo = _world(session)
    _intro(session, ann, bob, cfo)
    deal = _opp(session, ann, acme, T0 + timedelta(hours=1), amount=1000.0)
    derive_credits(session, 10.0)
    deal.amount = 2000.0
    session.flush()
    derive_credits(session, 25.0)  # a config change does not rewrite an existing credit's percent
    credit = session.scalars(select(m.ReferralCredit)).one()
    assert (credit.percent, credit.amount, credit.currency) == (10.0, 200.0, "EUR")


def test_what_earns_no_credit(session: Session) -> None:
    ann, bob, acme, cfo = _world(session)
    other = w.org(session, "Other", ("other.example",))
    carl = w.member(session, "carl@us.example", "east")
    _intro(session, ann, bob, cfo)
    _opp(session, ann, acme, T0 - timedelta(days=1))  # created before the intro was made
    _opp(session, carl, acme, T0 + timedelta(days=1))  # not the requester's deal
    _opp(session, ann, other, T0 + timedelta(days=1))  # another org, person not in its roles
    approved_only = w.person(session, "cto@acme.example", acme)
    _intro(session, carl, bob, approved_only, status="approved")  # approval is not enough
    _opp(session, carl, other, T0 + timedelta(days=2))
    assert derive_credits(session, 10.0).created == 0
    assert _credits(session) == []


def test_contact_role_at_another_org_counts(session: Session) -> None:
    ann, bob, _acme, cfo = _world(session)
    subsidiary = w.org(session, "Acme Sub", ("sub.acme.example",))
    _intro(session, ann, bob, cfo)
    deal = _opp(session, ann, subsidiary, T0 + timedelta(days=5), amount=300.0)
    session.add(m.ContactRole(opportunity_id=deal.id, person_id=cfo.id, role="Decision Maker"))
    session.flush()
    derive_credits(session, 10.0)
    assert _credits(session) == [(deal.id, bob.id, "pending", 30.0)]


def test_deleted_deal_voids_and_two_intros_one_credit(session: Session) -> None:
    ann, bob, acme, cfo = _world(session)
    ceo = w.person(session, "ceo@acme.example", acme, title="CEO")
    _intro(session, ann, bob, cfo)
    _intro(session, ann, bob, ceo)  # same broker, same deal: still one credit
    deal = _opp(session, ann, acme, T0 + timedelta(days=1))
    assert derive_credits(session, 10.0).created == 1
    deal.deleted_at = T0 + timedelta(days=9)
    session.flush()
    assert derive_credits(session, 10.0).voided == 1
    assert _credits(session) == [(deal.id, bob.id, "void", 5000.0)]
    assert derive_credits(session, 10.0).voided == 0


def test_list_credits_totals(session: Session) -> None:
    ann, bob, acme, cfo = _world(session)
    _intro(session, ann, bob, cfo)
    won = _opp(session, ann, acme, T0 + timedelta(days=1), amount=1000.0, status="won")
    _opp(session, ann, acme, T0 + timedelta(days=2), amount=500.0)
    derive_credits(session, 10.0)
    doc = list_credits(session)
    assert [c["status"] for c in doc["credits"]] == ["earned", "pending"]
    assert doc["credits"][0]["opportunity"]["id"] == won.id
    assert doc["credits"][0]["referrer"]["email"] == "bob@us.example"
    assert doc["totals"] == [
        {"referrer": "bob@us.example", "status": "earned", "currency": "EUR", "amount": 100.0},
        {"referrer": "bob@us.example", "status": "pending", "currency": "EUR", "amount": 50.0},
    ]
    assert "person" not in doc["credits"][0]


# -- campaign guests -----------------------------------------------------------------------------


def _guest(
    s: Session,
    nominator: m.Member,
    who: m.Person,
    owner: m.Member,
    status: str = "accepted",
    at: datetime = T0,
) -> Nomination:
    """`nominator`'s nomination of `who` for a campaign `owner` runs, decided at `at`."""
    campaign = Campaign(name="VIP box", capacity=10, owner_id=owner.id, state="closed")
    s.add(campaign)
    s.flush()
    rel = w.rel(s, nominator, who, rating=4, share="private")
    row = Nomination(
        campaign_id=campaign.id,
        relationship_id=rel.id,
        nominator_id=nominator.id,
        status=status,
        decided_at=at if status in ("accepted", "declined") else None,
    )
    s.add(row)
    s.flush()
    return row


def _credit_rows(s: Session) -> list[tuple[Any, ...]]:
    rows = s.execute(
        select(
            m.ReferralCredit.referrer_id,
            m.ReferralCredit.status,
            m.ReferralCredit.percent,
            m.ReferralCredit.amount,
            m.ReferralCredit.intro_id,
            m.ReferralCredit.nomination_id,
        ).order_by(m.ReferralCredit.id)
    ).all()
    return [tuple(r) for r in rows]


def test_an_accepted_guests_org_wins_a_deal_the_nominator_earns(session: Session) -> None:
    ann, bob, acme, cfo = _world(session)
    olga = w.member(session, "olga@us.example", "east")
    guest = _guest(session, bob, cfo, owner=olga)
    deal = _opp(session, ann, acme, T0 + timedelta(days=2), amount=1000.0, status="won")
    assert derive_credits(session, 10.0, campaign_percent=5.0).created == 1
    assert _credit_rows(session) == [(bob.id, "earned", 5.0, 50.0, None, guest.id)]
    assert list_credits(session)["credits"][0]["nomination_id"] == guest.id
    deal.status = "lost"
    session.flush()
    assert derive_credits(session, 10.0, campaign_percent=5.0).changed == 1
    assert _credit_rows(session) == [(bob.id, "void", 5.0, 50.0, None, guest.id)]


def test_what_earns_a_nominator_no_credit(session: Session) -> None:
    ann, bob, acme, cfo = _world(session)
    olga = w.member(session, "olga@us.example", "east")
    other = w.org(session, "Other", ("other.example",))
    _guest(session, bob, cfo, owner=olga)
    _opp(session, bob, acme, T0 + timedelta(days=1), status="won")  # the nominator's own deal
    _opp(session, ann, acme, T0 - timedelta(days=1), status="won")  # created before acceptance
    _opp(session, ann, other, T0 + timedelta(days=1), status="won")  # another org
    for status in ("nominated", "declined", "withdrawn"):  # never a guest, or no longer one
        _guest(session, bob, w.person(session, f"{status}@other.example", other), olga, status)
    assert derive_credits(session, 10.0).created == 0
    assert _credit_rows(session) == []


def test_a_declined_guest_voids_the_credit(session: Session) -> None:
    ann, bob, acme, cfo = _world(session)
    guest = _guest(session, bob, cfo, owner=ann)
    _opp(session, ann, acme, T0 + timedelta(days=1))
    derive_credits(session, 10.0)  # no campaign percent set: the introductions' percent
    assert _credit_rows(session) == [(bob.id, "pending", 10.0, 5000.0, None, guest.id)]
    guest.status = "declined"
    session.flush()
    assert derive_credits(session, 10.0).voided == 1


@pytest.mark.parametrize("intro_first", [True, False])
def test_an_intro_and_a_nomination_on_one_deal_give_one_credit_the_earliest(
    session: Session, intro_first: bool
) -> None:
    ann, bob, acme, cfo = _world(session)
    ceo = w.person(session, "ceo@acme.example", acme, title="CEO")
    intro = _intro(session, requester=ann, broker=bob, who=cfo)  # made at T0
    at = T0 + timedelta(hours=1) if intro_first else T0 - timedelta(hours=1)
    guest = _guest(session, bob, ceo, owner=ann, at=at)
    _opp(session, ann, acme, T0 + timedelta(days=1), amount=1000.0)
    assert derive_credits(session, 10.0, campaign_percent=5.0).created == 1
    expected = (
        (bob.id, "pending", 10.0, 100.0, intro.id, None)
        if intro_first
        else (bob.id, "pending", 5.0, 50.0, None, guest.id)
    )
    assert _credit_rows(session) == [expected]
    again = derive_credits(session, 10.0, campaign_percent=5.0)
    assert (again.created, again.changed, again.unchanged) == (0, 0, 1)
