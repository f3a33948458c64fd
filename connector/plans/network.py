"""`carnet network`: network quality per account (coverage by level, key stakeholders known well,
single-threaded risk, countries where we know nobody) and per member (size, strength, sharing).

Every figure counts only the relationships the reader may see (the one visibility rule): a private
relationship counts in its holder's own report and in no figure anyone else can read. Without a
reader the report is the company-wide (CRM audience) view.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.core.config import Sharing
from connector.core.errors import UsageError
from connector.governance.credits import earned_by_member
from connector.governance.reach import live_person, people_in
from connector.governance.viewers import CRM_AUDIENCE, Viewer
from connector.governance.visibility import VisibleRel, visible_relationships
from connector.governance.whoknows import resolve_org
from connector.plans.plan import STRONG, PersonRow, coverage, is_key, known_by_person
from connector.store.models import Intro, Member, Org, Person, Relationship
from connector.store.models_plans import AccountPlan, Stakeholder


def network_report(
    session: Session,
    sharing: Sharing,
    reader: Member | None = None,
    org_query: str | None = None,
    member_email: str | None = None,
) -> dict[str, Any]:
    """The accounts (one with --org, else every account with people) and the members (one with
    --member, else every active member), as `reader` (None: company-wide) may see them."""
    viewer: Viewer = reader or CRM_AUDIENCE
    orgs: list[Org] = []
    members: list[Member] = []
    everything: list[VisibleRel] | None = None
    if org_query is not None:
        orgs = [resolve_org(session, org_query)]
    if member_email is not None:
        members = [_member(session, member_email)]
    if org_query is None and member_email is None:
        orgs = list(session.scalars(_orgs_with_people()))
        members = list(session.scalars(select(Member).where(Member.active).order_by(Member.email)))
        everything = visible_relationships(session, viewer, sharing)  # read once, used twice
    return {
        "reader": reader.email if reader else "company-wide (CRM audience)",
        "accounts": accounts_report(session, viewer, sharing, orgs, everything) if orgs else [],
        "members": (
            members_report(session, viewer, sharing, members, everything) if members else []
        ),
    }


def _member(session: Session, email: str) -> Member:
    wanted = email.strip().lower()
    m = session.scalar(select(Member).where(func.lower(Member.email) == wanted))
    if m is None:
        raise UsageError(f"--member {email}: no member with that email")
    return m


def stances_of(session: Session, org_ids: list[int]) -> dict[int, str]:
    """person id -> stance, from the plans of these accounts (of their own people only)."""
    return {
        pid: stance
        for pid, stance in session.execute(
            select(Stakeholder.person_id, Stakeholder.stance)
            .join(AccountPlan)
            .join(Person, Person.id == Stakeholder.person_id)  # the plan of the person's org
            .where(AccountPlan.org_id.in_(org_ids), Person.org_id == AccountPlan.org_id)
        )
    }


def _orgs_with_people() -> Any:
    has_people = select(Person.org_id).where(Person.org_id.is_not(None), *live_person())
    return (
        select(Org)
        .where(Org.id.in_(has_people), Org.deleted_at.is_(None), Org.merged_into_id.is_(None))
        .order_by(Org.name, Org.id)
    )


# -- per account ---------------------------------------------------------------------------------


def accounts_report(
    session: Session,
    viewer: Viewer,
    sharing: Sharing,
    orgs: list[Org],
    rels: list[VisibleRel] | None = None,
) -> list[dict[str, Any]]:
    org_ids = [o.id for o in orgs]
    people: dict[int, list[PersonRow]] = defaultdict(list)
    q = people_in(
        org_ids,
        Person.org_id,
        Person.id,
        Person.name,
        Person.title,
        Person.level,
        Person.country,
        Person.reports_to_id,
    )
    for r in session.execute(q.order_by(Person.id)):
        people[int(r.org_id or 0)].append(
            PersonRow(r.id, r.name, r.title, r.level, r.country, r.reports_to_id)
        )
    stances = stances_of(session, org_ids)
    if rels is None:
        rels = visible_relationships(session, viewer, sharing, people_in(org_ids, Person.id))
    by_person = known_by_person(rels)
    return [_account(o, people[o.id], stances, by_person) for o in orgs]


def _account(
    org: Org,
    people: list[PersonRow],
    stances: dict[int, str],
    by_person: dict[int, list[VisibleRel]],
) -> dict[str, Any]:
    rows = []
    for p in people:
        rels = by_person.get(p.id, [])
        key = is_key(p.level, stances.get(p.id, "unknown"))
        rows.append(
            {
                "id": p.id,
                "name": p.name,
                "level": p.level,
                "country": p.country,
                "key": key,
                "known": len({v.member_id for v in rels}),
                "known_by": rels,
                "strength": max((v.strength or 0 for v in rels), default=0) or None,
                "single_threaded": key and len({v.member_id for v in rels}) == 1,
            }
        )
    cov = coverage(rows)
    return {
        "org": {"id": org.id, "name": org.name},
        "people": cov["people"],
        "known": cov["known"],
        "by_level": cov["by_level"],
        "key": cov["key"],
        "key_known": cov["key_known"],
        "key_known_strong": cov["key_known_strong"],
        "key_strong_share": cov["key_strong_share"],
        "strong_at": STRONG,
        "single_threaded": [
            {"id": r["id"], "name": r["name"]} for r in rows if r["single_threaded"]
        ],
        "countries_unknown": [
            c["country"] for c in cov["by_country"] if c["country"] and c["known"] == 0
        ],
    }


# -- per member ----------------------------------------------------------------------------------


def members_report(
    session: Session,
    viewer: Viewer,
    sharing: Sharing,
    members: list[Member],
    seen: list[VisibleRel] | None = None,
) -> list[dict[str, Any]]:
    wanted = {m.id for m in members}
    if seen is None:
        person_ids = select(Relationship.person_id).where(Relationship.member_id.in_(wanted))
        seen = visible_relationships(session, viewer, sharing, person_ids)
    rels: dict[int, list[VisibleRel]] = defaultdict(list)
    for v in seen:
        if v.member_id in wanted:
            rels[v.member_id].append(v)
    brokered: dict[int, int] = {
        mid: n
        for mid, n in session.execute(
            select(Intro.broker_id, func.count())
            .where(Intro.broker_id.in_(wanted), Intro.status == "made")
            .group_by(Intro.broker_id)
        )
    }
    credits = earned_by_member(session)
    reader_id = getattr(viewer, "id", None)
    return [
        _member_figures(m, rels[m.id], brokered.get(m.id, 0), credits.get(m.id, {}), reader_id)
        for m in members
    ]


def _member_figures(
    m: Member,
    rels: list[VisibleRel],
    brokered: int,
    credits: dict[str, dict[str, float]],
    reader_id: int | None,
) -> dict[str, Any]:
    strength = {str(n): 0 for n in range(1, 6)} | {"none": 0}
    shares = {"shared": 0, "discoverable": 0}
    own = reader_id == m.id
    if own:
        shares["private"] = 0  # only the holder's own report may count their private ones
    for v in rels:
        strength[str(v.strength) if v.strength else "none"] += 1
        shares[v.shareability] = shares.get(v.shareability, 0) + 1
    size = len(rels)
    return {
        "member": {"name": m.name, "email": m.email, "team": m.team},
        "own_report": own,
        "network_size": size,
        "strength": strength,
        "strong": sum(1 for v in rels if (v.strength or 0) >= STRONG),
        "shareability": shares,
        "shared_share": round(shares["shared"] / size, 3) if size else None,
        "intros_brokered": brokered,
        "credits_earned": credits.get("earned", {}),
        "credits_pending": credits.get("pending", {}),
    }
