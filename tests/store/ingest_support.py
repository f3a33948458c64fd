"""The kit the test_ingest* modules share: records as a mapping makes them (`rec`, `user`,
`contact`, `entry`), a `Store` that ingests pages and looks the overlay up, and a base world.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.ingest.pages import Counts, ingest_page, resolve_pending
from connector.store import models as m
from mappings.records import MappedRecord

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
OBJECT = {
    "member": "User",
    "org": "Account",
    "person": "Contact",
    "opportunity": "Opportunity",
    "contact_role": "OpportunityContactRole",
    "activity": "Task",
    "address_book": "contacts",
}


def rec(
    kind: str,
    ext: str,
    /,
    *,
    source: str = "salesforce",
    obj: str | None = None,
    refs: dict[str, tuple[str, str]] | None = None,
    many: dict[str, tuple[str, list[str]]] | None = None,
    deleted: bool = False,
    merged_into: str | None = None,
    problems: Iterable[str] = (),
    modstamp: datetime = NOW,
    **values: Any,
) -> MappedRecord:
    return MappedRecord(
        kind=kind,
        source=source,
        object=obj or OBJECT[kind],
        external_id=ext,
        values=values,
        refs=refs or {},
        many_refs=many or {},
        deleted=deleted,
        merged_into=merged_into,
        modstamp=modstamp,
        problems=list(problems),
    )


def user(ext: str, email: str, source: str = "salesforce", **values: Any) -> MappedRecord:
    obj = {"salesforce": "User", "hubspot": "owners", "exchange": "users"}[source]
    return rec("member", ext, source=source, obj=obj, email=email, **values)


def contact(ext: str, *emails: str, org: str | None = None, owner: str | None = None,
            reports_to: str | None = None, **values: Any) -> MappedRecord:  # fmt: skip
    refs = {}
    if org:
        refs["org"] = ("Account", org)
    if owner:
        refs["owner"] = ("User", owner)
    if reports_to:
        refs["reports_to"] = ("Contact", reports_to)
    values.setdefault("name", f"Person {ext}")
    return rec("person", ext, refs=refs, emails=list(emails), **values)


def entry(ext: str, mailbox: str, *emails: str, **values: Any) -> MappedRecord:
    """An Exchange address-book entry in `mailbox`'s mailbox."""
    return rec("address_book", ext, source="exchange", refs={"member": ("users", mailbox)},
               emails=list(emails), **values)  # fmt: skip


class Store:
    """A session with ingest and the questions the tests ask of the overlay."""

    def __init__(self, session: Session):
        self.s = session

    def put(self, *records: MappedRecord, full: bool = False, now: datetime = NOW) -> Counts:
        """Ingest records as pages of consecutive records of one (source, object), one
        transaction per page, as a sync would."""
        total = Counts()
        groups: list[list[MappedRecord]] = []
        for r in records:
            last = groups[-1][0] if groups else None
            if last and (last.source, last.object, last.kind) == (r.source, r.object, r.kind):
                groups[-1].append(r)
            else:
                groups.append([r])
        for group in groups:
            first = group[0]
            total.add(ingest_page(self.s, first.source, first.object, first.kind, group, full, now))
            self.s.commit()
        return total

    def resolve(self, source: str = "salesforce") -> None:
        resolve_pending(self.s, source, NOW)
        self.s.commit()

    def count(self, model: Any, *where: Any) -> int:
        return int(self.s.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    def person(self, email: str) -> m.Person:
        self.s.expire_all()
        pid = self.s.scalar(select(m.PersonEmail.person_id).where(m.PersonEmail.email == email))
        assert pid is not None, f"no person with {email}"
        person = self.s.get(m.Person, pid)
        assert person is not None
        return person

    def person_of(self, ext: str, source: str = "salesforce", obj: str = "Contact") -> m.Person:
        self.s.expire_all()
        link = self.link(ext, source, obj)
        assert link.entity == "person" and link.entity_id is not None
        person = self.s.get(m.Person, link.entity_id)
        assert person is not None
        return person

    def link(self, ext: str, source: str = "salesforce", obj: str = "Contact") -> m.SourceLink:
        self.s.expire_all()
        link = self.s.scalar(
            select(m.SourceLink).where(
                m.SourceLink.source == source,
                m.SourceLink.object == obj,
                m.SourceLink.external_id == ext,
            )
        )
        assert link is not None, f"no link {source} {obj} {ext}"
        return link

    def member(self, email: str) -> m.Member:
        self.s.expire_all()
        member = self.s.scalar(select(m.Member).where(m.Member.email == email))
        assert member is not None
        return member

    def rel(self, member_email: str, person: m.Person) -> m.Relationship | None:
        self.s.expire_all()
        return self.s.scalar(
            select(m.Relationship).where(
                m.Relationship.member_id == self.member(member_email).id,
                m.Relationship.person_id == person.id,
            )
        )

    def emails(self, person: m.Person) -> list[str]:
        q = select(m.PersonEmail.email).where(m.PersonEmail.person_id == person.id)
        return sorted(self.s.scalars(q))


@pytest.fixture
def store(session: Session) -> Store:
    return Store(session)


def base(store: Store) -> None:
    """Two reps in Salesforce, an account with its domain."""
    store.put(
        user("005A", "ann@us.com", name="Ann Rep"),
        user("005B", "ben@us.com", name="Ben Rep"),
        rec("org", "001A", name="Acme", domains=["acme.com"]),
    )


# -- members -------------------------------------------------------------------------------------
