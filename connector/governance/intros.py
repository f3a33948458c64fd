"""Introductions: a rep asks, the colleague who holds the relationship (the broker) grants or not.

States only go forward (requested -> approved | declined | cancelled; approved -> made | cancelled)
and every transition is an audit_event; routing sees only what the requester may see.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased

from connector.core.config import Sharing
from connector.core.errors import UsageError
from connector.governance.audit import record
from connector.governance.relationships import require_person
from connector.governance.visibility import VisibleRel, visible_relationships
from connector.store.models import Intro, Member, Org, Person, Relationship, utcnow

OPEN = ("requested", "approved")
# action -> (who may do it, the states it leaves from, the state it leads to)
TRANSITIONS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "approve": ("broker", ("requested",), "approved"),
    "decline": ("broker", ("requested",), "declined"),
    "made": ("broker", ("approved",), "made"),
    "cancel": ("requester", OPEN, "cancelled"),
}


def request(
    session: Session, requester: Member, person_email: str, reason: str, sharing: Sharing
) -> dict[str, Any]:
    """Route a request to the broker: among the colleagues' relationships the requester can see,
    an exclusive holder first, then the strongest, then the most recent."""
    if not reason.strip():
        raise UsageError("--reason must say why you want the introduction")
    person = require_person(session, person_email)
    seen = [
        v for v in visible_relationships(session, requester, sharing, [person.id]) if not v.yours
    ]
    if not seen:
        raise UsageError(f"no colleague you can see knows {person_email.strip()}")
    pool = [v for v in seen if v.exclusive] or seen
    chosen = _route(session, pool)
    existing = session.scalar(
        select(Intro).where(
            Intro.requester_id == requester.id,
            Intro.person_id == person.id,
            Intro.status.in_(OPEN),
        )
    )
    if existing is not None:
        raise UsageError(
            f"you already have introduction #{existing.id} to {person_email.strip()} "
            f"({existing.status})"
        )
    intro = Intro(
        requester_id=requester.id,
        broker_id=chosen.member_id,
        person_id=person.id,
        reason=reason.strip(),
        status="requested",
        requested_at=utcnow(),
    )
    session.add(intro)
    session.flush()
    _audit(session, intro, requester.id, None, "requested", intro.reason, chosen.id)
    return {
        "id": intro.id,
        "status": intro.status,
        "person": {"name": person.name, "email": person_email.strip().lower()},
        "broker": {"name": chosen.member_name, "email": chosen.member_email},
        "strength": chosen.strength,
        "exclusive": chosen.exclusive,
    }


def _route(session: Session, pool: list[VisibleRel]) -> VisibleRel:
    """The strongest, then the most recent interaction (Carnet's to know, never shown to the
    requester), then the oldest relationship."""
    recent = dict(
        session.execute(
            select(Relationship.id, Relationship.last_interaction_at).where(
                Relationship.id.in_([v.id for v in pool])
            )
        ).all()
    )

    def key(v: VisibleRel) -> tuple[int, float, int]:
        at = recent.get(v.id)
        return (-(v.strength or 0), -(at.timestamp() if at else 0.0), v.id)

    return min(pool, key=key)


def transition(
    session: Session, member: Member, intro_id: int, action: str, reason: str | None
) -> dict[str, Any]:
    """approve / decline / made (the broker) or cancel (the requester); anything else, or the
    wrong member, is a UsageError and nothing changes."""
    role, sources, target = TRANSITIONS[action]
    intro = session.get(Intro, intro_id)
    if intro is None or member.id not in (intro.requester_id, intro.broker_id):
        raise UsageError(f"no introduction #{intro_id} of yours")
    if (intro.broker_id if role == "broker" else intro.requester_id) != member.id:
        raise UsageError(f"only the {role} of introduction #{intro_id} can {action} it")
    if intro.status not in sources:
        raise UsageError(f"introduction #{intro_id} is {intro.status}: it cannot become {target}")
    before = intro.status
    intro.status = target
    now = utcnow()
    if target in ("approved", "declined"):
        intro.decided_at = now
    elif target == "made":
        intro.made_at = now
    if reason and role == "broker":
        intro.response = reason.strip()
    rel_id = session.scalar(
        select(Relationship.id).where(
            Relationship.member_id == intro.broker_id, Relationship.person_id == intro.person_id
        )
    )
    _audit(session, intro, member.id, before, target, reason, rel_id)
    session.flush()
    return _intro_json(session, intro)


def _audit(
    session: Session,
    intro: Intro,
    actor_id: int,
    before: str | None,
    after: str,
    reason: str | None,
    rel_id: int | None,
) -> None:
    record(
        session,
        actor_id=actor_id,
        action=f"intro.{after}",
        subject_type="intro",
        subject_id=intro.id,
        details={
            "from": before,
            "to": after,
            "reason": reason,
            "requester_id": intro.requester_id,
            "broker_id": intro.broker_id,
            "person_id": intro.person_id,
            "relationship_id": rel_id,
        },
    )


def list_intros(session: Session, member: Member) -> dict[str, Any]:
    """The member's introductions, as requester and as broker, each with both sides' reasons."""
    intros = session.scalars(
        select(Intro)
        .where(or_(Intro.requester_id == member.id, Intro.broker_id == member.id))
        .order_by(Intro.requested_at.desc(), Intro.id.desc())
    ).all()
    docs = [_intro_json(session, i) for i in intros]
    return {
        "as": member.email,
        "requested": [d for d, i in zip(docs, intros, strict=True) if i.requester_id == member.id],
        "brokering": [d for d, i in zip(docs, intros, strict=True) if i.broker_id == member.id],
    }


def _intro_json(session: Session, intro: Intro) -> dict[str, Any]:
    requester, broker = aliased(Member), aliased(Member)
    row = session.execute(
        select(requester, broker, Person, Org.name)
        .select_from(Intro)
        .join(requester, requester.id == Intro.requester_id)
        .join(broker, broker.id == Intro.broker_id)
        .join(Person, Person.id == Intro.person_id)
        .outerjoin(Org, Org.id == Person.org_id)
        .where(Intro.id == intro.id)
    ).one()
    req, brk, person, org_name = row

    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": intro.id,
        "status": intro.status,
        "person": {"name": person.name, "title": person.title, "org": org_name},
        "requester": {"name": req.name, "email": req.email},
        "broker": {"name": brk.name, "email": brk.email},
        "reason": intro.reason,
        "response": intro.response,
        "requested_at": iso(intro.requested_at),
        "decided_at": iso(intro.decided_at),
        "made_at": iso(intro.made_at),
    }
