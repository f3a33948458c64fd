"""What one page of ingest works on: the counts it reports, the source links it reads and writes,
the references it resolves, and the value coercions every kind shares.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from connector.core.config import Scoring
from connector.ingest.signals import Rels, link_key
from connector.store.bulk import among, bulk_insert, bulk_update, insert_ids, rows_at_once
from connector.store.models import SourceLink
from mappings.kinds import KINDS
from mappings.records import MappedRecord

MAX_ERRORS = 50


@dataclass
class Counts:
    """What a page (or an object's whole pull) did; `relationships` are the ones it touched."""

    pulled: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    skipped: int = 0  # by rule (no email and no name and org, ...): warnings
    skipped_reasons: Counter[str] = field(default_factory=Counter)
    errors: list[dict[str, str]] = field(default_factory=list)
    refused: int = 0  # records the store refused: failures
    refusals: list[dict[str, str]] = field(default_factory=list)
    relationships: set[int] = field(default_factory=set)
    scored: set[int] = field(default_factory=set)  # those written with their fresh score

    def skip(self, external_id: str, reason: str, detail: str | None = None) -> None:
        self.skipped += 1
        self.skipped_reasons[reason] += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"id": external_id, "reason": detail or reason})

    def refuse(self, external_id: str, reason: str) -> None:
        self.refused += 1
        if len(self.refusals) < MAX_ERRORS:
            self.refusals.append({"id": external_id, "reason": reason})

    def add(self, other: Counts) -> None:
        for name in ("pulled", "created", "updated", "deleted", "skipped", "refused"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.skipped_reasons.update(other.skipped_reasons)
        self.errors = (self.errors + other.errors)[:MAX_ERRORS]
        self.refusals = (self.refusals + other.refusals)[:MAX_ERRORS]
        self.relationships |= other.relationships
        # `other` came later: what it touched without scoring is not scored any more
        self.scored -= other.relationships
        self.scored |= other.scored

    def add_rels(self, rels: Rels) -> None:
        """What these relationships' writes touched (and scored), after what is counted."""
        self.add(Counts(relationships=rels.touched, scored=rels.scored))

    def as_dict(self) -> dict[str, Any]:
        return {
            "pulled": self.pulled,
            "created": self.created,
            "updated": self.updated,
            "deleted": self.deleted,
            "skipped": self.skipped,
            "skipped_reasons": dict(sorted(self.skipped_reasons.items())),
            "refused": self.refused,
        }


@dataclass
class Link:
    id: int
    external_id: str
    entity: str
    entity_id: int | None
    deleted_at: datetime | None
    merged_into: str | None
    applied: dict[str, Any]
    pending: dict[str, Any] | None

    @property
    def live(self) -> bool:
        return self.deleted_at is None and self.entity_id is not None


_LINK_COLS = (
    SourceLink.id,
    SourceLink.external_id,
    SourceLink.entity,
    SourceLink.entity_id,
    SourceLink.deleted_at,
    SourceLink.merged_into,
    SourceLink.applied,
    SourceLink.pending,
)


def load_links(session: Session, source: str, obj: str, external_ids: list[str]) -> dict[str, Link]:
    """The existing links of these records, in one query."""
    if not external_ids:
        return {}
    rows = (
        session.connection()
        .execute(
            select(*_LINK_COLS).where(
                SourceLink.source == source,
                SourceLink.object == obj,
                among(session, SourceLink.external_id, external_ids),
            )
        )
        .all()
    )
    return {
        r.external_id: Link(
            r.id,
            r.external_id,
            r.entity,
            r.entity_id,
            r.deleted_at,
            r.merged_into,
            dict(r.applied or {}),
            r.pending,
        )
        for r in rows
    }


@dataclass
class Batch:
    """One page of one (source, object): its links, resolved references and staged link writes."""

    session: Session
    source: str
    object: str
    kind: str
    now: datetime
    full: bool
    counts: Counts
    links: dict[str, Link] = field(default_factory=dict)
    targets: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)
    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    pending_ids: list[str] = field(default_factory=list)
    hashes: dict[str, str] = field(default_factory=dict)
    # run once links are written, each given this batch (a step that closed over the batch would
    # make a reference cycle: the page's links and relationships kept until a full collection)
    after: list[Callable[[Batch], None]] = field(default_factory=list)
    _refs: dict[tuple[str, str], int | None] = field(default_factory=dict)  # ref() answers
    scoring: Scoring | None = None  # a sync's: relationships are scored as they are written
    rels: Rels = field(init=False)

    def __post_init__(self) -> None:
        self.rels = Rels(self.session, self.now, self.scoring)

    def key(self, rec: MappedRecord) -> str:
        return link_key(self.source, self.object, rec.external_id)

    def ref(self, rec: MappedRecord, name: str) -> int | None:
        """The overlay id `rec.refs[name]` points at, when known as the right kind."""
        key = (rec.external_id, name)
        if key in self._refs:
            return self._refs[key]
        target = rec.refs.get(name)
        found = self.targets.get((target[0], str(target[1]))) if target and target[1] else None
        declared = KINDS[rec.kind].refs.get(name)
        want = KINDS[declared.to].entity if declared is not None and not declared.many else None
        self._refs[key] = out = found[1] if found and (want is None or found[0] == want) else None
        return out

    def unresolved(self, rec: MappedRecord) -> dict[str, Any] | None:
        """The references of `rec` that wait (its KindSpec's) and point somewhere but are not
        resolved yet: kept as pending on its link."""
        out = {
            n: [rec.refs[n][0], str(rec.refs[n][1])]
            for n in KINDS[rec.kind].waiting
            if rec.refs.get(n) and rec.refs[n][1] and self.ref(rec, n) is None
        }
        return out or None

    def stage(
        self,
        rec: MappedRecord,
        entity_id: int | None,
        applied: dict[str, Any] | None = None,
        pending: dict[str, Any] | None = None,
        deleted: bool = False,
    ) -> None:
        """Queue the link row of `rec` (insert or update) and count it created or updated."""
        link = self.links.get(rec.external_id)
        row: dict[str, Any] = {
            "entity": KINDS[rec.kind].entity,
            "entity_id": entity_id,
            "modstamp": rec.modstamp,
            "seen": rec.seen or None,
            "deleted_at": self.now if deleted else None,
            "merged_into": rec.merged_into,
            "applied": {**(applied or {}), "h": self.hashes.get(rec.external_id)},
            "pending": pending,
            "seen_at": self.now,
            "updated_at": self.now,
        }
        if pending:
            self.pending_ids.append(rec.external_id)
        if link is None:
            self.inserts.append(
                {"source": self.source, "object": self.object, "external_id": rec.external_id} | row
            )
            if not deleted:
                self.counts.created += 1
        else:
            self.updates.append({"id": link.id} | row)
            if deleted and link.deleted_at is None:
                self.counts.deleted += 1
            elif not deleted:
                self.counts.updated += 1

    def flush_links(self) -> None:
        if self.inserts:
            bulk_insert(self.session, SourceLink, self.inserts)
        if self.updates:
            bulk_update(self.session, SourceLink, self.updates)
        self.inserts, self.updates = [], []


def lookup_targets(
    session: Session, source: str, wanted: dict[str, set[str]]
) -> dict[tuple[str, str], tuple[str, int]]:
    """(object, external id) -> (entity, id) for every wanted record that has a link (live or
    tombstoned: a merged-away record's link points at the survivor), one query per object."""
    out: dict[tuple[str, str], tuple[str, int]] = {}
    for obj, ids in wanted.items():
        if not ids:
            continue
        where = (
            SourceLink.source == source,
            SourceLink.object == obj,
            among(session, SourceLink.external_id, ids),
            SourceLink.entity_id.is_not(None),
        )
        cols = (SourceLink.external_id, SourceLink.entity, SourceLink.entity_id)
        rows = rows_at_once(session, cols, and_(*where))
        for ext, entity, entity_id in rows:
            if entity_id is not None:
                out[(obj, ext)] = (entity, entity_id)
    return out


def wanted_refs(records: list[MappedRecord]) -> dict[str, set[str]]:
    """The records' references this ingest will resolve (those its KindSpec looks up, and every
    many-reference), by the object they point at."""
    wanted: dict[str, set[str]] = {}
    for rec in records:
        spec = KINDS.get(rec.kind)
        for name in spec.looked_up if spec is not None else ():
            target = rec.refs.get(name)
            if target and target[1]:
                wanted.setdefault(target[0], set()).add(str(target[1]))
        for obj, exts in rec.many_refs.values():
            wanted.setdefault(obj, set()).update(str(e) for e in exts if e)
    return wanted


# -- value coercions -----------------------------------------------------------------------------


def to_float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def to_datetime(value: Any) -> datetime | None:
    """An aware UTC datetime from a datetime, a date, an ISO string or epoch milliseconds."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def to_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def to_country(value: Any) -> str | None:
    """An ISO 3166 alpha-2 code as the mapping gives it; anything else is dropped."""
    if isinstance(value, str) and len(value.strip()) == 2 and value.strip().isalpha():
        return value.strip().upper()
    return None


def to_bool(value: Any, default: bool = False) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "y", "t")
    return bool(value)


class Staged:
    """The rows of one table a page decides about: loaded once, changed in memory as the page's
    records are decided in order, written at the end (new rows in one insert, changes in one
    update). New rows have negative placeholder ids until `write` maps them in `alias`."""

    def __init__(self, batch: Batch, model: Any, cols: tuple[str, ...], ids: set[int]):
        self.batch, self.model, self.cols = batch, model, cols
        self.before: dict[int, dict[str, Any]] = {}
        ids = {i for i in ids if i and i > 0}
        if ids:
            sel = select(model.id, *(getattr(model, c) for c in cols))
            for row in (
                batch.session.connection().execute(sel.where(model.id.in_(sorted(ids)))).all()
            ):
                self.before[row[0]] = dict(zip(cols, row[1:], strict=True))
        self.state: dict[int, dict[str, Any]] = {}

    def current(self, entity_id: int, default: dict[str, Any]) -> dict[str, Any]:
        return self.state.get(entity_id) or self.before.get(entity_id) or dict(default)

    def write(self, alias: dict[int, int]) -> None:
        now = self.batch.now
        stamps = {c: now for c in ("created_at", "updated_at") if hasattr(self.model, c)}
        touch = {"updated_at": now} if hasattr(self.model, "updated_at") else {}
        new = sorted((i for i in self.state if i < 0), reverse=True)
        rows = [{c: self.state[i].get(c) for c in self.cols} | stamps for i in new]
        if rows:
            ids = insert_ids(self.batch.session, self.model, rows)
            alias.update(zip(new, ids, strict=True))
        changed = [
            {"id": i, **{c: s.get(c) for c in self.cols}} | touch
            for i, s in self.state.items()
            if i > 0 and any(s.get(c) != self.before.get(i, {}).get(c) for c in self.cols)
        ]
        if changed:
            bulk_update(self.batch.session, self.model, changed)


def unlinked(session: Session, entity: str, ids: Iterable[int]) -> set[int]:
    """Those of these entities no live source link points at."""
    wanted = {i for i in ids if i}
    if not wanted:
        return set()
    live = session.connection().scalars(
        select(SourceLink.entity_id).where(
            SourceLink.entity == entity,
            SourceLink.entity_id.in_(sorted(wanted)),
            SourceLink.deleted_at.is_(None),
        )
    )
    return wanted - set(live)
