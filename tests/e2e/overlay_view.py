"""The overlay read back in the terms the sandbox tests check it in (no tests here): each source
record's link, the people and their emails, the members by CRM id and mailbox, the relationships
with their signals."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e.sync_sandbox_support import query


@dataclass(frozen=True)
class Link:
    entity: str
    entity_id: int | None
    deleted: bool
    merged_into: str | None


@dataclass
class OverlayView:
    links: dict[tuple[str, str, str], Link]  # (source, object, external id) -> link
    live_people: set[int]
    people: dict[int, tuple[bool, int | None]]  # id -> (deleted, merged into)
    person_of_email: dict[str, int]
    titles: dict[int, str | None]
    member_by: dict[str, dict[str, int]]  # "salesforce" / "hubspot" / "mailbox" -> id -> member
    signals: dict[tuple[int, int], dict[str, Any]]  # (member, person) -> signals

    @classmethod
    def read(cls, store: Path) -> OverlayView:
        links = {
            (s, o, e): Link(k, i, d is not None, mi)
            for s, o, e, k, i, d, mi in query(
                store,
                "SELECT source, object, external_id, entity, entity_id, deleted_at, merged_into "
                "FROM source_link",
            )
        }
        people = query(store, "SELECT id, deleted_at, merged_into_id, title FROM person")
        members = query(
            store, "SELECT id, salesforce_user_id, hubspot_owner_id, mailbox_id FROM member"
        )
        member_by: dict[str, dict[str, int]] = {"salesforce": {}, "hubspot": {}, "mailbox": {}}
        for mid, *ids in members:
            for kind, value in zip(member_by, ids, strict=True):
                if value:
                    member_by[kind][value] = mid
        return cls(
            links=links,
            live_people={p for p, d, m, _ in people if d is None and m is None},
            people={p: (d is not None, m) for p, d, m, _ in people},
            person_of_email=dict(query(store, "SELECT email, person_id FROM person_email")),
            titles={p: t for p, _, _, t in people},
            member_by=member_by,
            signals={
                (m, p): json.loads(s) if isinstance(s, str) else s
                for m, p, s in query(
                    store, "SELECT member_id, person_id, signals FROM relationship"
                )
            },
        )

    def person(self, source: str, obj: str, external_id: str) -> int | None:
        """The live person a live record is linked to (None when it is not, or not live)."""
        link = self.links.get((source, obj, external_id))
        if link is None or link.deleted or link.merged_into or link.entity_id is None:
            return None
        return link.entity_id if link.entity_id in self.live_people else None

    def live_links(self, person: int) -> list[tuple[str, str, str]]:
        """The live source records linked to a person."""
        return [
            key
            for key, link in self.links.items()
            if link.entity == "person" and link.entity_id == person and not link.deleted
        ]

    def evidence(self, member: int, person: int, flag: str) -> list[str]:
        """The source records behind one signal flag of a relationship (address_book_entries,
        owner_of)."""
        return list(self.signals.get((member, person), {}).get(flag) or [])
