"""Ingest: pages of MappedRecords into the overlay, with identity, tombstones, merges and the
relationships their signals make. Everything of one page runs in the caller's transaction.

A page is worked in bulk: its links, candidate emails and relationships are read in a few
queries and written back in a few statements. References to records not seen yet stay pending on
the link and are resolved as soon as their target arrives (`resolve_pending`), so the overlay
ends up the same whatever the order of records within an object. The other ingest_* modules hold
the per-kind work; connector.ingest.identity the matching.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from connector.core.config import Scoring
from connector.ingest.batch import (
    Batch,
    Counts,
    Link,
    load_links,
    lookup_targets,
    wanted_refs,
)
from connector.ingest.deals import (
    ingest_activities,
    ingest_contact_roles,
    ingest_opportunities,
    ingest_orgs,
    people_on,
    sync_roles,
)
from connector.ingest.members import ingest_members
from connector.ingest.people import ingest_people
from connector.ingest.refused import stored_apart
from connector.ingest.signals import Rels, add_evidence, link_key, refresh_deal_roles
from connector.ingest.tombstones import merge, retire, tombstone, withdraw
from connector.store.bulk import bulk_update
from connector.store.models import ContactRole, Member, Opportunity, Org, Person, SourceLink
from mappings.apply import FILTERED
from mappings.kinds import KINDS, Ref
from mappings.records import MappedRecord, record_hash

__all__ = ["Counts", "finish_full_pass", "ingest_page", "resolve_pending"]


@dataclass(frozen=True)
class Handler:
    """How a kind of record (a KindSpec of mappings.kinds) is stored."""

    ingest: Callable[[Batch, list[MappedRecord]], None]  # one page of its live records
    model: Any  # the store table of its entity (None: kept in relationships' signals)


HANDLERS: dict[str, Handler] = {
    "member": Handler(ingest_members, Member),
    "org": Handler(ingest_orgs, Org),
    "person": Handler(ingest_people, Person),
    "address_book": Handler(ingest_people, Person),
    "opportunity": Handler(ingest_opportunities, Opportunity),
    "contact_role": Handler(ingest_contact_roles, ContactRole),
    "activity": Handler(ingest_activities, None),
}
# the references that wait for their target, by the entity holding them: (entity, name) -> ref
WAITING: dict[tuple[str, str], Ref] = {
    (spec.entity, name): ref
    for spec in KINDS.values()
    for name, ref in spec.refs.items()
    if ref.waits
}
# the references stored as a column: (entity, reference) -> (model, column)
FK_REFS: dict[tuple[str, str], tuple[Any, str]] = {
    (spec.entity, name): (HANDLERS[spec.name].model, ref.column)
    for spec in KINDS.values()
    for name, ref in spec.refs.items()
    if ref.column is not None
}


def ingest_page(
    session: Session,
    source: str,
    object: str,
    kind: str,
    records: Sequence[MappedRecord],
    full: bool,
    now: datetime,
    scoring: Scoring | None = None,
) -> Counts:
    """Store one page of one (source, object). Malformed records are skipped and counted, never
    raised; a record the store refuses is skipped and listed, the rest of the page stored.
    Nothing is committed here. With `scoring`, relationships are written scored."""
    if kind not in HANDLERS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    latest = {r.external_id: r for r in records if r.external_id}  # a re-read id: the last wins

    def store(recs: list[MappedRecord]) -> Counts:
        return _ingest(session, source, object, kind, recs, full, now, scoring)

    counts = stored_apart(session, store, list(latest.values()))
    counts.pulled = len(records)
    return counts


def _ingest(
    session: Session,
    source: str,
    object: str,
    kind: str,
    records: list[MappedRecord],
    full: bool,
    now: datetime,
    scoring: Scoring | None,
) -> Counts:
    batch = Batch(session, source, object, kind, now, full, Counts(), scoring=scoring)
    batch.links = load_links(session, source, object, [r.external_id for r in records])
    live, dead, seen_only = _sort(batch, records)
    batch.targets = lookup_targets(session, source, wanted_refs(live))
    if live:
        HANDLERS[kind].ingest(batch, live)
    tombstone(batch, dead)
    batch.flush_links()
    if seen_only:
        session.execute(update(SourceLink).where(SourceLink.id.in_(seen_only)).values(seen_at=now))
    for step in batch.after:
        step(batch)
    batch.rels.flush()
    batch.counts.add_rels(batch.rels)
    if batch.pending_ids:
        batch.counts.add(
            resolve_pending(session, source, now, object, batch.pending_ids, scoring=scoring)
        )
    return batch.counts


def _sort(
    batch: Batch, records: list[MappedRecord]
) -> tuple[list[MappedRecord], list[MappedRecord], list[int]]:
    """(live records to store, deleted ones, ids of links seen unchanged on a full pass)."""
    live: list[MappedRecord] = []
    dead: list[MappedRecord] = []
    seen_only: list[int] = []
    for rec in records:
        link = batch.links.get(rec.external_id)
        if rec.problems and rec.problems[0].startswith(FILTERED):
            if link is not None and link.deleted_at is None:
                dead.append(rec)  # it no longer belongs to what the mapping takes: as if deleted
            continue
        if rec.kind != batch.kind or rec.problems:
            why = rec.problems[0] if rec.problems else f"a {rec.kind} record among {batch.kind}s"
            batch.counts.skip(rec.external_id, _reason(why), why)
            if link is not None:
                seen_only.append(link.id)
            continue
        digest = rec.digest or record_hash(rec)
        batch.hashes[rec.external_id] = digest
        if link is not None and link.applied.get("h") == digest and _settled(link, rec):
            if batch.full:
                seen_only.append(link.id)
            continue
        (dead if rec.deleted or rec.merged_into else live).append(rec)
    return live, dead, seen_only


def _settled(link: Link, rec: MappedRecord) -> bool:
    """The link already shows this record: live as it is, or tombstoned as deleted."""
    gone = rec.deleted or rec.merged_into is not None
    return (link.deleted_at is not None) == gone


def _reason(problem: str) -> str:
    """A problem's category, for counting: the text before its first colon, or all of it."""
    head = problem.split(":", 1)[0].strip()
    return (head or problem)[:120]


def finish_full_pass(
    session: Session,
    source: str,
    object: str,
    since: datetime,
    now: datetime,
    scoring: Scoring | None = None,
) -> Counts:
    """After the last page of a full pass that started at `since`: tombstone the links of this
    (source, object) that the pass did not see (the records are gone from the CRM)."""
    counts = Counts()
    rows = (
        session.connection()
        .execute(
            select(SourceLink.external_id).where(
                SourceLink.source == source,
                SourceLink.object == object,
                SourceLink.deleted_at.is_(None),
                (SourceLink.seen_at.is_(None)) | (SourceLink.seen_at < since),
            )
        )
        .scalars()
    )
    unseen = list(rows)
    for start in range(0, len(unseen), 2000):
        chunk = unseen[start : start + 2000]
        batch = Batch(session, source, object, "", now, True, counts, scoring=scoring)
        batch.links = load_links(session, source, object, chunk)
        gone: dict[str, set[int]] = {}
        for link in batch.links.values():
            withdraw(batch, link)
            gone.setdefault(link.entity, set()).add(link.entity_id or 0)
        session.execute(
            update(SourceLink)
            .where(SourceLink.id.in_([lk.id for lk in batch.links.values()]))
            .values(deleted_at=now, updated_at=now)
        )
        counts.deleted += len(batch.links)
        retire(session, batch.rels, gone, now)
        batch.rels.flush()
        counts.add_rels(batch.rels)
    return counts


def resolve_pending(
    session: Session,
    source: str,
    now: datetime,
    object: str | None = None,
    external_ids: list[str] | None = None,
    scoring: Scoring | None = None,
) -> Counts:
    """Resolve the references left pending (of one object's given records, or of the whole
    source) whose targets are known now: set the column, add the owner's evidence, add the
    deal's contacts, or merge a merged-away record into its survivor."""
    q = select(*_PENDING_COLS).where(SourceLink.source == source, SourceLink.pending.is_not(None))
    if object is not None:
        q = q.where(SourceLink.object == object)
    if external_ids is not None:
        q = q.where(SourceLink.external_id.in_(external_ids))
    q = q.order_by(SourceLink.id).limit(PENDING_AT_ONCE)
    counts = Counts()
    merges: list[_Merge] = []
    after = 0
    while links := session.connection().execute(q.where(SourceLink.id > after)).all():
        after = links[-1].id
        wanted: dict[str, set[str]] = {}
        for link in links:
            for obj, ext in link.pending.values():
                wanted.setdefault(obj, set()).update(ext if isinstance(ext, list) else [ext])
        targets = lookup_targets(session, source, wanted)
        work = _Resolution(session, source, now, targets, scoring)
        for link in links:
            work.resolve(link)
        work.finish()
        merges += work.merges
        counts.add_rels(work.rels)
    _merge_all(session, merges, now, scoring)  # after every link's references, as one batch did
    return counts


PENDING_AT_ONCE = 5000  # pending links resolved together (what is held does not grow further)
_Merge = tuple[int, str, int | None, str, int]  # link id, entity, its id, target entity, survivor


def _merge_all(
    session: Session, merges: list[_Merge], now: datetime, scoring: Scoring | None
) -> None:
    """Merge each merged-away record resolved into its survivor, in the links' order."""
    for link_id, entity, entity_id, target_entity, survivor in merges:
        if entity_id is not None and entity == target_entity:
            survivor = merge(session, entity, entity_id, survivor, now, scoring)
        elif entity_id is not None:
            continue  # a survivor of another kind: keep the tombstone as it is
        session.execute(
            update(SourceLink).where(SourceLink.id == link_id).values(entity_id=survivor)
        )


def _target(entity: str, name: str) -> str | None:
    """The entity a waiting reference of this entity points at (None: no such reference)."""
    ref = WAITING.get((entity, name))
    return KINDS[ref.to].entity if ref is not None else None


_PENDING_COLS = (
    SourceLink.id,
    SourceLink.object,
    SourceLink.external_id,
    SourceLink.entity,
    SourceLink.entity_id,
    SourceLink.applied,
    SourceLink.pending,
)


class _Resolution:
    """The pending references of some links, resolved together and written in bulk."""

    def __init__(
        self,
        session: Session,
        source: str,
        now: datetime,
        targets: Any,
        scoring: Scoring | None = None,
    ):
        self.session, self.source, self.now, self.targets = session, source, now, targets
        self.scoring = scoring
        self.rels = Rels(session, now, scoring)
        self.columns: dict[tuple[Any, str], list[dict[str, Any]]] = {}
        self.roles: dict[int, set[int]] = {}
        self.opps: set[int] = set()
        self.merges: list[_Merge] = []  # made by the caller once every chunk is resolved
        self.links: list[dict[str, Any]] = []

    def resolve(self, link: Any) -> None:
        left: dict[str, Any] = {}
        applied = dict(link.applied or {})
        for name, (obj, ext) in link.pending.items():
            if isinstance(ext, list):
                left |= self._many(link, name, obj, ext)
                continue
            found = self.targets.get((obj, ext))
            if name == "merged_into" and found:
                self.merges.append((link.id, link.entity, link.entity_id, found[0], found[1]))
            elif found and found[0] == _target(link.entity, name) and link.entity_id:
                if (found[0], found[1]) != (link.entity, link.entity_id):  # never itself
                    self._apply(link, name, found[1], applied)
            else:
                left[name] = [obj, ext]
        if left != link.pending or applied != (link.applied or {}):
            self.links.append({"id": link.id, "pending": left or None, "applied": applied})

    def _many(self, link: Any, name: str, obj: str, exts: list[str]) -> dict[str, Any]:
        found = {e: self.targets.get((obj, e)) for e in exts}
        people = {f[1] for f in found.values() if f and f[0] == "person"}
        if people and link.entity == "opportunity" and link.entity_id:
            self.roles.setdefault(link.entity_id, set()).update(people)
        missing = sorted(e for e, f in found.items() if not f)
        return {name: [obj, missing]} if missing else {}

    def _apply(self, link: Any, name: str, target: int, applied: dict[str, Any]) -> None:
        if (link.entity, name) in FK_REFS:
            model, column = FK_REFS[(link.entity, name)]
            rows = self.columns.setdefault((model, column), [])
            rows.append({"id": link.entity_id, column: target})
            if link.entity == "opportunity":
                self.opps.add(link.entity_id)
        elif (link.entity, name) == ("person", "owner"):
            rel = self.rels.get(target, link.entity_id)
            key = link_key(self.source, link.object, link.external_id)
            if add_evidence(rel.signals, "contact_owner", key):
                self.rels.changed(rel)
            applied["owner"] = target

    def finish(self) -> None:
        session = self.session
        for (model, _column), rows in self.columns.items():
            bulk_update(session, model, rows)
        people = people_on(session, self.opps) | sync_roles(session, self.roles, set())
        refresh_deal_roles(self.rels, people)
        self.rels.flush()
        if self.links:
            bulk_update(session, SourceLink, self.links)
