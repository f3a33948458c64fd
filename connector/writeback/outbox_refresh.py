"""The outbox brought to the desired state (connector/writeback/outbox.py has the rows' life
after: sending them, recording results).

`refresh` works through the desired records CHUNK at a time: the outbox rows and the pulled
values of a chunk's records are read with it, its rows written (flushed; the new ones inserted
in one statement, without the ORM) and let go before the next. What it keeps of every record is
the id of its row (8 bytes), to find at the end the rows no record wants any more. So what a
refresh holds does not grow with the store.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from connector.store.bulk import among, insert_ids
from connector.store.models import Outbox, SourceLink
from connector.writeback.desired import FIELDS, Desired, canonical
from connector.writeback.outbox import Scope, Specs, Tally, digest, due_count, matches

CHUNK = 1000  # desired records whose rows are read, brought up to date and flushed together
SCOPE_CHUNK = 5000  # external ids looked up at once
ROW_IDS_AT_ONCE = 5000  # outbox row ids read at once, looking for the stale ones

Key = tuple[str, str, str]  # (object, external id, field set)


def seen_values(
    session: Session, source: str, specs: Specs, scope: Scope | None = None
) -> dict[tuple[str, str], Any]:
    """(object, external id) -> (what the last pull saw of the outbound fields, canonical; when),
    of the records in `scope` (None: all)."""
    out = {}
    q = select(SourceLink.object, SourceLink.external_id, SourceLink.seen, SourceLink.seen_at)
    q = q.where(SourceLink.source == source, SourceLink.object.in_(list(specs)))
    for obj, ext, seen, seen_at in _scoped(session, q, SourceLink, scope, list(specs)):
        if not seen:
            continue
        fields = specs[obj]
        known = {
            name: canonical(fields[name][0], value, source, fields[name][1])
            for name, value in seen.items()
            if name in fields
        }
        out[(obj, ext)] = (known, seen_at)
    return out


def _scoped(
    session: Session, q: Any, model: Any, scope: Scope | None, objects: list[str]
) -> Iterator[Any]:
    """The rows of `q` (over `model`'s object and external_id) of the records in `scope`."""
    if scope is None:
        yield from session.execute(q)
        return
    for obj in objects:
        keys = sorted(scope.fields.get(obj, ()))
        for start in range(0, len(keys), SCOPE_CHUNK):
            chunk = keys[start : start + SCOPE_CHUNK]
            yield from session.execute(
                q.where(model.object == obj, among(session, model.external_id, chunk))
            )


def _rows_of(session: Session, source: str, keys: Iterable[Key]) -> dict[Key, Outbox]:
    """The outbox rows of these records (those that have one)."""
    wanted: dict[tuple[str, str], set[str]] = {}
    for obj, ext, field_set in keys:
        wanted.setdefault((field_set, obj), set()).add(ext)
    out: dict[Key, Outbox] = {}
    for (field_set, obj), exts in wanted.items():
        q = select(Outbox).where(
            Outbox.source == source,
            Outbox.field_set == field_set,
            Outbox.object == obj,
            among(session, Outbox.external_id, exts),
        )
        out |= {(r.object, r.external_id, r.field_set): r for r in session.scalars(q)}
    return out


def refresh(
    session: Session,
    source: str,
    desired: Iterable[Desired],
    specs: Specs,
    now: datetime,
    scope: Scope | None = None,
    tally: Tally | None = None,
) -> int:
    """Bring the outbox rows of `source` to `desired`; rows of records no longer wanted (deleted,
    unlinked) go. With a `scope`, only its rows (`desired` holds what they want: the records whose
    inputs changed). Counts what it did in `tally`. Returns how many rows are now due."""
    tally = tally if tally is not None else Tally()
    kept = array("q")  # the ids of the rows some desired record has
    it = iter(desired)
    while chunk := list(islice(it, CHUNK)):
        _refresh_chunk(session, source, chunk, specs, scope, tally, kept)
    kept = array("q", sorted(kept))
    stale = [i for i in _row_ids(session, source, scope) if not _among(kept, i)]
    tally.refreshed += len(stale)
    for start in range(0, len(stale), 500):
        session.execute(delete(Outbox).where(Outbox.id.in_(stale[start : start + 500])))
    session.flush()
    return due_count(session, source, now)


def _refresh_chunk(
    session: Session,
    source: str,
    chunk: list[Desired],
    specs: Specs,
    scope: Scope | None,
    tally: Tally,
    kept: array[int],
) -> None:
    """One chunk of desired records onto their rows; the rows are flushed and let go. What the
    last pull saw is looked up for each record of an object with outbound fields (whatever its
    field set), of those in `scope` when there is one."""
    rows = _rows_of(session, source, ((d.object, d.external_id, d.field_set) for d in chunk))
    records = Scope({})
    for d in chunk:
        if d.object in specs and (scope is None or d.external_id in scope.fields.get(d.object, ())):
            records.fields.setdefault(d.object, set()).add(d.external_id)
    seen = seen_values(session, source, specs, records) if records.fields else {}
    touched: list[Outbox] = []
    new: list[dict[str, Any]] = []  # inserted at once, without the ORM (a first sync's all)
    for d in chunk:
        row = rows.pop((d.object, d.external_id, d.field_set), None)
        known, seen_at = seen.get((d.object, d.external_id), (None, None))
        if d.crm_seen:  # a refused edit a pull saw: the row is due again, whatever its digest
            known = {**(known or {}), **d.crm_seen}
            seen_at = max((t for t in (seen_at, d.crm_seen_at) if t is not None), default=None)
        tally.derived += 1
        if row is None:
            new.append(_new_row(source, d, known))
            tally.refreshed += 1
            continue
        if _update_row(row, d, known, seen_at):
            tally.refreshed += 1
        if d.crm_seen and row.desired.get("undo") != sorted(d.crm_seen):
            # once written, the record's link forgets the refusal (`_undone`)
            row.desired = {**row.desired, "undo": sorted(d.crm_seen)}
        touched.append(row)
    session.flush()
    kept.extend(row.id for row in touched)
    kept.extend(insert_ids(session, Outbox, new))


def _row_ids(session: Session, source: str, scope: Scope | None) -> Iterator[int]:
    """The ids of the rows a refresh brings to the desired state: all of the source's, or with a
    `scope`, the other field sets' and the scope's records' field rows."""
    q = select(Outbox.id).where(Outbox.source == source)
    if scope is None:
        yield from _by_id(session, q)
        return
    yield from _by_id(session, q.where(Outbox.field_set != FIELDS))
    fields = select(Outbox.id, Outbox.object, Outbox.external_id).where(
        Outbox.source == source, Outbox.field_set == FIELDS
    )
    yield from (r[0] for r in _scoped(session, fields, Outbox, scope, sorted(scope.fields)))


def _by_id(session: Session, q: Any) -> Iterator[int]:
    """The ids `q` selects, read ROW_IDS_AT_ONCE at a time."""
    q = q.order_by(Outbox.id).limit(ROW_IDS_AT_ONCE)
    after = 0
    while ids := list(session.scalars(q.where(Outbox.id > after))):
        yield from ids
        after = ids[-1]


def _among(ids: array[int], wanted: int) -> bool:
    """Whether `wanted` is in the sorted `ids`."""
    at = bisect_left(ids, wanted)
    return at < len(ids) and ids[at] == wanted


def _new_row(source: str, d: Desired, known: dict[str, Any] | None) -> dict[str, Any]:
    """The columns of a record's first row. A refused edit a pull saw is kept in it (`undo`):
    once written, the record's link forgets the refusal (`_undone`)."""
    h = digest(d.values)
    done = matches(d.values, known)  # the CRM holds these values already
    desired: dict[str, Any] = {"values": d.values, "base": known, "ref": None}
    if d.crm_seen:
        desired["undo"] = sorted(d.crm_seen)
    return {
        "source": source,
        "object": d.object,
        "external_id": d.external_id,
        "field_set": d.field_set,
        "desired": desired,
        "desired_hash": h,
        "written_hash": h if done else None,
        "status": "done" if done else "pending",
        "attempts": 0,
        "last_error": None,
        "next_attempt_at": None,
    }


def unsure(doc: dict[str, Any]) -> dict[str, Any] | None:
    """What is known of the CRM's values under a row not done: its base, less the fields its
    values were to change. A push may have written them (in part or whole) and died, or timed
    out, before it could record so: those fields are unknown until written again or pulled."""
    base, values = doc.get("base"), doc.get("values") or {}
    if base is None:
        return None
    return {k: v for k, v in base.items() if k not in values or values[k] == v}


def _update_row(
    row: Outbox, d: Desired, known: dict[str, Any] | None, seen_at: datetime | None
) -> bool:
    """Bring a row to `d`; whether it changed."""
    doc = row.desired or {}
    h = digest(d.values)
    fresh = known is not None and seen_at is not None and seen_at > row.updated_at
    before = doc.get("values") if row.status == "done" else unsure(doc)
    latest = {**(before or {}), **(known or {})} if fresh else before  # a later pull wins
    if row.desired_hash != h:
        base = latest
    elif row.status == "done" and fresh and not matches(d.values, latest):
        base = latest  # a CRM user changed a field Carnet owns: write it back
    else:
        return False
    done = matches(d.values, base)
    row.desired = {"values": d.values, "base": base, "ref": doc.get("ref")}
    row.desired_hash, row.written_hash = h, h if done else None
    row.status = "done" if done else "pending"
    row.attempts, row.last_error, row.next_attempt_at = 0, None, None
    return True
