"""Reading invitation campaigns: a campaign as its owner and as a rep see it, a rep's candidates,
and the list of campaigns. Every nomination shown goes through `nomination_access` (the campaign
rule in campaigns_rule.py); each time it shows the owner a relationship they could not otherwise
see, that is audited. The service functions are re-exported by campaigns.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from sqlalchemy import distinct, func, or_, select
from sqlalchemy.orm import Session

from connector.core.config import Sharing
from connector.core.errors import UsageError
from connector.core.normalise import norm_domain, org_name_key
from connector.governance.audit import record
from connector.governance.campaigns_rule import (
    DISCLOSED,
    DISCLOSING,
    Access,
    Facts,
    mismatches,
    nomination_access,
)
from connector.governance.scoring import strength
from connector.governance.visibility import effective_shareability
from connector.store.models import Member, Org, OrgDomain, Person, PersonEmail, Relationship
from connector.store.models_campaigns import Campaign, Nomination


def get_campaign(session: Session, campaign_id: int, viewer: Member) -> Campaign:
    """The campaign, if `viewer` may know of it (a draft is its owner's alone)."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or (campaign.state == "draft" and campaign.owner_id != viewer.id):
        raise UsageError(f"no campaign #{campaign_id}")
    return campaign


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def guest_count(session: Session, campaign_id: int) -> int:
    """Distinct people with an accepted nomination: the seats taken."""
    q = (
        select(func.count(distinct(Relationship.person_id)))
        .select_from(Nomination)
        .join(Relationship, Relationship.id == Nomination.relationship_id)
        .where(Nomination.campaign_id == campaign_id, Nomination.status == "accepted")
    )
    return int(session.scalar(q) or 0)


def campaign_json(session: Session, campaign: Campaign) -> dict[str, Any]:
    owner = session.get(Member, campaign.owner_id)
    assert owner is not None  # a foreign key
    return {
        "id": campaign.id,
        "name": campaign.name,
        "purpose": campaign.purpose,
        "starts_on": _iso(campaign.starts_on),
        "ends_on": _iso(campaign.ends_on),
        "capacity": campaign.capacity,
        "guests": guest_count(session, campaign.id),
        "state": campaign.state,
        "owner": {"name": owner.name, "email": owner.email},
        "criteria": dict(campaign.criteria or {}),
        "created_at": _iso(campaign.created_at),
        "opened_at": _iso(campaign.opened_at),
        "closed_at": _iso(campaign.closed_at),
        "done_at": _iso(campaign.done_at),
    }


# -- the rep's own network -----------------------------------------------------------------------


class Own(NamedTuple):
    """One of the viewer's relationships, with what the criteria look at."""

    rel: Relationship
    person: Person
    org: Org | None

    @property
    def facts(self) -> Facts:
        country = self.person.country or (self.org.country if self.org else None)
        effective = strength(self.rel.rating, self.rel.score).effective
        return Facts(self.person.org_id, self.person.level, country, effective)


def named_orgs(session: Session, names: Iterable[str]) -> set[int]:
    """The organisations the `orgs` criterion names: by name (case-insensitive) or domain."""
    names = list(names)
    keys = {org_name_key(n) for n in names}
    domains = {d for d in (norm_domain(n) for n in names) if d}
    q = select(Org.id).where(Org.name_key.in_(keys))
    ids = set(session.scalars(q))
    if domains:
        ids |= set(session.scalars(select(OrgDomain.org_id).where(OrgDomain.domain.in_(domains))))
    return ids


def own_relationships(session: Session, member: Member, person_id: int | None = None) -> list[Own]:
    """The member's relationships to live people (all of them: private, waiting, exclusive)."""
    q = (
        select(Relationship, Person, Org)
        .join(Person, Person.id == Relationship.person_id)
        .outerjoin(Org, Org.id == Person.org_id)
        .where(Relationship.member_id == member.id)
        .where(Person.deleted_at.is_(None), Person.merged_into_id.is_(None))
    )
    if person_id is not None:
        q = q.where(Relationship.person_id == person_id)
    return [Own(*row) for row in session.execute(q)]


def matching(session: Session, campaign: Campaign, own: Sequence[Own]) -> list[Own]:
    """Those of `own` the campaign's criteria accept and not nominated for it (withdrawn ones
    may be nominated again)."""
    criteria = campaign.criteria or {}
    org_ids = named_orgs(session, criteria["orgs"]) if criteria.get("orgs") else None
    taken = set(
        session.scalars(
            select(Nomination.relationship_id).where(
                Nomination.campaign_id == campaign.id, Nomination.status != "withdrawn"
            )
        )
    )
    return [o for o in own if o.rel.id not in taken and not mismatches(criteria, o.facts, org_ids)]


def primary_emails(session: Session, person_ids: Iterable[int]) -> dict[int, str]:
    q = (
        select(PersonEmail.person_id, func.min(PersonEmail.email))
        .where(PersonEmail.person_id.in_(set(person_ids)))
        .group_by(PersonEmail.person_id)
    )
    return {pid: email for pid, email in session.execute(q)}


def _person(person: Person, org: Org | None, email: str | None = None) -> dict[str, Any]:
    doc = {
        "name": person.name,
        "title": person.title,
        "org": org.name if org else None,
        "level": person.level,
        "country": person.country,
    }
    if email is not None:
        doc["email"] = email
    return doc


def candidates_json(
    session: Session, found: Sequence[Own], sharing: Sharing
) -> list[dict[str, Any]]:
    emails = primary_emails(session, [o.person.id for o in found])
    ranked = sorted(found, key=lambda o: (-(o.facts.strength or 0), o.person.name, o.rel.id))
    return [
        {
            "relationship_id": o.rel.id,
            "person": _person(o.person, o.org, emails.get(o.person.id)),
            "strength": o.facts.strength,
            "shareability": effective_shareability(o.rel.shareability, sharing),
            "exclusive": o.rel.exclusive,
        }
        for o in ranked
    ]


# -- nominations ---------------------------------------------------------------------------------


class Row(NamedTuple):
    nom: Nomination
    rel: Relationship
    holder: Member
    person: Person
    org: Org | None


def nomination_rows(
    session: Session, campaign_id: int, nomination_id: int | None = None
) -> list[Row]:
    q = (
        select(Nomination, Relationship, Member, Person, Org)
        .join(Relationship, Relationship.id == Nomination.relationship_id)
        .join(Member, Member.id == Relationship.member_id)
        .join(Person, Person.id == Relationship.person_id)
        .outerjoin(Org, Org.id == Person.org_id)
        .where(Nomination.campaign_id == campaign_id)
        .order_by(Nomination.created_at, Nomination.id)
    )
    if nomination_id is not None:
        q = q.where(Nomination.id == nomination_id)
    return [Row(*r) for r in session.execute(q)]


def access(campaign: Campaign, row: Row, viewer: Member, sharing: Sharing | None) -> Access:
    return nomination_access(campaign, row.nom, row.holder, row.rel, viewer, sharing)


def nomination_json(row: Row, seen: Access, email: str | None = None) -> dict[str, Any]:
    """A nomination as one who may see it sees it (`seen` > NONE; the caller checked)."""
    n = row.nom
    return {
        "id": n.id,
        "campaign_id": n.campaign_id,
        "status": n.status,
        "relationship_id": row.rel.id,
        "person": _person(row.person, row.org, email),
        "nominator": {"name": row.holder.name, "email": row.holder.email},
        "strength": strength(row.rel.rating, row.rel.score).effective,
        "note": n.note,
        "reason": n.reason,
        "created_at": _iso(n.created_at),
        "decided_at": _iso(n.decided_at),
        "crm_status": dict(n.crm_status or {}),
        "disclosed": seen == Access.DISCLOSED,
    }


def guest_json(rows: Sequence[Row], seen: Sequence[Access]) -> dict[str, Any]:
    """One guest (a person with accepted nominations): who nominated them only where the rule
    lets the viewer see it, else "nominated by a colleague" (`by_colleague`)."""
    first = rows[0]
    statuses: dict[str, Any] = {}
    for r in rows:
        statuses.update(r.nom.crm_status or {})
    nominators = [
        {"name": r.holder.name, "email": r.holder.email}
        for r, a in zip(rows, seen, strict=True)
        if a > Access.NONE
    ]
    return {
        "person_id": first.person.id,
        "name": first.person.name,
        "title": first.person.title,
        "org": first.org.name if first.org else None,
        "nominations": [r.nom.id for r in rows],
        "nominators": nominators,
        "by_colleague": len(nominators) < len(rows),
        "crm_status": statuses,
    }


def guests_json(rows: Sequence[Row], seen: Sequence[Access]) -> list[dict[str, Any]]:
    by_person: dict[int, list[tuple[Row, Access]]] = {}
    for r, a in zip(rows, seen, strict=True):
        if r.nom.status == "accepted":
            by_person.setdefault(r.person.id, []).append((r, a))
    docs = [
        guest_json([r for r, _ in pairs], [a for _, a in pairs]) for pairs in by_person.values()
    ]
    docs.sort(key=lambda g: (g["name"], g["person_id"]))
    return docs


def record_disclosed(
    session: Session, campaign: Campaign, viewer: Member, shown: Sequence[tuple[Row, Access]]
) -> None:
    """One audit event per answer that showed the owner nominations only the campaign rule lets
    them see (who was shown what, when: the holders read it in their audit listing)."""
    disclosed = sorted((r.nom.id, r.rel.id) for r, a in shown if a == Access.DISCLOSED)
    if not disclosed:
        return
    record(
        session,
        actor_id=viewer.id,
        action=DISCLOSED,
        subject_type="campaign",
        subject_id=campaign.id,
        details={
            "campaign_id": campaign.id,
            "nominations": [n for n, _ in disclosed],
            "relationships": [r for _, r in disclosed],
        },
    )


# -- the two views -------------------------------------------------------------------------------


def show_campaign(
    session: Session, campaign_id: int, viewer: Member, sharing: Sharing
) -> dict[str, Any]:
    """A campaign as `viewer` sees it: the nominations the campaign rule lets them see (the owner:
    every one while open; a rep: their own), the guest list (the owner's), the viewer's
    candidates (while it takes nominations) and their own nominations."""
    campaign = get_campaign(session, campaign_id, viewer)
    owner = campaign.owner_id == viewer.id
    rows = nomination_rows(session, campaign.id)
    seen = [access(campaign, r, viewer, sharing) for r in rows]
    visible = [(r, a) for r, a in zip(rows, seen, strict=True) if a > Access.NONE]
    if owner:
        record_disclosed(session, campaign, viewer, visible)
    mine = [r for r in rows if r.nom.nominator_id == viewer.id]
    emails = primary_emails(session, [r.person.id for r in mine])
    found: list[Own] = []
    if campaign.state in DISCLOSING:
        found = matching(session, campaign, own_relationships(session, viewer))
    return {
        "campaign": campaign_json(session, campaign),
        "role": "owner" if owner else "rep",
        "nominations": [nomination_json(r, a) for r, a in visible],
        "guests": guests_json(rows, seen) if owner else [],
        "candidates": candidates_json(session, found, sharing),
        "mine": [nomination_json(r, Access.SEEN, emails.get(r.person.id)) for r in mine],
    }


def list_campaigns(session: Session, viewer: Member, sharing: Sharing) -> list[dict[str, Any]]:
    """The open campaigns, the ones `viewer` owns and the ones they nominated someone to, newest
    first, each with counts: the viewer's candidates (open ones), their nominations (`mine`) and,
    for the owner, the nominations they may see and those waiting for their answer."""
    nominated = select(Nomination.campaign_id).where(
        Nomination.nominator_id == viewer.id, Nomination.status != "withdrawn"
    )
    campaigns = session.scalars(
        select(Campaign)
        .where(
            or_(
                Campaign.state == "open",
                Campaign.owner_id == viewer.id,
                (Campaign.state != "draft") & Campaign.id.in_(nominated),
            )
        )
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())
    ).all()
    own = own_relationships(session, viewer) if any(c.state == "open" for c in campaigns) else []
    return [_listed(session, c, viewer, sharing, own) for c in campaigns]


def _listed(
    session: Session, campaign: Campaign, viewer: Member, sharing: Sharing, own: Sequence[Own]
) -> dict[str, Any]:
    doc = campaign_json(session, campaign)
    owner = campaign.owner_id == viewer.id
    rows = nomination_rows(session, campaign.id)
    seen = [access(campaign, r, viewer, sharing) if owner else Access.NONE for r in rows]
    doc["role"] = "owner" if owner else "rep"
    doc["mine"] = sum(
        1 for r in rows if r.nom.nominator_id == viewer.id and r.nom.status != "withdrawn"
    )
    doc["candidates"] = len(matching(session, campaign, own)) if campaign.state == "open" else 0
    if owner:
        visible = [r for r, a in zip(rows, seen, strict=True) if a > Access.NONE]
        doc["nominations"] = len(visible)
        doc["waiting"] = sum(1 for r in visible if r.nom.status == "nominated")
    return doc
