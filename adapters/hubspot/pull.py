"""Pulling one HubSpot object as pages of raw records: full passes by listing, incremental ones by
search on the modified date (correct past the 10,000-result cap), archived records and merges.

Cursor: the modified date (epoch ms, as a string) up to which every change has been read.
- Full pass (no cursor, `--full`, or a cursor older than archived records are kept): list every
  live record (100 a call, in id order), then every archived one as a tombstone. The cursor is
  only valid once the whole pass is done, so it rides on the last page; a pass that stops early
  (crash, budget) starts again from the beginning next time. The cursor is the high-water mark
  read by one search just before the pass: whatever changes while the pass runs is newer.
- Incremental: archived records whose archivedAt is past the cursor (search never returns them:
  one listing of archived records per object per run), then a search for
  `<modified> GTE cursor - overlap`, sorted ascending, 200 a page, each page with its own cursor.
- Nothing changed: every pull begins with one search, newest first (the probe): how many live
  records there are and the newest modified date (with, while that is within the overlap of
  HubSpot's time, the ids and dates of the records within the overlap of it). The cursor a pass
  ends with carries that summary ("<ms>~<summary>", read before the pass); when the next probe
  finds the same, nothing was created, changed, archived, merged or restored since (an archive
  lowers the count, anything else moves a modified date), and the pull ends there, one call
  made. No summary is taken when more than a page of records share a recent overlap (the pull
  then goes on as above).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from adapters.hubspot.api import SEARCH_LIMIT, HubSpotApi
from adapters.hubspot.assoc import AssociationReader
from connector.core.errors import CarnetError
from connector.core.http import check_pagination
from connector.core.records import ObjectSpec, Page, RawRecord

SEARCH_CAP = 10_000  # results one search query can page through
MERGEABLE = frozenset({"contacts", "companies", "deals"})
STAGE_STATUS = "_stage_status"  # the pseudo-field the mapping reads a deal's open/won/lost from
MAX_CURSOR_AGE_MS = 80 * 86_400_000  # HubSpot keeps archived records 90 days
Row = dict[str, Any]
SUMMARY_SEP = "~"  # between the cursor's modified date and the probe's summary


def modified_prop(obj: str) -> str:
    return "lastmodifieddate" if obj == "contacts" else "hs_lastmodifieddate"


def wanted_props(spec: ObjectSpec) -> list[str]:
    """The properties to ask for: the mapping's, plus what the adapter itself reads."""
    extra = [modified_prop(spec.name)]
    extra += ["hs_merged_object_ids"] if spec.name in MERGEABLE else []
    extra += ["dealstage", "pipeline"] if spec.name == "deals" else []
    fields = [f for f in spec.fields if not f.startswith("_")]
    return list(dict.fromkeys([*fields, *extra]))


def epoch_ms(value: Any) -> int | None:
    """HubSpot's datetimes (ISO 8601 in v3 answers, epoch ms in filters) as epoch ms."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int((dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp() * 1000)


def split_cursor(cursor: str | None) -> tuple[int | None, str | None]:
    """(modified date in epoch ms, the probe's summary) of a cursor; a bare date (the cursor
    before summaries) has none."""
    if not cursor:
        return None, None
    stamp, _, summary = cursor.partition(SUMMARY_SEP)
    return epoch_ms(stamp), summary or None


def with_summary(cursor: str | None, summary: str | None) -> str | None:
    return f"{cursor}{SUMMARY_SEP}{summary}" if cursor is not None and summary else cursor


def summarise(
    data: Row, mod: str, overlap_ms: int, server_ms: int | None
) -> tuple[int | None, str | None]:
    """(newest modified date, summary) of a probe's answer (newest first, a page of them). The
    summary is the live count and the newest date once that is older than the overlap at
    HubSpot's time `server_ms` (every change up to it is in the index by then); while it is
    more recent, the live count and a digest of the ids and dates within the overlap of the
    newest, or no summary when the page does not reach past that overlap."""
    rows = data.get("results") or []
    total = data.get("total")
    if not isinstance(total, int):
        return None, None
    if not rows:
        return None, (f"{total}.empty" if total == 0 else None)
    stamps = [(str(r.get("id")), _key(r, mod)) for r in rows]
    newest = stamps[0][1]
    if newest is None:
        return None, None
    floor = newest - overlap_ms
    if server_ms is not None and newest < server_ms - overlap_ms:
        return newest, f"{total}.{newest}"
    window = sorted((i, k) for i, k in stamps if k is not None and k >= floor)
    last = stamps[-1][1]
    if len(rows) < total and (last is None or last >= floor):
        return newest, None  # the overlap runs past this page
    digest = hashlib.sha256(repr(window).encode()).hexdigest()[:32]
    return newest, f"{total}.{newest}.{digest}"


def as_datetime(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, UTC) if ms is not None else None


def stage_statuses(pipelines: Row) -> dict[Any, str]:
    """(pipeline id, stage id) and stage id -> open / won / lost from each stage's metadata:
    won is closed with probability 1.0, lost is closed otherwise."""
    table: dict[Any, str] = {}
    for pipeline in pipelines.get("results") or []:
        for stage in pipeline.get("stages") or []:
            meta = stage.get("metadata") or {}
            closed = str(meta.get("isClosed", "false")).lower() == "true"
            try:
                probability = float(meta.get("probability") or 0)
            except ValueError:
                probability = 0.0
            status = "open" if not closed else "won" if probability >= 1.0 else "lost"
            table[(str(pipeline.get("id")), str(stage.get("id")))] = status
            table.setdefault(str(stage.get("id")), status)
    return table


def merged_losers(rec: RawRecord) -> list[RawRecord]:
    """Tombstones for the records merged into `rec` (hs_merged_object_ids: "a;b")."""
    ids = str(rec.fields.get("hs_merged_object_ids") or "").split(";")
    return [
        RawRecord(id=i.strip(), fields={}, deleted=True, merged_into=rec.id, modstamp=rec.modstamp)
        for i in dict.fromkeys(ids)
        if i.strip() and i.strip() != rec.id
    ]


def mark_last(
    pages: Iterable[Page], final_cursor: Callable[[], str | None] | None
) -> Iterator[Page]:
    """Pages as they come, the last one marked done (and given `final_cursor()` if set). A page
    held back to see whether it is the last still goes out when the pull stops on an error."""
    held: Page | None = None
    try:
        for page in pages:
            if held is not None:
                yield held
            held = page
    except CarnetError:
        if held is not None:
            yield held
        raise
    last = held or Page([], None)
    if final_cursor is not None:
        last.cursor = final_cursor()
    last.done = True
    yield last


class Puller:
    """Pages of one object for `HubSpotAdapter.pull`."""

    def __init__(self, api: HubSpotApi, overlap_ms: int, now_ms: Callable[[], int]):
        self.api, self.overlap_ms, self.now_ms = api, overlap_ms, now_ms
        self.assoc = AssociationReader(api)
        self._stages: dict[Any, str] | None = None

    def pull(self, spec: ObjectSpec, cursor: str | None, full: bool) -> Iterator[Page]:
        since, summary = split_cursor(cursor)
        self._stages = None  # pipelines are read once per pull of deals
        if full or since is None or since < self.now_ms() - MAX_CURSOR_AGE_MS:
            yield from self._full(spec)
            return
        _, now = self._probe(spec.name)
        if summary is not None and now == summary:
            yield Page([], None, done=True)  # nothing changed since the last pass: cursor kept
            return
        last: dict[str, str | None] = {"cursor": None}

        def pages() -> Iterator[Page]:
            for page in self._incremental(spec, since - self.overlap_ms):
                last["cursor"] = page.cursor or last["cursor"]
                yield page

        yield from mark_last(pages(), lambda: with_summary(last["cursor"] or str(since), now))

    # -- full pass -------------------------------------------------------------------------------

    def _full(self, spec: ObjectSpec) -> Iterator[Page]:
        props = wanted_props(spec)
        high, summary = self._probe(spec.name)
        seen = {"max": 0}

        def pages() -> Iterator[Page]:
            for archived in (False, True):
                for rows in self._listing(spec.name, props, archived, spec.associations):
                    records = self._records(spec, rows, archived, inline=not archived)
                    for rec in records:
                        if rec.modstamp is not None and not rec.deleted:
                            ms = int(rec.modstamp.timestamp() * 1000)
                            seen["max"] = max(seen["max"], ms)
                    yield Page(records, None, full=True)

        def final() -> str | None:
            return with_summary(str(high if high is not None else seen["max"]), summary)

        yield from mark_last(pages(), final)

    def _probe(self, obj: str) -> tuple[int | None, str | None]:
        """One search, newest first: the newest modified date now (the full pass's cursor) and
        the summary a pull with nothing changed finds again (`summarise`)."""
        mod = modified_prop(obj)
        flt = [{"property_name": mod, "operator": "HAS_PROPERTY"}]
        data = self.api.search(obj, flt, mod, None, [mod], descending=True) or {}
        return summarise(data, mod, self.overlap_ms, self.api.server_ms)

    def _listing(
        self, obj: str, props: list[str], archived: bool, assocs: Iterable[str]
    ) -> Iterator[list[Row]]:
        after: str | None = None
        tokens: set[Any] = set()
        while True:
            wanted = list(assocs) if not archived else []
            data = self.api.list_page(obj, after, props, archived, wanted) or {}
            yield data.get("results") or []
            after = ((data.get("paging") or {}).get("next") or {}).get("after")
            if after is None:
                return
            check_pagination(tokens, after)

    # -- incremental -------------------------------------------------------------------------------

    def _incremental(self, spec: ObjectSpec, lower: int) -> Iterator[Page]:
        props = wanted_props(spec)
        for rows in self._listing(spec.name, props, True, ()):
            gone = [r for r in rows if (epoch_ms(r.get("archivedAt")) or 0) >= lower]
            if gone:
                yield Page(self._records(spec, gone, archived=True, inline=False), None)
        top = lower
        for rows in self._changed(spec.name, props, lower):
            records = self._records(spec, rows, archived=False, inline=False)
            for rec in records:
                if rec.modstamp is not None and not rec.deleted:
                    top = max(top, int(rec.modstamp.timestamp() * 1000))
            yield Page(records, str(top) if records else None)

    def _changed(self, obj: str, props: list[str], lower: int) -> Iterator[list[Row]]:
        """Rows modified at or after `lower`, oldest first, each once, past the search cap."""
        return self._keyset(obj, props, modified_prop(obj), lower, [], unique=False)

    def _keyset(
        self, obj: str, props: list[str], key: str, lower: int, extra: list[dict[str, str]],
        unique: bool, skip: frozenset[str] = frozenset(),
    ) -> Iterator[list[Row]]:  # fmt: skip
        """Search sorted by `key` ascending from `lower` (GTE). Paging stops short of the 10,000
        cap; the records at the last key seen are then finished by record id (leaving out those
        already given), and the search goes on past that key (GT)."""
        top, edge, after, strict = lower, set[str](), None, False
        tokens: set[Any] = set()
        while True:
            check_pagination(tokens, (lower, strict, after))
            op = "GT" if strict else "GTE"
            flt = [*extra, {"property_name": key, "operator": op, "value": str(lower)}]
            data = self.api.search(obj, flt, key, after, props) or {}
            rows: list[Row] = []
            for row in data.get("results") or []:
                k = _key(row, key)
                if k is None or (k == top and row["id"] in edge):
                    continue
                if k > top:
                    top, edge = k, set()
                edge.add(row["id"])
                if row["id"] not in skip:
                    rows.append(row)
            yield rows
            after = ((data.get("paging") or {}).get("next") or {}).get("after")
            if after is None:
                return
            if int(after) + SEARCH_LIMIT <= SEARCH_CAP:
                continue
            if not unique:  # others may share the last key: read them by id
                at_top = [{"property_name": key, "operator": "EQ", "value": str(top)}]
                yield from self._keyset(
                    obj, props, "hs_object_id", 0, [*extra, *at_top], True, frozenset(edge)
                )
            lower, strict, after, edge = top, True, None, set()

    # -- records -------------------------------------------------------------------------------

    def _records(
        self, spec: ObjectSpec, rows: list[Row], archived: bool, inline: bool
    ) -> list[RawRecord]:
        """RawRecords of API rows: associations (inline, else read in batch), the deal stage
        status, and the losers of merges right after their survivor."""
        mod = modified_prop(spec.name)
        records = []
        for row in rows:
            props = dict(row.get("properties") or {})
            stamp = row.get("archivedAt") if archived else props.get(mod) or row.get("updatedAt")
            records.append(
                RawRecord(
                    str(row["id"]), props, deleted=archived, modstamp=as_datetime(epoch_ms(stamp))
                )
            )
        if archived:
            return records
        self.assoc.fill(spec.name, spec.associations, records, rows if inline else None)
        if spec.name == "deals" and records:
            self._stage_status(records)
        return [out for rec in records for out in (rec, *merged_losers(rec))]

    def _stage_status(self, deals: list[RawRecord]) -> None:
        if self._stages is None:
            self._stages = stage_statuses(self.api.pipelines("deals") or {})
        for deal in deals:
            stage, pipeline = deal.fields.get("dealstage"), deal.fields.get("pipeline")
            status = self._stages.get((str(pipeline), str(stage))) or self._stages.get(str(stage))
            deal.fields[STAGE_STATUS] = status


def _key(row: Row, key: str) -> int | None:
    value = (row.get("properties") or {}).get(key)
    if key == "hs_object_id":
        return int(value or row["id"])
    return epoch_ms(value)
