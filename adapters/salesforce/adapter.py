"""The Salesforce adapter: pulls objects incrementally on SystemModstamp through queryAll (deletes
and merges included), full pulls by REST or Bulk API 2.0, pushes through sObject Collections.

A pull yields one Page per API page. Incremental pulls and REST full pulls are ordered by
SystemModstamp, so each page's cursor is its last SystemModstamp and a crash resumes at a page
boundary. A full pull whose first REST page shows at least `bulk_threshold` rows reads the rest
through a Bulk 2.0 queryAll job (unordered, so only its last page carries the cursor), or on
through REST when the org has no async API. Calls stop at `api_budget_share` of the allowance.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Generator, Iterator
from functools import partial
from typing import Any

from simple_salesforce import Salesforce

from adapters.salesforce import writeback
from adapters.salesforce.access import Access
from adapters.salesforce.auth import TIMEOUT_S
from adapters.salesforce.bulk import results, start_job, wait_for
from adapters.salesforce.campaigns import CampaignsMixin
from adapters.salesforce.client import Client
from adapters.salesforce.push import push
from adapters.salesforce.records import (
    Deduper,
    describe_fields,
    parse_stamp,
    query_page,
    raw_record,
    select_fields,
    since_cursor,
    soql,
    stamp_of,
    window_cursor,
)
from connector.core.http import check_pagination
from connector.core.protocols import FieldGroup, known_describes
from connector.core.records import (
    ApiUsage,
    FieldInfo,
    FieldSpec,
    FieldStep,
    ObjectSpec,
    Page,
    PlanNote,
    RawRecord,
    Write,
    WriteResult,
)

REST_PAGE = 2000  # Salesforce's largest query batch
BULK_CHUNK = 10_000  # rows a Bulk 2.0 results call asks for (bounded memory, few calls)

Body = dict[str, Any]


class SalesforceAdapter(CampaignsMixin):
    source = "salesforce"

    def __init__(self, settings: Any, secret: Callable[[str], str]):
        self.settings = settings
        self.client = Client(settings, secret)
        self.batch_size = REST_PAGE  # 200..2000, sent as Sforce-Query-Options when smaller
        self.bulk_chunk = BULK_CHUNK
        self._describes = known_describes(settings)  # what the sync knows (its cache)
        self.access = Access(self.client)  # the permission set that grants Carnet's fields

    # -- pull -------------------------------------------------------------------------------------
    def pull(self, spec: ObjectSpec, cursor: str | None, full: bool) -> Iterator[Page]:
        self.client.check_budget()
        full = full or cursor is None
        fields = select_fields(spec)
        since = (
            None if full or cursor is None else since_cursor(cursor, self.settings.overlap_seconds)
        )
        bodies = self._bodies(spec.name, soql(spec.name, fields, since))
        first = next(bodies)
        asked = self.client.server_time
        rows = int(first.get("totalSize") or 0)
        if full and not first.get("done", True) and rows >= self.settings.bulk_threshold:
            yield from self._bulk_pull(spec.name, fields, first, bodies)
            return
        newest = [None if full else stamp_of(cursor)]
        for page in self._rest_pages([first], bodies, full):
            newest[0] = page.cursor or newest[0]
            if page.done and newest[0] is not None:
                page.cursor = window_cursor(newest[0], asked, self.settings.overlap_seconds)
            yield page

    def _bodies(self, obj: str, query: str) -> Generator[Body, None, None]:
        """queryAll's pages: the query, then nextRecordsUrl after nextRecordsUrl."""
        what = f"Salesforce {obj} query"
        options: dict[str, Any] = {"timeout": TIMEOUT_S, "include_deleted": True}
        if self.batch_size != REST_PAGE:
            options["headers"] = {"Sforce-Query-Options": f"batchSize={self.batch_size}"}
        body: Body = self.client.call(lambda sf: sf.query(query, **options), what)
        seen: set[Any] = set()
        while True:
            body = query_page(self.client.answer(), body)
            yield body
            if body["done"]:
                return
            url = body["nextRecordsUrl"]
            check_pagination(seen, url)
            body = self.client.call(partial(_query_more, url=url, options=options), what)

    def _rest_pages(self, head: list[Body], bodies: Iterator[Body], full: bool) -> Iterator[Page]:
        """A Page per REST page; ordered by SystemModstamp, so its last one is the cursor. The
        pages of one query do not overlap: nothing of them is remembered (a pull's memory does not
        grow with the object)."""
        for body in itertools.chain(head, bodies):
            raws = [raw_record(r) for r in body.get("records") or []]
            done = bool(body.get("done", True))
            last = raws[-1].fields.get("SystemModstamp") if raws else None
            yield Page(raws, cursor=last, full=full, done=done)
            if not done:
                self.client.check_budget()

    def _bulk_pull(
        self,
        obj: str,
        fields: list[str],
        first: Body,
        bodies: Generator[Body, None, None],
    ) -> Iterator[Page]:
        """The first REST page, then the rest (SystemModstamp >= its last) through Bulk 2.0: its
        rows that the first page gave already are dropped (the job's rows come once each)."""
        dedupe = Deduper()
        head = dedupe.fresh(raw_record(r) for r in first["records"])
        high = max(str(r.fields["SystemModstamp"]) for r in head)
        yield Page(head, cursor=None, full=True)
        self.client.check_budget()
        query = soql(obj, fields, parse_stamp(high), ordered=False)
        job = start_job(self.client, obj, query)
        if job is None:  # no async API in this org: carry on with the REST query
            yield from self._rest_pages([], bodies, full=True)
            return
        bodies.close()
        wait_for(self.client, obj, job)
        types = {name.casefold(): f.type for name, f in self.describe(obj).items()}
        for records, done in results(self.client, obj, job, types, self.bulk_chunk):
            fresh = (r for r in records if dedupe.passes(r, remember=False))
            high = yield from self._split(_batched(fresh, self.batch_size), high, done)
            if not done:
                self.client.check_budget()

    def _split(
        self, pages: Iterator[list[RawRecord]], high: str, done: bool
    ) -> Generator[Page, None, str]:
        """Records of one bulk chunk, read `batch_size` at a time, as Pages; the newest
        SystemModstamp so far (`high` before them) is the cursor of the last chunk's last page.
        Returns that newest stamp."""
        page = next(pages, [])
        while True:
            high = max([high, *(str(r.fields["SystemModstamp"]) for r in page)])
            following = next(pages, None)
            if following is None:
                yield Page(page, cursor=high if done else None, full=True, done=done)
                return high
            yield Page(page, cursor=None, full=True, done=False)
            page = following

    # -- the rest of the protocol -----------------------------------------------------------------
    def describe(self, object_name: str) -> dict[str, FieldInfo]:
        if object_name not in self._describes:
            body: Any = self.client.call(
                lambda sf: sf.restful(f"sobjects/{object_name}/describe", timeout=TIMEOUT_S),
                f"Salesforce {object_name} describe",
            )
            fields = describe_fields(self.client.answer(), body)
            self._describes[object_name] = {
                f["name"]: FieldInfo(
                    name=f["name"],
                    type=f["type"],
                    writable=bool(f.get("updateable")),
                    length=f.get("length") or None,
                    custom=bool(f.get("custom")),
                )
                for f in fields
            }
        return self._describes[object_name]

    def push(self, writes: list[Write]) -> list[WriteResult]:
        return push(self.client, writes)

    # -- write-back: install and plan notes ------------------------------------------------------
    def ensure_fields(
        self,
        object_name: str,
        specs: list[FieldSpec],
        group: FieldGroup | None = None,
        dry_run: bool = False,
    ) -> list[FieldStep]:
        """The custom fields of `object_name` Carnet writes: what exists, what is made (unless
        `dry_run`), what exists with another type (left alone: the caller refuses it); then read
        and edit on each for Carnet's user (access.py): a field describe does not show but the
        Tooling API finds is granted, never made again."""
        described = self.describe(object_name)
        shown = {name.casefold() for name in described}
        unseen = [s.name for s in specs if s.name.casefold() not in shown]
        hidden = writeback.hidden_fields(self.client, object_name, unseen) if unseen else {}
        steps = writeback.field_plan(object_name, specs, described, hidden)
        if any(s.action == "incompatible" for s in steps):
            return steps  # the caller refuses the whole install; make nothing
        wanted = {s.name: s for s in specs}
        for i, step in enumerate(steps):
            if step.action != "create" or dry_run:
                continue
            if not writeback.create_field(self.client, object_name, wanted[step.name]):
                steps[i] = FieldStep(object_name, step.name, "exists", "made meanwhile")
        steps += self.access.ensure(object_name, [s.name for s in specs], dry_run)
        if not dry_run:
            self._describes.pop(object_name, None)
        return steps

    def find_plan_notes(self, parents: list[str]) -> dict[str, str]:
        return writeback.find_plan_notes(self.client, parents)

    def push_notes(self, notes: list[PlanNote]) -> list[WriteResult]:
        return writeback.push_notes(self.client, notes)

    def usage(self) -> ApiUsage:
        return self.client.usage()

    def close(self) -> None:
        self.client.close()


def _batched(records: Iterator[RawRecord], size: int) -> Iterator[list[RawRecord]]:
    while batch := list(itertools.islice(records, size)):
        yield batch


def _query_more(sf: Salesforce, url: str, options: dict[str, Any]) -> Body:
    body: Body = sf.query_more(url, identifier_is_url=True, **options)
    return body
