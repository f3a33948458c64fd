"""Nominations of invitation campaigns: a rep puts one relationship of their own forward (or
takes it back), the campaign's owner accepts or declines it. Every change is audited with the
relationship it concerns, so the audit listing applies the campaign rule to it (audit.py).
The service functions are re-exported by campaigns.py.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.config import Sharing
from connector.core.errors import UsageError
from connector.governance.audit import record
from connector.governance.campaigns_rule import Access, NotYours, mismatches
from connector.governance.campaigns_view import (
    Row,
    access,
    get_campaign,
    guest_count,
    guest_json,
    named_orgs,
    nomination_json,
    nomination_rows,
    own_relationships,
    primary_emails,
    record_disclosed,
)
from connector.governance.relationships import require_person
from connector.governance.visibility import visible_relationships
from connector.store.models import Member, Relationship, utcnow
from connector.store.models_campaigns import Campaign, Nomination

# -- nominations ---------------------------------------------------------------------------------

# accept / decline (the owner's) -> the statuses it leaves from
DECISIONS = {"accepted": ("nominated", "declined"), "declined": ("nominated", "accepted")}


def nominate(
    session: Session,
    campaign_id: int,
    viewer: Member,
    person_email: str,
    sharing: Sharing,
    note: str | None = None,
) -> dict[str, Any]:
    """Put one of `viewer`'s own relationships forward for an open campaign (private ones too:
    the owner alone sees it, while the campaign is open). Refused when the person does not
    match the criteria, or when a colleague the viewer can see holds them exclusively."""
    campaign = get_campaign(session, campaign_id, viewer)
    email = person_email.strip()
    if campaign.state != "open":
        raise UsageError(
            f"campaign #{campaign_id} is {campaign.state}: nominations are taken while it is open"
        )
    person = require_person(session, email)
    own = own_relationships(session, viewer, person.id)
    if not own:
        raise UsageError(
            f"you have no relationship with {email}: you nominate people from your own network"
        )
    criteria = campaign.criteria or {}
    org_ids = named_orgs(session, criteria["orgs"]) if criteria.get("orgs") else None
    failed = mismatches(criteria, own[0].facts, org_ids)
    if failed:
        raise UsageError(
            f"{email} does not match campaign #{campaign_id}'s criteria ({', '.join(failed)})"
        )
    _refuse_exclusive(session, viewer, person.id, person.name, sharing)
    nom = _put_forward(session, campaign, viewer, own[0].rel, email, note)
    row = nomination_rows(session, campaign.id, nom.id)[0]
    return nomination_json(row, Access.SEEN, primary_emails(session, [person.id]).get(person.id))


def _refuse_exclusive(
    session: Session, viewer: Member, person_id: int, person_name: str, sharing: Sharing
) -> None:
    """A colleague's exclusive relationship the viewer may see blocks the nomination; one hidden
    from the viewer does not (refusing would tell them it exists)."""
    for v in visible_relationships(session, viewer, sharing, [person_id]):
        if v.exclusive and not v.yours:
            raise UsageError(
                f"{v.member_name} handles {person_name} exclusively: ask them for an introduction"
            )


def _put_forward(
    session: Session,
    campaign: Campaign,
    viewer: Member,
    rel: Relationship,
    email: str,
    note: str | None,
) -> Nomination:
    nom = session.scalar(
        select(Nomination).where(
            Nomination.campaign_id == campaign.id, Nomination.relationship_id == rel.id
        )
    )
    if nom is not None and nom.status != "withdrawn":
        raise UsageError(
            f"you already nominated {email} for campaign #{campaign.id} "
            f"(nomination #{nom.id}, {nom.status})"
        )
    before = nom.status if nom is not None else None
    if nom is None:  # a withdrawn nomination is put forward again in place
        nom = Nomination(campaign_id=campaign.id, relationship_id=rel.id, nominator_id=viewer.id)
        session.add(nom)
    nom.status, nom.note, nom.reason = "nominated", (note or "").strip() or None, None
    nom.created_at, nom.decided_at = utcnow(), None
    session.flush()
    _audit_nomination(session, nom, viewer.id, before, None)
    return nom


def withdraw(
    session: Session, campaign_id: int, viewer: Member, person_email: str
) -> dict[str, Any]:
    """Take back the viewer's own nomination while the owner has not decided on it."""
    campaign = get_campaign(session, campaign_id, viewer)
    email = person_email.strip()
    if campaign.state not in ("open", "closed"):
        raise UsageError(
            f"campaign #{campaign_id} is {campaign.state}: "
            "nominations are withdrawn while it is open or closed"
        )
    person = require_person(session, email)
    nom = session.scalar(
        select(Nomination)
        .join(Relationship, Relationship.id == Nomination.relationship_id)
        .where(
            Nomination.campaign_id == campaign.id,
            Relationship.member_id == viewer.id,
            Relationship.person_id == person.id,
        )
    )
    if nom is None or nom.status == "withdrawn":
        raise UsageError(f"you have no nomination of {email} in campaign #{campaign_id}")
    if nom.status != "nominated":
        raise UsageError(
            f"your nomination #{nom.id} of {email} is already {nom.status}: only a nomination "
            "the owner has not decided on can be withdrawn"
        )
    nom.status = "withdrawn"
    session.flush()
    _audit_nomination(session, nom, viewer.id, "nominated", None)
    row = nomination_rows(session, campaign.id, nom.id)[0]
    return nomination_json(row, Access.SEEN, primary_emails(session, [person.id]).get(person.id))


def decide(
    session: Session,
    campaign_id: int,
    nomination_id: int,
    actor: Member,
    accept: bool,
    reason: str | None = None,
    sharing: Sharing | None = None,
) -> dict[str, Any]:
    """Accept (within capacity, in distinct people) or decline (with a reason the rep reads) a
    nomination: the owner's, while the campaign is open or closed. After close the owner decides
    only on what they still see: nominations the visibility rule shows them (`sharing`; without
    it, none of others'), and the guests (declining one takes them off the list)."""
    campaign = get_campaign(session, campaign_id, actor)
    if campaign.owner_id != actor.id:
        raise NotYours(
            f"only the owner of campaign #{campaign_id} may accept or decline nominations"
        )
    if campaign.state not in ("open", "closed"):
        raise UsageError(
            f"campaign #{campaign_id} is {campaign.state}: "
            "nominations are decided while it is open or closed"
        )
    target = "accepted" if accept else "declined"
    rows = nomination_rows(session, campaign.id, nomination_id)
    seen = access(campaign, rows[0], actor, sharing) if rows else Access.NONE
    if not rows or (seen == Access.NONE and rows[0].nom.status != "accepted"):
        raise UsageError(f"no nomination #{nomination_id} in campaign #{campaign_id}")
    row = rows[0]
    _check_decision(session, campaign, row.nom, row.rel, target, reason)
    before = row.nom.status
    row.nom.status, row.nom.decided_at = target, utcnow()
    row.nom.reason = ((reason or "").strip() or None) if target == "declined" else None
    session.flush()
    _audit_nomination(session, row.nom, actor.id, before, row.nom.reason)
    if seen == Access.NONE:  # a guest the owner sees on the guest list only
        return _as_guest(row)
    record_disclosed(session, campaign, actor, [(row, seen)])
    return nomination_json(row, seen)


def _check_decision(
    session: Session,
    campaign: Campaign,
    nom: Nomination,
    rel: Relationship,
    target: str,
    reason: str | None,
) -> None:
    if nom.status == target:
        raise UsageError(f"nomination #{nom.id} is already {target}")
    if nom.status not in DECISIONS[target]:
        raise UsageError(f"nomination #{nom.id} is {nom.status}: it cannot be {target}")
    if target == "declined" and not (reason or "").strip():
        raise UsageError("a decline needs a reason: the rep who nominated them reads it")
    if target == "accepted" and not _is_guest(session, campaign.id, rel.person_id):
        taken = guest_count(session, campaign.id)
        if taken >= campaign.capacity:
            raise UsageError(
                f"campaign #{campaign.id} is full ({taken} of {campaign.capacity} guests): "
                "decline a guest before accepting another"
            )


def _is_guest(session: Session, campaign_id: int, person_id: int) -> bool:
    q = (
        select(Nomination.id)
        .join(Relationship, Relationship.id == Nomination.relationship_id)
        .where(
            Nomination.campaign_id == campaign_id,
            Nomination.status == "accepted",
            Relationship.person_id == person_id,
        )
        .limit(1)
    )
    return session.scalar(q) is not None


def _as_guest(row: Row) -> dict[str, Any]:
    """The answer about a nomination the owner may not see: the guest, without who or how well."""
    guest = guest_json([row], [Access.NONE])
    return {
        "id": row.nom.id,
        "campaign_id": row.nom.campaign_id,
        "status": row.nom.status,
        "relationship_id": None,
        "person": {"name": guest["name"], "title": guest["title"], "org": guest["org"]},
        "nominator": None,
        "strength": None,
        "note": None,
        "reason": row.nom.reason,
        "decided_at": row.nom.decided_at.isoformat() if row.nom.decided_at else None,
        "crm_status": guest["crm_status"],
        "by_colleague": True,
    }


def _audit_nomination(
    session: Session, nom: Nomination, actor_id: int, before: str | None, reason: str | None
) -> None:
    action = "created" if nom.status == "nominated" else nom.status
    record(
        session,
        actor_id=actor_id,
        action=f"nomination.{action}",
        subject_type="nomination",
        subject_id=nom.id,
        details={
            "campaign_id": nom.campaign_id,
            "from": before,
            "to": nom.status,
            "reason": reason,
            "relationships": [nom.relationship_id],
        },
    )
