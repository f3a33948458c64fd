"""`carnet review --as EMAIL`: the holder's relationships waiting for their choice (the grace
period of docs/governance.md): each with when the default shareability takes over if they say
nothing. Choosing (`carnet rate PERSON N --share S`, or the holder's own CRM edit) ends the wait.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.core.config import Sharing
from connector.governance.scoring import strength
from connector.governance.viewers import grace_cutoff
from connector.governance.visibility import publish_at, waiting_sql
from connector.store.models import Member, Org, Person, PersonEmail, Relationship


def waiting_for(
    session: Session, member: Member, sharing: Sharing, now: datetime | None = None
) -> dict[str, Any]:
    """The member's relationships in their grace period, the soonest published first."""
    now = now or datetime.now(UTC)
    cutoff = grace_cutoff(sharing, now)
    rows = [] if cutoff is None else _rows(session, member.id, cutoff)
    return {
        "member": member.email,
        "grace_days": sharing.grace_days,
        "default": sharing.default,
        "waiting": [_entry(row, sharing) for row in rows],
    }


def publishing(
    session: Session, member: Member, sharing: Sharing, now: datetime | None = None
) -> dict[int, str]:
    """`waiting_for` in brief: relationship id -> when it is published, the soonest first."""
    cutoff = grace_cutoff(sharing, now or datetime.now(UTC))
    if cutoff is None:
        return {}
    q = _waiting(select(Relationship.id, Relationship.discovered_at), member.id, cutoff)
    return {rid: publish_at(at, sharing).isoformat() for rid, at in session.connection().execute(q)}


def _waiting(q: Any, member_id: int, cutoff: datetime) -> Any:
    return (
        q.join(Person, Person.id == Relationship.person_id)
        .where(
            Relationship.member_id == member_id,
            waiting_sql(Relationship, cutoff),
            Person.deleted_at.is_(None),
            Person.merged_into_id.is_(None),
        )
        .order_by(Relationship.discovered_at, Relationship.id)
    )


def _rows(session: Session, member_id: int, cutoff: datetime) -> list[Any]:
    email = (
        select(func.min(PersonEmail.email))
        .where(PersonEmail.person_id == Person.id)
        .scalar_subquery()
    )
    q = select(Relationship, Person.name, Person.title, Org.name, email)
    q = _waiting(q, member_id, cutoff).outerjoin(Org, Org.id == Person.org_id)
    return list(session.execute(q).all())


def _entry(row: Any, sharing: Sharing) -> dict[str, Any]:
    rel, name, title, org, email = row
    s = strength(rel.rating, rel.score)
    return {
        "relationship_id": rel.id,
        "person": {"name": name, "email": email, "title": title, "org": org},
        "strength": s.effective,
        "rating": rel.rating,
        "score": s.score,
        "shareability": rel.shareability or sharing.default,
        "exclusive": rel.exclusive,
        "discovered_at": rel.discovered_at.isoformat(),
        "published_at": publish_at(rel.discovered_at, sharing).isoformat(),
    }
