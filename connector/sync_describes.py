"""The describe cache of `carnet sync`: the fields each object of a source has (what decides
which optional and outbound fields of the mapping are pulled), kept in the store so that a sync
with nothing changed makes no describe call.

One sync_state row per source, object "(describes)", whose cursor holds the JSON document
{object: {"key": the mapping's hash, "at": when it was read, "fields": [FieldInfo, ...]}}. An
object's entry is read again from the CRM on a --full sync, when the mapping changed, or when it
is a day old. The refresh opens the source's adapter here; when it fails, the adapter gets no
cached describe for those objects and its pull describes them itself (and fails there, as before).
The describes travel to the adapter on its settings (connector.core.protocols.with_describes).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Collection
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from connector.core.config import SourceBase
from connector.core.errors import CarnetError
from connector.core.protocols import Adapter, Describes, with_describes
from connector.core.records import FieldInfo
from connector.store.models import SyncState
from mappings.schema import Mapping

DESCRIBE_STATE = "(describes)"  # sync_state.object of a source's describe cache
MAX_AGE = timedelta(days=1)
RECHECK = timedelta(hours=1)  # the age at which one without the outbound fields is read again

log = logging.getLogger(__name__)
Entry = dict[str, Any]


def mapping_key(mapping: Mapping) -> str:
    """The mapping's hash: a changed mapping reads its objects' describes again."""
    return hashlib.sha256(mapping.model_dump_json().encode()).hexdigest()


def described(mapping: Mapping) -> list[str]:
    """The objects whose pull asks for a describe first: those with optional or outbound fields
    (connector.ingest.feed.object_spec)."""
    return [obj for obj in mapping.objects if mapping.optional_fields(obj)]


def load(session: Session, source: str) -> dict[str, Entry]:
    """The cache of `source` as stored ({} when none, or unreadable)."""
    q = select(SyncState.cursor).where(_row(source))
    text = session.scalar(q)
    try:
        doc = json.loads(text) if text else {}
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def is_fresh(entry: Any, key: str, now: datetime, full: bool, needed: Collection[str] = ()) -> bool:
    """Whether a cached entry can stand in for a describe now: read for this mapping less than a
    day ago, and with every field in `needed` (the mapping's outbound fields: `carnet install`
    makes them, and the next sync pulls them)."""
    if full or not isinstance(entry, dict) or entry.get("key") != key:
        return False
    try:
        at = datetime.fromisoformat(str(entry.get("at")))
        have = {str(f["name"]).casefold() for f in entry["fields"]}
    except (ValueError, KeyError, TypeError):
        return False
    if any(name.casefold() not in have for name in needed):
        return False
    return timedelta(0) <= now - at < MAX_AGE


def fields_of(entry: Entry) -> dict[str, FieldInfo]:
    return {f["name"]: FieldInfo(**f) for f in entry["fields"]}


def prepare(
    session: Session,
    source: str,
    settings: SourceBase,
    mapping: Mapping,
    opener: Callable[[str, SourceBase], Adapter],
    now: datetime,
    full: bool = False,
    dry_run: bool = False,
) -> SourceBase:
    """`settings` carrying the describes of the mapping's described objects: those read again
    now (the stale ones, through an adapter of `opener`, then stored), and the fresh ones that
    have the mapping's outbound fields. A fresh one without them (`carnet install` not run, or
    run since) is not handed on: the pull describes that object itself, as without a cache; it
    is read again here once an hour old (RECHECK)."""
    wanted = described(mapping)
    if not wanted:
        return settings
    doc, key = load(session, source), mapping_key(mapping)
    needed = {obj: mapping.outbound_fields(obj) for obj in wanted}
    recheck = now - RECHECK + MAX_AGE  # fresh at `recheck`: read less than RECHECK ago
    stale = [
        obj
        for obj in wanted
        if not is_fresh(doc.get(obj), key, now, full)
        or (
            not is_fresh(doc.get(obj), key, now, False, needed[obj])
            and not is_fresh(doc.get(obj), key, recheck, False)
        )
    ]
    _end(session, dry_run)  # no transaction (nor lock) while the CRM answers
    read = _refresh(doc, source, settings, stale, opener, key, now) if stale else []
    if read:
        _save(session, source, doc)
        _end(session, dry_run)
    describes: Describes = {
        obj: fields_of(doc[obj])
        for obj in wanted
        if obj in read or is_fresh(doc.get(obj), key, now, False, needed[obj])
    }
    return with_describes(settings, describes) if describes else settings


def _refresh(
    doc: dict[str, Entry],
    source: str,
    settings: SourceBase,
    stale: list[str],
    opener: Callable[[str, SourceBase], Adapter],
    key: str,
    now: datetime,
) -> list[str]:
    """Read the stale objects' describes into `doc`; the objects read."""
    read: list[str] = []
    try:
        adapter = opener(source, settings)
    except CarnetError as exc:  # the pull opens the adapter again and says why it cannot
        log.debug("%s describes not refreshed: %s", source, exc)
        return read
    try:
        for obj in stale:
            try:
                fields = adapter.describe(obj)
            except (CarnetError, NotImplementedError) as exc:  # the pull describes it itself
                log.debug("%s %s describe not refreshed: %s", source, obj, exc)
                continue
            entry = {
                "key": key,
                "at": now.isoformat(),
                "fields": [asdict(f) for f in fields.values()],
            }
            doc[obj] = entry
            read.append(obj)
    finally:
        adapter.close()
    return read


def _save(session: Session, source: str, doc: dict[str, Entry]) -> None:
    text = json.dumps(doc, sort_keys=True)
    found = session.scalar(select(SyncState.id).where(_row(source)))
    if found is not None:
        session.execute(update(SyncState).where(_row(source)).values(cursor=text))
        return
    row = {"source": source, "object": DESCRIBE_STATE, "cursor": text, "last_counts": {},
           "last_errors": [], "api_usage": {}}  # fmt: skip
    session.execute(insert(SyncState), row)


def _end(session: Session, dry_run: bool) -> None:
    if dry_run:
        session.flush()
    else:
        session.commit()


def _row(source: str) -> Any:
    return (SyncState.source == source) & (SyncState.object == DESCRIBE_STATE)
