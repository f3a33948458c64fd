"""Relationships: looking members and people up, and the holder's own changes (rating,
shareability, exclusive), each audited. What others may see of them is `visibility`'s rule.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.core.config import Sharing
from connector.core.errors import RecordError, UsageError
from connector.governance.audit import record
from connector.governance.scoring import strength
from connector.governance.visibility import effective_shareability
from connector.store.models import SHAREABILITY, Member, Person, PersonEmail, Relationship, utcnow

# -- looking people up ---------------------------------------------------------------------------


def member_by_email(session: Session, email: str) -> Member:
    """The active member acting (`--as`); a UsageError when there is none."""
    wanted = email.strip().lower()
    member = session.scalar(select(Member).where(Member.email == wanted))
    if member is None:
        member = session.scalar(select(Member).where(func.lower(Member.email) == wanted))
    if member is None:
        raise UsageError(f"--as {email}: no member with that email")
    if not member.active:
        raise UsageError(f"--as {email}: that member is no longer active")
    return member


def person_by_email(session: Session, email: str) -> Person | None:
    """The live person with that email (following merges), or None."""
    row = session.get(PersonEmail, email.strip().lower())
    person = row.person if row else None
    seen: set[int] = set()
    while person is not None and person.merged_into_id is not None and person.id not in seen:
        seen.add(person.id)
        person = session.get(Person, person.merged_into_id)
    if person is None or person.deleted_at is not None:
        return None
    return person


def require_person(session: Session, email: str) -> Person:
    person = person_by_email(session, email)
    if person is None:
        raise UsageError(f"no person with email {email.strip()} in the store")
    return person


# -- changing relationships ----------------------------------------------------------------------


def get_or_create(session: Session, member_id: int, person_id: int) -> tuple[Relationship, bool]:
    rel = session.scalar(
        select(Relationship).where(
            Relationship.member_id == member_id, Relationship.person_id == person_id
        )
    )
    if rel is not None:
        return rel, False
    rel = Relationship(member_id=member_id, person_id=person_id, signals={})
    session.add(rel)
    session.flush()
    return rel, True


def set_fields(rel: Relationship, **wanted: Any) -> dict[str, list[Any]]:
    """Set the given fields; return {field: [old, new]} for those that changed."""
    changes: dict[str, list[Any]] = {}
    for name, value in wanted.items():
        old = getattr(rel, name)
        if old != value:
            setattr(rel, name, value)
            changes[name] = [old, value]
    return changes


def check_rating(rating: int) -> None:
    if not 1 <= rating <= 5:
        raise UsageError(f"rating must be a whole number from 1 to 5, got {rating}")


def check_share(share: str) -> None:
    if share not in SHAREABILITY:
        raise UsageError(f"--share must be one of {', '.join(SHAREABILITY)}, got {share!r}")


def rate(
    session: Session,
    member: Member,
    person: Person,
    rating: int,
    share: str | None = None,
    exclusive: bool | None = None,
    source: str = "cli",
) -> tuple[Relationship, dict[str, list[Any]], bool]:
    """The member rates their own relationship with the person (created when there is none: the
    rep knows the person though no signal said so). Returns (relationship, changes, created);
    `source` (cli, web) is what the audit names as the origin."""
    check_rating(rating)
    if share is not None:
        check_share(share)
    rel, created = get_or_create(session, member.id, person.id)
    wanted: dict[str, Any] = {"rating": rating}
    if share is not None:
        wanted["shareability"] = share
    if exclusive is not None:
        wanted["exclusive"] = exclusive
    changes = set_fields(rel, **wanted)
    chose = share is not None and choose(rel)
    _audit_change(session, member.id, rel, changes, created, source=source, chose=chose)
    return rel, changes, created


def choose(rel: Relationship) -> bool:
    """The holder chose the relationship's shareability: its grace period (if any) is over.
    True the first time (the audit records it)."""
    if rel.chosen_at is not None:
        return False
    rel.chosen_at = utcnow()
    return True


def check_crm_values(rating: Any, shareability: Any, record_id: str) -> None:
    """A RecordError (skip the record, go on) for a rating or shareability Carnet cannot take."""
    if rating is not None and not (isinstance(rating, int) and 1 <= rating <= 5):
        raise RecordError(f"rating must be 1 to 5, got {rating!r}", record_id=record_id)
    if shareability is not None and shareability not in SHAREABILITY:
        raise RecordError(f"unknown shareability {shareability!r}", record_id=record_id)


def apply_crm_rating(
    session: Session,
    holder_id: int,
    person_id: int,
    rating: int | None,
    shareability: str | None,
    source: str = "crm",
    origin: dict[str, Any] | None = None,
) -> bool:
    """The holder's own change made in a CRM (the CRM named the holder as its editor: see
    connector.governance.authority): their rating and shareability. A value the change does not
    carry (None) never erases one. A bad value is a RecordError. True if it changed."""
    check_crm_values(rating, shareability, str(person_id))
    if rating is None and shareability is None:
        return False
    rel, created = get_or_create(session, holder_id, person_id)
    wanted = {
        k: v for k, v in (("rating", rating), ("shareability", shareability)) if v is not None
    }
    changes = set_fields(rel, **wanted)
    chose = shareability is not None and choose(rel)
    _audit_change(session, holder_id, rel, changes, created, source, origin, chose)
    return bool(changes) or created or chose


def _audit_change(
    session: Session,
    actor_id: int,
    rel: Relationship,
    changes: dict[str, list[Any]],
    created: bool,
    source: str,
    origin: dict[str, Any] | None = None,
    chose: bool = False,
) -> None:
    """The holder's change, with where it was made; `chose`: it ended the grace period."""
    if not changes and not created and not chose:
        return
    details = {"holder_id": rel.member_id, "person_id": rel.person_id, "changes": changes}
    if chose:
        details["chose"] = True
    record(
        session,
        actor_id=actor_id,
        action="relationship.created" if created else "relationship.changed",
        subject_type="relationship",
        subject_id=rel.id,
        details=details | {"source": source} | (origin or {}),
    )


def rate_by_email(
    session: Session,
    as_email: str,
    person_email: str,
    rating: int,
    share: str | None,
    exclusive: bool | None,
    sharing: Sharing,
) -> dict[str, Any]:
    """`carnet rate`: always the caller's own relationship with the person, never anyone else's."""
    check_rating(rating)
    if share is not None:
        check_share(share)
    member = member_by_email(session, as_email)
    person = require_person(session, person_email)
    rel, changes, created = rate(session, member, person, rating, share, exclusive)
    s = strength(rel.rating, rel.score)
    return {
        "relationship_id": rel.id,
        "member": member.email,
        "person": {"name": person.name, "email": person_email.strip().lower()},
        "created": created,
        "changes": changes,
        "rating": rel.rating,
        "score": s.score,
        "disagreement": s.disagreement,
        "shareability": effective_shareability(rel.shareability, sharing),
        "exclusive": rel.exclusive,
        "chosen": rel.chosen_at is not None,
    }
