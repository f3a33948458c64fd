"""Referral credits: derived after every sync from made introductions, accepted campaign guests
and the deals, and listed by `carnet credits`. Re-running the derivation never doubles or churns a
credit.

Rule (DESIGN.md "Introductions and referral credits"): an introduction counts once it is *made*
(approval alone brought nobody together). An opportunity owned by the requester, at the introduced
person's org or with that person in its contact roles, created in the CRM after the introduction was
made, gives the broker a credit of `credits.percent` of its amount: pending while the deal is open,
earned when won, void when lost (or deleted, or no longer
matching); a reopened deal is pending again.

Campaigns (docs/campaigns.md): an opportunity at an accepted guest's org, created in the CRM after
the nomination was accepted and not owned by the nominator, gives the nominator a credit of
`credits.campaign_percent` (default: `credits.percent`), with the same life. One credit per
(opportunity, referrer): the earliest of their made introductions and accepted nominations.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session, aliased

from connector.governance.audit import record
from connector.store.models import (
    ContactRole,
    Intro,
    Member,
    Opportunity,
    Org,
    Person,
    ReferralCredit,
    Relationship,
    utcnow,
)
from connector.store.models_campaigns import Nomination

STATUS_OF_DEAL = {"open": "pending", "won": "earned", "lost": "void"}


@dataclass
class CreditCounts:
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    voided: int = 0
    changes: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {
            "created": self.created,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "voided": self.voided,
        }


@dataclass(frozen=True)
class _Match:
    opportunity_id: int
    referrer_id: int
    intro_id: int | None
    amount: float | None
    currency: str | None
    deal_status: str
    at: datetime | None = None  # when the introduction was made / the nomination accepted
    nomination_id: int | None = None


def _matches(session: Session) -> dict[tuple[int, int], _Match]:
    """(opportunity, referrer) -> the earliest made introduction or accepted nomination that earns
    the referrer a credit (an introduction on a tie)."""
    found = _intro_matches(session)
    for key, match in _nomination_matches(session).items():
        first = found.get(key)
        if first is None or (first.at is not None and match.at is not None and match.at < first.at):
            found[key] = match
    return found


def _intro_matches(session: Session) -> dict[tuple[int, int], _Match]:
    """(opportunity, broker) -> the earliest made introduction that earns the broker a credit."""
    role = exists().where(
        ContactRole.opportunity_id == Opportunity.id, ContactRole.person_id == Intro.person_id
    )
    q = (
        select(
            Opportunity.id,
            Intro.broker_id,
            Intro.id,
            Opportunity.amount,
            Opportunity.currency,
            Opportunity.status,
            Intro.made_at,
        )
        .select_from(Intro)
        .join(Person, Person.id == Intro.person_id)
        .join(
            Opportunity,
            and_(
                Opportunity.owner_id == Intro.requester_id,
                Opportunity.deleted_at.is_(None),
                Opportunity.crm_created_at.is_not(None),
                Opportunity.crm_created_at > Intro.made_at,
                or_(Opportunity.org_id == Person.org_id, role),
            ),
        )
        .where(Intro.status == "made", Intro.made_at.is_not(None))
        .where(Intro.broker_id != Intro.requester_id)
        .order_by(Intro.made_at, Intro.id)
    )
    found: dict[tuple[int, int], _Match] = {}
    for opp_id, broker_id, intro_id, amount, currency, deal, at in session.execute(q):
        found.setdefault(
            (opp_id, broker_id), _Match(opp_id, broker_id, intro_id, amount, currency, deal, at)
        )
    return found


def _nomination_matches(session: Session) -> dict[tuple[int, int], _Match]:
    """(opportunity, nominator) -> the earliest accepted nomination of a guest at the deal's org,
    the deal created after the acceptance and owned by someone else."""
    q = (
        select(
            Opportunity.id,
            Nomination.nominator_id,
            Nomination.id,
            Opportunity.amount,
            Opportunity.currency,
            Opportunity.status,
            Nomination.decided_at,
        )
        .select_from(Nomination)
        .join(Relationship, Relationship.id == Nomination.relationship_id)
        .join(Person, Person.id == Relationship.person_id)
        .join(
            Opportunity,
            and_(
                Opportunity.org_id == Person.org_id,
                or_(
                    Opportunity.owner_id.is_(None), Opportunity.owner_id != Nomination.nominator_id
                ),
                Opportunity.deleted_at.is_(None),
                Opportunity.crm_created_at.is_not(None),
                Opportunity.crm_created_at > Nomination.decided_at,
            ),
        )
        .where(Nomination.status == "accepted", Nomination.decided_at.is_not(None))
        .order_by(Nomination.decided_at, Nomination.id)
    )
    found: dict[tuple[int, int], _Match] = {}
    for opp_id, nominator_id, nom_id, amount, currency, deal, at in session.execute(q):
        found.setdefault(
            (opp_id, nominator_id),
            _Match(opp_id, nominator_id, None, amount, currency, deal, at, nom_id),
        )
    return found


def _amount(amount: float | None, percent: float) -> float | None:
    return None if amount is None else round(amount * percent / 100.0, 2)


def derive_credits(
    session: Session,
    percent: float,
    now: datetime | None = None,
    campaign_percent: float | None = None,
) -> CreditCounts:
    """Bring referral_credit in line with the introductions, nominations and opportunities in the
    store. A new credit takes `percent` (one from a nomination `campaign_percent`, default
    `percent`); an existing one keeps the percent it was created with."""
    now = now or utcnow()
    counts = CreditCounts()
    wanted = _matches(session)
    existing = {
        (c.opportunity_id, c.referrer_id): c for c in session.scalars(select(ReferralCredit))
    }
    for key, match in wanted.items():
        credit = existing.get(key)
        if credit is None:
            share = percent
            if match.nomination_id is not None and campaign_percent is not None:
                share = campaign_percent
            credit = ReferralCredit(
                opportunity_id=match.opportunity_id,
                referrer_id=match.referrer_id,
                intro_id=match.intro_id,
                nomination_id=match.nomination_id,
                percent=share,
                amount=_amount(match.amount, share),
                currency=match.currency,
                status=STATUS_OF_DEAL[match.deal_status],
                created_at=now,
                updated_at=now,
            )
            session.add(credit)
            _link_intro(session, match)
            session.flush()
            counts.created += 1
            _audit(session, credit, "referral_credit.created", {"status": [None, credit.status]})
            continue
        _update(session, credit, match, now, counts)
    for key, credit in existing.items():
        if key not in wanted and credit.status != "void":
            changes = {"status": [credit.status, "void"], "reason": "no longer matches"}
            credit.status, credit.updated_at = "void", now
            counts.voided += 1
            _audit(session, credit, "referral_credit.changed", changes)
    session.flush()
    return counts


def _link_intro(session: Session, match: _Match) -> None:
    """Fill the introduction's linked opportunity: the first deal that credited it."""
    intro = session.get(Intro, match.intro_id) if match.intro_id is not None else None
    if intro is not None and intro.opportunity_id is None:
        intro.opportunity_id = match.opportunity_id


def _update(
    session: Session, credit: ReferralCredit, match: _Match, now: datetime, counts: CreditCounts
) -> None:
    wanted = {
        "status": STATUS_OF_DEAL[match.deal_status],
        "amount": _amount(match.amount, credit.percent),
        "currency": match.currency,
        "intro_id": match.intro_id,
        "nomination_id": match.nomination_id,
    }
    changes = {k: [getattr(credit, k), v] for k, v in wanted.items() if getattr(credit, k) != v}
    if not changes:
        counts.unchanged += 1
        return
    for k, (_, v) in changes.items():
        setattr(credit, k, v)
    credit.updated_at = now
    counts.changed += 1
    _audit(session, credit, "referral_credit.changed", changes)


def _audit(session: Session, credit: ReferralCredit, action: str, changes: dict[str, Any]) -> None:
    record(
        session,
        actor_id=None,
        action=action,
        subject_type="referral_credit",
        subject_id=credit.id,
        details={
            "opportunity_id": credit.opportunity_id,
            "referrer_id": credit.referrer_id,
            "intro_id": credit.intro_id,
            "nomination_id": credit.nomination_id,
            "changes": changes,
        },
    )


# -- listing -------------------------------------------------------------------------------------


def list_credits(session: Session, members: Collection[int] | None = None) -> dict[str, Any]:
    """Every credit with its deal, broker and requester, and totals per broker, status and currency
    (with `members`: only the credits one of them earns or whose deal one of them owns; the web's
    "mine" and "my team's"). The introduced person is not named: the credit is about the deal,
    not the relationship."""
    referrer, requester = aliased(Member), aliased(Member)
    q = (
        select(ReferralCredit, Opportunity, Org.name, referrer, requester)
        .join(Opportunity, Opportunity.id == ReferralCredit.opportunity_id)
        .outerjoin(Org, Org.id == Opportunity.org_id)
        .join(referrer, referrer.id == ReferralCredit.referrer_id)
        .outerjoin(requester, requester.id == Opportunity.owner_id)
        .order_by(ReferralCredit.created_at, ReferralCredit.id)
    )
    if members is not None:
        ids = sorted(members)
        q = q.where(or_(ReferralCredit.referrer_id.in_(ids), Opportunity.owner_id.in_(ids)))
    rows = session.execute(q).all()
    credits = [_credit_json(*row) for row in rows]
    totals: dict[tuple[str, str, str], float] = defaultdict(float)
    for c in credits:
        if c["amount"] is not None:
            key = (c["referrer"]["email"], c["status"], c["currency"] or "")
            totals[key] += c["amount"]
    return {
        "credits": credits,
        "totals": [
            {"referrer": r, "status": s, "currency": cur or None, "amount": round(a, 2)}
            for (r, s, cur), a in sorted(totals.items())
        ],
    }


def _credit_json(
    c: ReferralCredit, opp: Opportunity, org_name: str | None, ref: Member, req: Member | None
) -> dict[str, Any]:
    return {
        "id": c.id,
        "status": c.status,
        "percent": c.percent,
        "amount": c.amount,
        "currency": c.currency,
        "referrer": {"name": ref.name, "email": ref.email},
        "opportunity": {
            "id": opp.id,
            "name": opp.name,
            "org": org_name,
            "owner": {"name": req.name, "email": req.email} if req else None,
            "amount": opp.amount,
            "status": opp.status,
        },
        "intro_id": c.intro_id,
        "nomination_id": c.nomination_id,
        "created_at": c.created_at.isoformat(),
        "updated_at": c.updated_at.isoformat(),
    }


def earned_by_member(session: Session) -> dict[int, dict[str, dict[str, float]]]:
    """member id -> status -> currency -> total amount (the network report's 'credits earned')."""
    out: dict[int, dict[str, dict[str, float]]] = {}
    q = select(
        ReferralCredit.referrer_id,
        ReferralCredit.status,
        ReferralCredit.currency,
        ReferralCredit.amount,
    )
    for mid, status, currency, amount in session.execute(q):
        by_currency = out.setdefault(mid, {}).setdefault(status, {})
        key = currency or ""
        by_currency[key] = round(by_currency.get(key, 0.0) + (amount or 0.0), 2)
    return out
