"""The web's actions on the governance services, as the signed-in member: the same service
functions as `carnet rate` and `carnet intro ...`, with the check that the row named in a URL is
the member's own (another member's is `Forbidden`, which the caller audits and answers 403).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.config import Sharing
from connector.governance.intros import TRANSITIONS, transition
from connector.governance.relationships import rate
from connector.governance.review import publishing
from connector.governance.visibility import VisibleRel, visible_relationships
from connector.store.models import Intro, Member, Org, Person, PersonEmail, Relationship


class Forbidden(Exception):
    """The row exists, or may, but is not the signed-in member's to change."""


def my_network(session: Session, member: Member, sharing: Sharing) -> list[dict[str, Any]]:
    """The member's own relationships, read through the visibility rule: the ones waiting for
    their choice (grace period) first, the soonest published first; then the strongest."""
    rels, waiting = _mine(session, member, sharing, notes=True)
    return _rows(session, rels, waiting)


def network_view(
    session: Session, member: Member, sharing: Sharing, q: str, page: int
) -> dict[str, Any]:
    """One page of My network (see `network_page`). Without a search, the people are read only
    for the rows on the page (and notes, which it does not show, not at all)."""
    rels, waiting = _mine(session, member, sharing, notes=False)
    if q.strip():
        return network_page(_rows(session, rels, waiting), q, page)
    shown = network_page([{"rel": v, "waiting": v.id in waiting} for v in rels], "", page)
    return {**shown, "rows": _rows(session, [r["rel"] for r in shown["rows"]], waiting)}


def _mine(
    session: Session, member: Member, sharing: Sharing, notes: bool
) -> tuple[list[VisibleRel], dict[int, str]]:
    rels = visible_relationships(session, member, sharing, holder_id=member.id, notes=notes)
    waiting = publishing(session, member, sharing)
    rels.sort(key=lambda v: (v.id not in waiting, waiting.get(v.id, "")))  # stable: strength kept
    return rels, waiting


def _rows(
    session: Session, rels: list[VisibleRel], waiting: dict[int, str]
) -> list[dict[str, Any]]:
    people, emails = _people(session, [v.person_id for v in rels])
    return [
        {
            **v.to_json(),
            "person": {**people[v.person_id], "email": emails.get(v.person_id)},
            "waiting": v.id in waiting,
            "published_at": waiting.get(v.id),
        }
        for v in rels
        if v.person_id in people
    ]


def _people(session: Session, ids: list[int]) -> tuple[dict[int, dict[str, Any]], dict[int, str]]:
    """Name, title and org of each person, and the first of their emails."""
    people: dict[int, dict[str, Any]] = {}
    emails: dict[int, str] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        q = (
            select(Person.id, Person.name, Person.title, Org.name.label("org"))
            .outerjoin(Org, Org.id == Person.org_id)
            .where(Person.id.in_(chunk))
        )
        people.update({r.id: {"id": r.id, "name": r.name, "title": r.title, "org": r.org}
                       for r in session.execute(q)})  # fmt: skip
        q2 = select(PersonEmail.person_id, PersonEmail.email).where(
            PersonEmail.person_id.in_(chunk)
        )
        for pid, email in session.execute(q2.order_by(PersonEmail.email.desc())):
            emails[pid] = email
    return people, emails


PER_PAGE = 50  # relationships on one page of My network


def network_page(rows: list[dict[str, Any]], q: str, page: int) -> dict[str, Any]:
    """One page of My network: the rows whose person (name, title, org or email) holds `q`,
    PER_PAGE at a time; `page` counts from 1 and is brought into range."""
    needle = q.strip().casefold()
    if needle:
        rows = [r for r in rows if needle in _haystack(r["person"])]
    pages = max(1, -(-len(rows) // PER_PAGE))
    page = min(max(page, 1), pages)
    return {
        "rows": rows[(page - 1) * PER_PAGE : page * PER_PAGE],
        "matching": len(rows),
        "waiting": sum(r["waiting"] for r in rows),
        "page": page,
        "pages": pages,
    }


def _haystack(person: dict[str, Any]) -> str:
    return " ".join(str(person.get(k) or "") for k in ("name", "title", "org", "email")).casefold()


def rate_mine(
    session: Session,
    member: Member,
    relationship_id: int,
    rating: int,
    share: str | None,
    exclusive: bool | None,
    sharing: Sharing,
) -> dict[str, Any]:
    """`carnet rate` on the row of My network: the relationship must be the member's own."""
    rel = session.get(Relationship, relationship_id)
    if rel is None or rel.member_id != member.id:
        raise Forbidden(f"relationship #{relationship_id} is not yours")
    person = session.get(Person, rel.person_id)
    assert person is not None
    rel, changes, _ = rate(session, member, person, rating, share, exclusive, source="web")
    return {"relationship_id": rel.id, "person": person.name, "changes": changes}


def act_on_intro(
    session: Session, member: Member, intro_id: int, action: str, reason: str | None
) -> dict[str, Any]:
    """approve / decline / made (its broker) or cancel (its requester), as `carnet intro`."""
    if action not in TRANSITIONS:
        raise Forbidden(f"no action {action!r} on an introduction")
    role = TRANSITIONS[action][0]
    intro = session.get(Intro, intro_id)
    party = None if intro is None else (intro.broker_id if role == "broker" else intro.requester_id)
    if party != member.id:
        raise Forbidden(f"introduction #{intro_id} is not yours to {action}")
    return transition(session, member, intro_id, action, reason)


def person_query(session: Session, person_id: int) -> str | None:
    """What Who knows is asked for a person a CRM record links to (`/people/{id}`): their email,
    else their organisation's name; the survivor's when they were merged; None when gone."""
    person = session.get(Person, person_id)
    for _ in range(10):  # a merge chain ends; a loop in one must not hang the page
        if person is None or person.merged_into_id is None:
            break
        person = session.get(Person, person.merged_into_id)
    if person is None or person.deleted_at is not None:
        return None
    email = session.scalar(
        select(PersonEmail.email)
        .where(PersonEmail.person_id == person.id)
        .order_by(PersonEmail.email)
    )
    if email is not None:
        return email
    org = session.get(Org, person.org_id) if person.org_id is not None else None
    return org.name if org is not None else None
