"""The outbox: desired CRM state -> diff -> queued writes -> results, one row per CRM record and
field set (an object's outbound fields, or its account-plan note).

`refresh` brings the rows to what the overlay wants now. A row whose values are what was last
written, or what the last pull saw in the CRM, costs no call. A row written and then changed in
the CRM by a user (a pull saw other values later) is queued again: Carnet owns those fields.
`push_fields` sends what is due in batches at the CRMs' limits and records each record's result
by the Outcome the adapter gave it: done; failed (retry: retried after a backoff, on a later
push); pending still (budget: not sent); parked (refused, gone, or a creation that may have been
applied: with the CRM's own message, until the desired values change or `carnet install` runs).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, object_session

from connector.core.config import SourceBase
from connector.core.http import budget_spent
from connector.core.protocols import Metered, Writer
from connector.core.records import Outcome, Write, WriteResult
from connector.store.bulk import bulk_update
from connector.store.models import Outbox, SourceLink, utcnow
from connector.writeback.desired import (
    FIELDS,
    crm_value,
    owned_specs,
    sort_of,
    written_objects,
)
from mappings.schema import Mapping, OutField

CHUNK = 1000  # writes handed to the adapter at once (5 Salesforce / 10 HubSpot calls), then commit
BACKOFF = timedelta(minutes=1)  # after the first retriable failure; doubled each time
BACKOFF_MAX = timedelta(hours=6)
SHOWN_FAILURES = 20

Specs = dict[str, dict[str, tuple[str, OutField]]]  # object -> field -> (sort, spec)


@dataclass
class Tally:
    """What a refresh did: desired rows derived (records whose inputs changed), and outbox rows
    made, changed or removed by them."""

    derived: int = 0
    refreshed: int = 0


@dataclass(frozen=True)
class Scope:
    """The rows an incremental refresh brings to its desired state: the field rows of these
    records (object -> external ids), and every row of the other field sets (notes, campaigns:
    derived whole each time)."""

    fields: dict[str, set[str]]


@dataclass
class PushRun:
    """What one push did for one source; `as_dict()` is its --json part."""

    due: int = 0
    written: int = 0
    failed: int = 0
    parked: int = 0
    api_calls: int = 0
    stopped: str | None = None  # why the push ended early (budget, an error)
    budget_stopped: bool = False
    changes: list[dict[str, Any]] = field(default_factory=list)  # dry run: what would be written
    failures: list[dict[str, Any]] = field(default_factory=list)  # the first SHOWN_FAILURES
    tally: Tally = field(default_factory=Tally)  # what the refresh before it did

    def as_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "derived": self.tally.derived,
            "refreshed": self.tally.refreshed,
            "due": self.due,
            "written": self.written,
            "failed": self.failed,
            "parked": self.parked,
            "api_calls": self.api_calls,
        }
        if self.stopped:
            doc["stopped"] = self.stopped
            doc["budget_stopped"] = self.budget_stopped
        if self.failures:
            doc["failures"] = self.failures[:SHOWN_FAILURES]
        return doc


def digest(values: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()


def field_specs(mapping: Mapping) -> Specs:
    """The fields Carnet writes, per object: the outbound ones, and the owner's own fields a
    push writes back to undo a refused edit (connector.writeback.desired.refused_edits)."""
    return {
        obj: {
            name: (sort_of(mapping.objects[obj].kind, spec), spec)
            for name, spec in mapping.outbound_fields(obj).items()
        }
        | owned_specs(mapping, obj)
        for obj in written_objects(mapping)
    }


def matches(values: dict[str, Any], base: dict[str, Any] | None) -> bool:
    return base is not None and all(k in base and base[k] == v for k, v in values.items())


def changed(values: dict[str, Any], base: dict[str, Any] | None) -> dict[str, Any]:
    """The fields whose value differs from the CRM's known one (all of them when unknown)."""
    return {k: v for k, v in values.items() if base is None or k not in base or base[k] != v}


@dataclass(slots=True)
class Sending:
    """An outbox row of fields read to be sent, without the ORM: `record` sets its outcome as on
    a row, and a chunk's outcomes are written back in one statement (`written_back`)."""

    id: int
    source: str
    object: str
    external_id: str
    field_set: str
    desired: dict[str, Any]
    desired_hash: str
    written_hash: str | None
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None


SENT = ("desired", "status", "written_hash", "attempts", "last_error", "next_attempt_at")
Row = Outbox | Sending


# -- due rows -----------------------------------------------------------------------------------


def due_rows(
    session: Session, source: str, now: datetime, field_set: str | None = None
) -> list[Outbox]:
    q = select(Outbox).where(*_due(source, now, field_set))
    return list(session.scalars(q.order_by(Outbox.id)))


def _due(source: str, now: datetime, field_set: str | None) -> Any:
    """Where a row of `source` (of `field_set`) is due now: pending or failed, its backoff over."""
    return (
        Outbox.source == source,
        Outbox.status.in_(("pending", "failed")),
        or_(Outbox.next_attempt_at.is_(None), Outbox.next_attempt_at <= now),
        *(() if field_set is None else (Outbox.field_set == field_set,)),
    )


def due_count(session: Session, source: str, now: datetime, field_set: str | None = None) -> int:
    """How many rows `due_rows` would give."""
    q = select(func.count()).select_from(Outbox).where(*_due(source, now, field_set))
    return int(session.scalar(q) or 0)


def due_pages(
    session: Session, source: str, now: datetime, field_set: str | None = None
) -> Iterator[list[Sending]]:
    """The rows `due_rows` gives, in its order, CHUNK at a time, each list read when the one
    before is done with (the rows are sent and recorded in between: a page read later finds the
    rows due at `now` that are left, as the whole list read at first would have given them)."""
    columns = [getattr(Outbox, f.name) for f in fields(Sending)]
    q = select(*columns).where(*_due(source, now, field_set)).order_by(Outbox.id).limit(CHUNK)
    after = 0
    while rows := [Sending(*r) for r in session.execute(q.where(Outbox.id > after))]:
        after = rows[-1].id
        yield rows


def written_back(session: Session, rows: list[Sending]) -> None:
    """The outcomes `record` set on these rows, into their outbox rows, in one statement."""
    stamp = utcnow()  # as the ORM stamps a row it updates
    changes = [{"id": r.id, **{c: getattr(r, c) for c in SENT}, "updated_at": stamp} for r in rows]
    bulk_update(session, Outbox, changes)


# -- rows -> writes -> results --------------------------------------------------------------------


def field_write(row: Row, specs: Specs) -> Write:
    doc = row.desired
    fields = specs[row.object]
    values = {
        name: crm_value(fields[name][0], value)
        for name, value in changed(doc["values"], doc.get("base")).items()
    }
    return Write(row.object, row.external_id, values, key=str(row.id))


def preview(rows: list[Outbox]) -> list[dict[str, Any]]:
    """What a push would write: record, field, old -> new (old None: not known)."""
    out = []
    for row in rows:
        doc = row.desired
        base = doc.get("base") or {}
        if row.field_set == FIELDS:
            for name, new in changed(doc["values"], doc.get("base")).items():
                out.append(_change(row, name, base.get(name), new))
        else:
            action = f"update note {doc['ref']}" if doc.get("ref") else "create (or adopt) note"
            out.append(_change(row, "(plan note)", action, doc["values"]["title"]))
    return out


def _change(row: Outbox, name: str, old: Any, new: Any) -> dict[str, Any]:
    return {"object": row.object, "id": row.external_id, "field": name, "old": old, "new": new}


def record(
    row: Row, result: WriteResult, run: PushRun, now: datetime, session: Session | None = None
) -> None:
    """One write's result on its row (a Sending row's session is given)."""
    doc = dict(row.desired)
    if result.outcome is Outcome.OK:
        if doc.pop("undo", None):
            _undone(session if session is not None else object_session(row), row)
        doc["base"] = doc["values"]
        if row.field_set != FIELDS:
            doc["ref"] = result.id or doc.get("ref")
        row.desired, row.status, row.written_hash = doc, "done", row.desired_hash
        row.attempts, row.last_error, row.next_attempt_at = 0, None, None
        run.written += 1
        return
    row.last_error = result.error or "the CRM gave no reason"
    if result.outcome is Outcome.BUDGET:
        run.stopped, run.budget_stopped = row.last_error, True
        return  # not sent: stays pending, no attempt counted
    row.attempts += 1
    if len(run.failures) < SHOWN_FAILURES:  # all that is shown or kept of them (counted all)
        run.failures.append({"object": row.object, "id": row.external_id, "error": row.last_error})
    if result.outcome is Outcome.RETRY:
        row.status = "failed"
        row.next_attempt_at = now + min(BACKOFF * 2 ** (row.attempts - 1), BACKOFF_MAX)
        run.failed += 1
    else:  # refused, gone, or a creation that may exist now: not sent again as it is
        row.status = "parked"
        run.parked += 1


def _undone(session: Session | None, row: Row) -> None:
    """A refused CRM edit is undone (its agreed values written): the record's link forgets it,
    so the same value set again is a new refused edit, audited again."""
    link = (
        None
        if session is None
        else session.scalar(
            select(SourceLink).where(
                SourceLink.source == row.source,
                SourceLink.object == row.object,
                SourceLink.external_id == row.external_id,
            )
        )
    )
    if link is not None and link.applied:
        link.applied = {k: v for k, v in link.applied.items() if k not in ("refused", "refused_at")}


def over_budget(adapter: Metered, settings: SourceBase | None) -> str | None:
    """Why no more calls should be made now (the configured share of the daily allowance)."""
    share = getattr(settings, "api_budget_share", None)  # sources with an allowance have one
    spent = budget_spent(adapter.usage(), share)
    return f"{spent}; the rest waits for a later push" if spent else None


Take = Callable[[Any, WriteResult, PushRun, datetime], None]  # one result onto its row


def send(
    session: Session,
    adapter: Metered,
    settings: SourceBase | None,
    rows: list[Outbox],
    run: PushRun,
    now: datetime,
    write: Callable[[list[Outbox]], list[WriteResult]],
    take: Take = record,
) -> None:
    """The send loop of fields and notes alike: `write` the rows CHUNK at a time (the adapter
    batches them at the CRM's limit), `take` each result, commit each chunk; stop at the budget."""
    chunks = (rows[start : start + CHUNK] for start in range(0, len(rows), CHUNK))
    send_pages(session, adapter, settings, chunks, run, now, write, take)


def send_pages(
    session: Session,
    adapter: Metered,
    settings: SourceBase | None,
    pages: Iterable[list[Any]],
    run: PushRun,
    now: datetime,
    write: Callable[[list[Any]], list[WriteResult]],
    take: Take = record,
    keep: Callable[[list[Any]], None] | None = None,
) -> None:
    """`send`, the rows given as lists of at most CHUNK (read as they are wanted); `keep` writes
    a chunk's outcomes before its commit (for rows the ORM does not track)."""
    for chunk in pages:
        stop = over_budget(adapter, settings)
        if stop is not None:
            run.stopped, run.budget_stopped = stop, True
            return
        for row, result in zip(chunk, write(chunk), strict=True):
            take(row, result, run, now)
        if keep is not None:
            keep(chunk)
        session.commit()
        if run.budget_stopped:
            return


def push_fields(
    session: Session,
    adapter: Writer,
    settings: SourceBase | None,
    pages: Iterable[list[Sending]],
    specs: Specs,
    run: PushRun,
    now: datetime,
) -> None:
    """Send the field writes of the rows (lists of at most CHUNK, `due_pages`), committing each
    chunk's results; stop at the budget."""

    def write(chunk: list[Sending]) -> list[WriteResult]:
        return adapter.push([field_write(r, specs) for r in chunk])

    def take(row: Sending, result: WriteResult, run: PushRun, now: datetime) -> None:
        record(row, result, run, now, session)

    def keep(chunk: list[Sending]) -> None:
        written_back(session, chunk)

    send_pages(session, adapter, settings, pages, run, now, write, take, keep)
