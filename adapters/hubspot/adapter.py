"""The HubSpot adapter: owners, companies, contacts, deals (with their associations and pipeline
stage status) and engagements in, batch property writes out, through hubspot-api-client.

Pulls are in adapters/hubspot_pull.py, the calls themselves (retries, limiters, budget) in
adapters/hubspot_api.py, invitation campaigns (contact lists) in adapters/hubspot/lists.py. Every
CRM object is read and written through the client's generic `crm.objects` APIs (the same
/crm/v3/objects/{type} endpoints as `crm.contacts` and the like).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

from adapters.hubspot import writeback
from adapters.hubspot.api import BATCH_LIMIT, HubSpotApi, HubSpotRefused
from adapters.hubspot.lists import ListsMixin
from adapters.hubspot.pull import (
    Puller,
    as_datetime,
    epoch_ms,
    mark_last,
    split_cursor,
    with_summary,
)
from connector.core.errors import (
    BudgetExhausted,
    CredentialsRefused,
    FatalError,
    RateLimited,
    RetriableError,
)
from connector.core.http import check_pagination
from connector.core.protocols import FieldGroup, known_describes
from connector.core.records import (
    ApiUsage,
    FieldInfo,
    FieldSpec,
    FieldStep,
    ObjectSpec,
    Outcome,
    Page,
    PlanNote,
    RawRecord,
    Write,
    WriteResult,
    plan_marker,
)

OVERLAP_S = 300  # re-read changes this far behind the cursor: search lags writes by seconds
OBJECTS = frozenset({"companies", "contacts", "deals", "calls", "emails", "meetings", "tasks"})
RETRIABLE_CATEGORIES = frozenset({"INTERNAL_ERROR", "RATE_LIMITS", "SERVICE_UNAVAILABLE"})
GONE_CATEGORY = "OBJECT_NOT_FOUND"
# The owners API has no properties: what an owner carries, all of it read-only.
OWNER_FIELDS = {
    name: FieldInfo(name, kind, writable=False)
    for name, kind in [
        ("id", "string"), ("email", "string"), ("firstName", "string"), ("lastName", "string"),
        ("type", "enumeration"), ("userId", "number"), ("userIdIncludingInactive", "number"),
        ("teams", "object"), ("createdAt", "datetime"), ("updatedAt", "datetime"),
        ("archived", "bool"),
    ]
}  # fmt: skip


class HubSpotAdapter(ListsMixin):
    source = "hubspot"

    def __init__(
        self,
        settings: Any,
        secret: Callable[[str], str],
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.settings = settings
        self.api = HubSpotApi(settings, secret, sleep)
        overlap_ms = int(getattr(settings, "overlap_seconds", OVERLAP_S)) * 1000
        self.puller = Puller(self.api, overlap_ms, lambda: int(time.time() * 1000))
        self._describes = known_describes(settings)

    # -- pull ----------------------------------------------------------------------------------

    def pull(self, spec: ObjectSpec, cursor: str | None, full: bool) -> Iterator[Page]:
        if spec.name == "owners":
            yield from self._owners(None if full else cursor)
        elif spec.name in OBJECTS:
            yield from self.puller.pull(spec, cursor, full)
        else:
            raise FatalError(f"the HubSpot adapter does not read {spec.name!r}")

    def _owners(self, cursor: str | None) -> Iterator[Page]:
        """Owners have no search and no change filter: a pull lists the active ones (500 a call)
        and, unless they are exactly those its cursor summarises (`owners_digest`, when one page
        holds them), goes on with the archived (deactivated) ones as tombstones: a full pass. An
        owner archived leaves the active listing, so the digest changes then too."""
        newest = [0]
        _, known = split_cursor(cursor)
        first = self.api.owners_page(None, False) or {}
        if known is not None and _last_page(first) and owners_digest(first) == known:
            yield Page([], None, done=True)  # nothing changed since the last pass: cursor kept
            return

        def pages() -> Iterator[Page]:
            for archived in (False, True):
                after: str | None = None
                tokens: set[Any] = set()
                while True:
                    if not archived and after is None:
                        data = first  # the listing read above
                    else:
                        data = self.api.owners_page(after, archived) or {}
                    records = [_owner(row, archived) for row in data.get("results") or []]
                    for rec in records:
                        stamp = rec.modstamp.timestamp() if rec.modstamp else 0
                        newest[0] = max(newest[0], int(stamp * 1000))
                    yield Page(records, None, full=True)
                    after = _next_after(data)
                    if after is None:
                        break
                    check_pagination(tokens, after)

        def final() -> str | None:  # a summary only of one page (what one call finds again)
            return with_summary(str(newest[0]), owners_digest(first) if _last_page(first) else None)

        yield from mark_last(pages(), final)

    # -- push ----------------------------------------------------------------------------------

    def push(self, writes: list[Write]) -> list[WriteResult]:
        """Batch updates (and creates, for writes without an id), 100 a call per object. Every
        write gets a result; a call HubSpot refuses fails its batch only, and once the budget or
        the credentials give out the rest are not sent (budget, or retry later)."""
        groups: dict[tuple[str, bool], list[int]] = {}
        for i, w in enumerate(writes):
            groups.setdefault((w.object, w.id is None), []).append(i)
        results: dict[int, WriteResult] = {}
        stopped: tuple[Outcome, str] | None = None
        for (obj, create), indexes in groups.items():
            for start in range(0, len(indexes), BATCH_LIMIT):
                batch = [(i, writes[i]) for i in indexes[start : start + BATCH_LIMIT]]
                if stopped is None:
                    answer = self._push_batch(obj, create, batch)
                    if isinstance(answer, tuple):
                        stopped = answer
                    else:
                        results.update(answer)
                if stopped is not None:
                    results.update(_failed(batch, *stopped))
        return [results[i] for i in range(len(writes))]

    def _push_batch(
        self, obj: str, create: bool, batch: list[tuple[int, Write]]
    ) -> dict[int, WriteResult] | tuple[Outcome, str]:
        """One batch call's results; (outcome, message) instead when no more calls should be
        made: the budget is spent, or the run cannot go on (credentials, TLS)."""
        try:
            if create:
                created = [(_values(w), str(i)) for i, w in batch]
                links = [_links(w) for _, w in batch]
                data = self.api.batch_create(obj, created, links if any(links) else None)
            else:
                rows = [(str(w.id), _values(w), str(i)) for i, w in batch]
                data = self.api.batch_update(obj, rows)
        except HubSpotRefused as exc:
            gone = not create and (exc.status == 404 or exc.category == GONE_CATEGORY)
            return _failed(batch, Outcome.GONE if gone else Outcome.REFUSED, exc.detail or str(exc))
        except RetriableError as exc:
            unknown = create and not isinstance(exc, RateLimited)  # sent, and maybe made
            return _failed(batch, Outcome.MAYBE_APPLIED if unknown else Outcome.RETRY, str(exc))
        except BudgetExhausted as exc:
            return Outcome.BUDGET, str(exc)
        except CredentialsRefused:  # the config's token is wrong: the push stops, exit 2
            raise
        except FatalError as exc:
            return Outcome.RETRY, str(exc)
        return _batch_results(data or {}, batch)

    # -- describe, usage, close ------------------------------------------------------------------

    def describe(self, object_name: str) -> dict[str, FieldInfo]:
        """Field name -> FieldInfo from the properties API (owners: their fixed fields)."""
        if object_name == "owners":
            return dict(OWNER_FIELDS)
        if object_name in self._describes:  # what the sync knows already (its cache)
            return dict(self._describes[object_name])
        data = self.api.properties(object_name) or {}
        out = {}
        for prop in data.get("results") or []:
            meta = prop.get("modificationMetadata") or {}
            writable = not meta.get("readOnlyValue", False) and not prop.get("calculated", False)
            out[prop["name"]] = FieldInfo(
                prop["name"],
                str(prop.get("type") or ""),
                writable,
                custom=not prop.get("hubspotDefined", False),
            )
        return out

    # -- write-back: install and plan notes ------------------------------------------------------

    def ensure_fields(
        self,
        object_name: str,
        specs: list[FieldSpec],
        group: FieldGroup | None = None,
        dry_run: bool = False,
    ) -> list[FieldStep]:
        """Carnet's property group and properties on `object_name`: what exists, what is made
        (unless `dry_run`), what exists with another type (then nothing is made)."""
        return writeback.ensure_fields(self.api, object_name, specs, group, dry_run)

    def find_plan_notes(self, parents: list[str]) -> dict[str, str]:
        return writeback.find_plan_notes(self.api, parents, plan_marker)

    def push_notes(self, notes: list[PlanNote]) -> list[WriteResult]:
        return self.push([writeback.note_write(n) for n in notes])

    def usage(self) -> ApiUsage:
        u = self.api.usage
        return ApiUsage(used=u.used, limit=u.limit, calls=u.calls)

    def close(self) -> None:
        self.api.close()


def owners_digest(data: dict[str, Any]) -> str:
    """A digest of one listing of owners, every field of every owner."""
    rows = data.get("results") or []
    return hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _last_page(data: dict[str, Any]) -> bool:
    return _next_after(data) is None


def _next_after(data: dict[str, Any]) -> str | None:
    after = ((data.get("paging") or {}).get("next") or {}).get("after")
    return None if after is None else str(after)


def _owner(row: dict[str, Any], archived: bool) -> RawRecord:
    modstamp = as_datetime(epoch_ms(row.get("updatedAt")))
    return RawRecord(str(row["id"]), dict(row), deleted=archived, modstamp=modstamp)


def _links(write: Write) -> list[dict[str, Any]]:
    """A creation's associations as the v3 create takes them."""
    return [
        {
            "to": {"id": to_id},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}],
        }
        for _obj, to_id, type_id in write.associate
    ]


def _values(write: Write) -> dict[str, str]:
    """HubSpot takes every value as text: "" clears, datetimes as epoch ms, booleans lower-case."""
    return {name: _text(value) for name, value in write.values.items()}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return str(int(value.timestamp() * 1000))
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _failed(
    batch: list[tuple[int, Write]], outcome: Outcome, message: str
) -> dict[int, WriteResult]:
    return {i: WriteResult(w.key, outcome, w.id, message) for i, w in batch}


def _batch_results(data: dict[str, Any], batch: list[tuple[int, Write]]) -> dict[int, WriteResult]:
    """Per-write results of a batch answer (200/201, or 207 with `errors[]`): results and errors
    are matched to writes by objectWriteTraceId, else by record id."""
    by_trace = {str(i): (i, w) for i, w in batch}
    by_id = {str(w.id): (i, w) for i, w in batch if w.id is not None}
    out: dict[int, WriteResult] = {}
    for row in data.get("results") or []:
        hit = by_trace.get(str(row.get("objectWriteTraceId"))) or by_id.get(str(row.get("id")))
        if hit is not None:
            out[hit[0]] = WriteResult(hit[1].key, Outcome.OK, str(row.get("id")))
    for err in data.get("errors") or []:
        context = err.get("context") or {}
        hits = [by_trace.get(str(t)) for t in context.get("objectWriteTraceId") or []]
        hits += [by_id.get(str(t)) for t in context.get("ids") or []]
        for i, w in (h for h in hits if h is not None):
            outcome = _outcome_of(str(err.get("category")), w)
            out[i] = WriteResult(w.key, outcome, w.id, str(err.get("message") or ""))
    for i, w in batch:  # no word on it: an update may be sent again; a creation may exist now
        unknown = Outcome.RETRY if w.id is not None else Outcome.MAYBE_APPLIED
        out.setdefault(i, WriteResult(w.key, unknown, w.id, "HubSpot gave no result for it"))
    return out


def _outcome_of(category: str, write: Write) -> Outcome:
    """What one record's error in a batch answer (207) means."""
    if category in RETRIABLE_CATEGORIES:
        return Outcome.RETRY
    if category == GONE_CATEGORY and write.id is not None:
        return Outcome.GONE
    return Outcome.REFUSED
