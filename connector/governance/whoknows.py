"""`carnet who-knows`: which colleagues know a person, or the people of an org, as the viewer may
see it, plus second-degree paths through the reports-to chain. Every answer is audited.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from connector.core.config import Sharing
from connector.core.errors import UsageError
from connector.core.normalise import org_name_key
from connector.governance.audit import record_shown
from connector.governance.reach import ranked_people
from connector.governance.relationships import require_person
from connector.governance.visibility import (
    Visibility,
    VisibleRel,
    visible_relationships,
)
from connector.store.models import Member, Org, OrgDomain, Person, PersonEmail

MAX_CANDIDATES = 10
DEFAULT_LIMIT = 50  # people listed in full for an org; the strongest first
_PERSON_COLS = (
    Person.id,
    Person.name,
    Person.title,
    Person.level,
    Person.phone,
    Person.reports_to_id,
)


def who_knows(
    session: Session,
    viewer: Member,
    query: str,
    sharing: Sharing,
    audit: bool = True,
    limit: int | None = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """Answer QUERY (a person's email, an org's domain or name) for `viewer`. For an org, the
    `limit` strongest-known people are listed in full (None: all of them)."""
    query = query.strip()
    if not query:
        raise UsageError("who-knows needs a person's email, an org's domain or an org's name")
    if limit is not None and limit < 1:
        raise UsageError("--limit must be 1 or more (0 on the command line: no limit)")
    if "@" in query:
        person = require_person(session, query)
        row = session.execute(select(*_PERSON_COLS).where(Person.id == person.id)).one()
        head: dict[str, Any] = {"kind": "person", "query": query, "person": _brief(row)}
        scope = _Scope([person.id], {person.id: row}, None)
    else:
        org = resolve_org(session, query)
        head = {"kind": "org", "query": query, "org": {"id": org.id, "name": org.name}}
        ids = select(Person.id).where(Person.org_id == org.id, *_live(Person))
        rows = session.connection().execute(select(*_PERSON_COLS).where(Person.id.in_(ids)))
        scope = _Scope(ids, {r.id: r for r in rows}, org.id)
    answer, shown = _answer(session, viewer, sharing, scope, limit)
    if audit:
        record_shown(session, viewer, "who-knows", query, shown)
        session.flush()
    return {**head, **answer}


def _live(model: Any) -> tuple[Any, Any]:
    return (model.deleted_at.is_(None), model.merged_into_id.is_(None))


class _Scope(NamedTuple):
    """The people of interest: their ids (a list, or a subquery so the store does the work), their
    rows by id, and the org they were found through (None for a person query)."""

    ids: Any
    people: dict[int, Any]
    org_id: int | None


def _answer(
    session: Session, viewer: Member, sharing: Sharing, scope: _Scope, limit: int | None
) -> tuple[dict[str, Any], list[VisibleRel]]:
    people = scope.people
    if limit is None or scope.org_id is None:  # everyone: one pass over the visible rows
        rels = visible_relationships(session, viewer, sharing, scope.ids) if people else []
        known = listed = list(dict.fromkeys(v.person_id for v in rels))
    else:  # the strongest `limit` people, ranked in the store, then read in full
        names = {pid: row.name for pid, row in people.items()}
        known = ranked_people(session, viewer, sharing, scope.ids, names) if people else []
        listed = known[:limit]
        rels = visible_relationships(session, viewer, sharing, listed) if listed else []
    by_person: dict[int, list[VisibleRel]] = defaultdict(list)
    for v in rels:
        by_person[v.person_id].append(v)
    unknown = set(people).difference(known)
    paths, path_rels = _paths(session, viewer, sharing, scope, unknown, by_person, limit)
    full = {v.person_id for v in rels if v.level == Visibility.FULL}
    emails = _emails(session, sorted(full))
    groups = [_group(people[pid], by_person[pid], pid in full, emails[pid]) for pid in listed]
    groups.sort(key=lambda g: (-(g["strength"] or 0), g["name"], g["id"]))
    doc = {"known_people": len(known), "people": groups, "paths": paths}
    return doc, rels + path_rels


def _group(row: Any, rels: list[VisibleRel], full: bool, emails: list[str]) -> dict[str, Any]:
    """A person with the colleagues who know them; contact details only where the viewer may
    see at least one of those relationships in full."""
    return {
        "id": row.id,
        "name": row.name,
        "title": row.title,
        "level": row.level,
        "phone": row.phone if full else None,
        "emails": emails if full else [],
        "strength": max((v.strength or 0 for v in rels), default=0) or None,
        "known_by": [v.to_json() for v in rels],
    }


def _emails(session: Session, ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    if ids:
        q = select(PersonEmail.person_id, PersonEmail.email).where(PersonEmail.person_id.in_(ids))
        for pid, email in session.connection().execute(q.order_by(PersonEmail.email)):
            out[pid].append(email)
    return out


def _paths(
    session: Session,
    viewer: Member,
    sharing: Sharing,
    scope: _Scope,
    unknown: set[int],
    by_person: dict[int, list[VisibleRel]],
    limit: int | None,
) -> tuple[list[dict[str, Any]], list[VisibleRel]]:
    """Second-degree routes to the people nobody visible knows directly: a visible relationship
    with X, where X is their manager or one of their direct reports; the strongest `limit`."""
    if not unknown:
        return [], []
    people = scope.people
    links: list[tuple[int, int, str]] = []  # (target, via, how via relates to target)
    for pid in sorted(unknown):
        if people[pid].reports_to_id is not None:
            links.append((pid, people[pid].reports_to_id, "manager"))
    for r in people.values():
        if r.reports_to_id in unknown:
            links.append((r.reports_to_id, r.id, "direct_report"))
    outside = select(*_PERSON_COLS).where(Person.reports_to_id.in_(scope.ids), *_live(Person))
    if scope.org_id is not None:  # the org's own people are in `people` already
        outside = outside.where(or_(Person.org_id.is_(None), Person.org_id != scope.org_id))
    via_rows = {r.id: r for r in session.connection().execute(outside) if r.id not in people}
    links += [(r.reports_to_id, r.id, "direct_report") for r in via_rows.values()]
    links = [link for link in links if link[0] in unknown and link[1] not in unknown]
    if not links:
        return [], []
    vias = sorted({via for _, via, _ in links if via not in by_person})
    known: dict[int, list[VisibleRel]] = defaultdict(list, by_person)
    for v in visible_relationships(session, viewer, sharing, vias) if vias else []:
        known[v.person_id].append(v)
    fetch = [i for i in vias if i not in via_rows and i not in people and known.get(i)]
    if fetch:
        q = select(*_PERSON_COLS).where(Person.id.in_(fetch), *_live(Person))
        via_rows.update({r.id: r for r in session.connection().execute(q)})
    via_rows.update(people)
    found = [
        (max(v.strength or 0 for v in known[via]), target, via, how)
        for target, via, how in links
        if via in via_rows and known.get(via)
    ]
    found.sort(key=lambda f: (-f[0], f[1], f[2]))
    shown = found[:limit] if limit else found
    paths = [
        {
            "person": _brief(people[target]),
            "via": _brief(via_rows[via]),
            "link": how,
            "known_by": [_path_rel(v) for v in known[via]],
        }
        for _, target, via, how in shown
    ]
    shown_vias = {via for _, _, via, _ in shown}
    return paths, [v for via in sorted(shown_vias) for v in known[via] if via not in by_person]


def _brief(row: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "title": row.title}


def _path_rel(v: VisibleRel) -> dict[str, Any]:
    return {
        "relationship_id": v.id,
        "member": {"name": v.member_name, "email": v.member_email, "team": v.member_team},
        "yours": v.yours,
        "visibility": v.level.name.lower(),
        "strength": v.strength,
        "exclusive": v.exclusive,
    }


# -- finding the org -----------------------------------------------------------------------------


def resolve_org(session: Session, query: str) -> Org:
    """By domain, then by name: exact, normalised (case, width, spaces), prefix, contains. Several
    matches at the first stage that finds any is an ambiguity: a UsageError listing them."""
    domain = _as_domain(query)
    if domain:
        link = session.get(OrgDomain, domain)
        org = _survivor(session, link.org) if link else None
        if org is not None:
            return org
    q = query.strip()
    low = q.lower()
    pattern = low.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    stages = (
        Org.name == q,
        Org.name_key == org_name_key(q),  # indexed; filled by ingest
        func.lower(Org.name) == low,  # orgs made elsewhere, without a name key
        func.lower(Org.name).like(pattern + "%", escape="\\"),
        func.lower(Org.name).like("%" + pattern + "%", escape="\\"),
    )
    for cond in stages:
        found = session.scalars(
            select(Org)
            .where(cond, *_live(Org))
            .order_by(Org.name, Org.id)
            .limit(MAX_CANDIDATES + 1)
        ).all()
        if len(found) == 1:
            return found[0]
        if found:
            raise UsageError(_ambiguous(session, query, found))
    raise UsageError(f"no org matches {query!r} by domain or by name")


def _as_domain(query: str) -> str | None:
    d = query.strip().lower()
    for prefix in ("https://", "http://"):
        d = d.removeprefix(prefix)
    d = d.split("/", 1)[0].removeprefix("www.")
    return d if "." in d and " " not in d else None


def _survivor(session: Session, org: Org) -> Org | None:
    seen: set[int] = set()
    while org.merged_into_id is not None and org.id not in seen:
        seen.add(org.id)
        nxt = session.get(Org, org.merged_into_id)
        if nxt is None:
            return None
        org = nxt
    return None if org.deleted_at is not None else org


def _ambiguous(session: Session, query: str, found: Sequence[Org]) -> str:
    shown = found[:MAX_CANDIDATES]
    domains: dict[int, list[str]] = defaultdict(list)
    q = select(OrgDomain.org_id, OrgDomain.domain).where(
        OrgDomain.org_id.in_([o.id for o in shown])
    )
    for org_id, d in session.execute(q.order_by(OrgDomain.domain)):
        domains[org_id].append(d)
    names = "; ".join(
        f"{o.name} ({', '.join([*domains[o.id], *([o.country] if o.country else [])]) or '-'})"
        for o in shown
    )
    more = " and more" if len(found) > MAX_CANDIDATES else ""
    return f"{query!r} matches several orgs: {names}{more}; name one by its domain or full name"
