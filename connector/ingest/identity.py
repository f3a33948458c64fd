"""Identity for ingest: how records from several sources become one person, org or member.

Normalisers (email, name, domain), and `Matcher`, which decides a page of records at once, against
the store and the records of the same page decided before them (DESIGN.md, "Identity").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.store.models import Member, Org, OrgDomain, Person, PersonEmail, Relationship


@dataclass
class Decision:
    """What the matcher made of one record: an existing entity id, or a new one's placeholder."""

    entity_id: int  # > 0 an existing row; < 0 a placeholder for a row this page inserts
    how: str  # the key that decided: link | email | domain | name | known | new
    ambiguous: list[int] = field(default_factory=list)  # candidates when several matched


class Matcher:
    """Finds the entity a record is, by keys tried in order (e.g. email, then (name, org)).

    The store's keys are loaded once per page (`load`); records decided earlier in the same page
    are indexed in memory, so a page decides exactly as one record at a time would."""

    def __init__(self) -> None:
        self._keys: dict[str, dict[Any, set[int]]] = defaultdict(lambda: defaultdict(set))
        self._next = -1
        self.alias: dict[int, int] = {}  # placeholder -> inserted id, once known

    def add(self, kind: str, key: Any, entity_id: int) -> None:
        if key not in (None, "", ()):
            self._keys[kind][key].add(entity_id)

    def remove(self, kind: str, key: Any, entity_id: int) -> None:
        self._keys[kind].get(key, set()).discard(entity_id)

    def find(self, kind: str, keys: Iterable[Any]) -> set[int]:
        index = self._keys[kind]
        found: set[int] = set()
        for key in keys:
            found |= index.get(key, set())
        return found

    def new_id(self) -> int:
        placeholder, self._next = self._next, self._next - 1
        return placeholder

    def claimed(self, kind: str, key: Any) -> bool:
        return bool(self._keys[kind].get(key))


def _live(session: Session, model: Any, pairs: list[tuple[int, int | None]]) -> dict[int, int]:
    """id -> the id it resolves to, following merged_into_id (given (id, merged_into_id) pairs)."""
    parent: dict[int, int | None] = dict(pairs)
    todo = {m for _, m in pairs if m is not None and m not in parent}
    while todo:
        rows = (
            session.connection()
            .execute(select(model.id, model.merged_into_id).where(model.id.in_(sorted(todo))))
            .all()
        )
        parent.update(dict(rows))
        todo = {m for _, m in rows if m is not None and m not in parent}

    def root(i: int) -> int:
        seen = {i}
        while (nxt := parent.get(i)) is not None and nxt not in seen:
            seen.add(nxt)
            i = nxt
        return i

    return {i: root(i) for i, _ in pairs}


def person_roots(session: Session, ids: Iterable[int]) -> dict[int, int]:
    """Each person id -> the person it was merged into (itself when not merged)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = (
        session.connection()
        .execute(select(Person.id, Person.merged_into_id).where(Person.id.in_(wanted)))
        .all()
    )
    return _live(session, Person, [(i, m) for i, m in rows])


def load_person_keys(session: Session, matcher: Matcher, emails: set[str], names: set[str]) -> None:
    """Index the store's people known by any of these emails or name keys (for (name, org))."""
    if emails:
        rows = (
            session.connection()
            .execute(
                select(PersonEmail.email, PersonEmail.person_id, Person.merged_into_id)
                .join(Person, Person.id == PersonEmail.person_id)
                .where(PersonEmail.email.in_(sorted(emails)))
            )
            .all()
        )
        live = _live(session, Person, [(pid, merged) for _, pid, merged in rows])
        for email, pid, _ in rows:
            matcher.add("email", email, live[pid])
    if names:
        named = (
            session.connection()
            .execute(
                select(Person.id, Person.name_key, Person.org_id).where(
                    Person.name_key.in_(sorted(names)),
                    Person.merged_into_id.is_(None),
                    Person.deleted_at.is_(None),
                    Person.org_id.is_not(None),
                )
            )
            .all()
        )
        for pid, key, org_id in named:
            matcher.add("name", (key, org_id), pid)


def load_known_keys(session: Session, matcher: Matcher, members: set[int], names: set[str]) -> None:
    """Index ("known", (name key, member)): the people of these names each member already has
    a relationship with (an address-book entry's last resort: the mailbox owner knows them)."""
    if not members or not names:
        return
    q = (
        select(Relationship.member_id, Person.name_key, Person.id)
        .join(Person, Person.id == Relationship.person_id)
        .where(
            Relationship.member_id.in_(sorted(members)),
            Person.name_key.in_(sorted(names)),
            Person.deleted_at.is_(None),
            Person.merged_into_id.is_(None),
        )
    )
    for member_id, key, pid in session.connection().execute(q).all():
        matcher.add("known", (key, member_id), pid)


def email_domains(session: Session, person_ids: Iterable[int]) -> dict[int, set[str]]:
    """The domains of each person's email addresses."""
    wanted = sorted(set(person_ids))
    out: dict[int, set[str]] = {i: set() for i in wanted}
    if wanted:
        q = select(PersonEmail.person_id, PersonEmail.email).where(
            PersonEmail.person_id.in_(wanted)
        )
        for pid, email in session.connection().execute(q).all():
            out[pid].add(email.rsplit("@", 1)[-1])
    return out


def load_org_keys(session: Session, matcher: Matcher, domains: set[str], names: set[str]) -> None:
    if domains:
        rows = (
            session.connection()
            .execute(
                select(OrgDomain.domain, OrgDomain.org_id, Org.merged_into_id)
                .join(Org, Org.id == OrgDomain.org_id)
                .where(OrgDomain.domain.in_(sorted(domains)))
            )
            .all()
        )
        live = _live(session, Org, [(oid, merged) for _, oid, merged in rows])
        for domain, oid, _ in rows:
            matcher.add("domain", domain, live[oid])
    if names:
        named = (
            session.connection()
            .execute(
                select(Org.id, Org.name_key).where(
                    Org.name_key.in_(sorted(names)),
                    Org.merged_into_id.is_(None),
                    Org.deleted_at.is_(None),
                )
            )
            .all()
        )
        for oid, key in named:
            matcher.add("name", key, oid)


def load_member_keys(session: Session, matcher: Matcher, emails: set[str]) -> None:
    if emails:
        for mid, email in (
            session.connection()
            .execute(select(Member.id, Member.email).where(Member.email.in_(sorted(emails))))
            .all()
        ):
            matcher.add("email", email, mid)


def decide(
    matcher: Matcher,
    linked: int | None,
    keys: list[tuple[str, Sequence[Any]]],
    reject: Callable[[str, int], bool] | None = None,
) -> Decision | None:
    """The link wins; else the first kind of key that finds anything decides: one candidate is a
    match, several are ambiguous (the caller records it and makes a new entity). None: no match.
    `reject(kind, candidate)` rules a candidate out before counting."""
    if linked is not None:
        return Decision(linked, "link")
    for kind, values in keys:
        found = matcher.find(kind, values)
        if reject is not None:
            found = {c for c in found if not reject(kind, c)}
        if len(found) == 1:
            return Decision(next(iter(found)), kind)
        if len(found) > 1:
            return Decision(matcher.new_id(), kind, ambiguous=sorted(found))
    return None
