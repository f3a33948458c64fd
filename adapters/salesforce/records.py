"""Pure helpers of the Salesforce adapter: the SOQL it sends, the cursor's format, and REST JSON
records or Bulk 2.0 CSV rows turned into RawRecords with the same typed values.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from simple_salesforce import format_soql

from connector.core.answers import Answer
from connector.core.errors import FatalError
from connector.core.records import ObjectSpec, RawRecord

MERGEABLE = {"Account", "Contact", "Lead"}  # the objects whose merge losers carry MasterRecordId
SYSTEM_FIELDS = ("Id", "SystemModstamp", "IsDeleted")
FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?$")
NUMBER_TYPES = {"double", "currency", "percent"}
WINDOW_SEP = "~"  # in a cursor, between the newest SystemModstamp and the next pull's start


# -- SOQL -----------------------------------------------------------------------------------------
def select_fields(spec: ObjectSpec) -> list[str]:
    """What to SELECT: the mapping's fields plus Id, SystemModstamp, IsDeleted (MasterRecordId)."""
    if not FIELD_NAME.match(spec.name) or "." in spec.name:
        raise FatalError(f"Salesforce object name {spec.name!r} is not an API name")
    extra = ("MasterRecordId",) if spec.name in MERGEABLE else ()
    out: dict[str, str] = {}
    for name in (*SYSTEM_FIELDS, *spec.fields, *extra):
        if name.startswith("_"):
            continue  # a pseudo-field the adapter computes; Salesforce has none
        if not FIELD_NAME.match(name):
            raise FatalError(f"Salesforce {spec.name}: {name!r} is not a field API name")
        out.setdefault(name.casefold(), name)
    return list(out.values())


def soql(obj: str, fields: list[str], since: datetime | None, ordered: bool = True) -> str:
    """SELECT ... FROM obj [WHERE SystemModstamp >= since] [ORDER BY SystemModstamp, Id]."""
    query = f"SELECT {', '.join(fields)} FROM {obj}"
    if since is not None:
        query += format_soql(" WHERE SystemModstamp >= {:literal}", soql_datetime(since))
    return query + (" ORDER BY SystemModstamp, Id" if ordered else "")


def soql_datetime(dt: datetime) -> str:
    """A SOQL dateTime literal, whole seconds rounded down: 2024-01-31T12:00:00Z."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- the cursor -----------------------------------------------------------------------------------
def parse_stamp(value: str) -> datetime:
    """Salesforce's 2024-01-31T12:00:00.000+0000 (or ...Z) as an aware datetime."""
    return datetime.fromisoformat(value)


def since_cursor(cursor: str, overlap_seconds: int) -> datetime:
    """Where an incremental pull starts: the window its cursor names ("<stamp>~<window>", what a
    finished pull leaves), else the cursor less the overlap window."""
    text, _, window = cursor.partition(WINDOW_SEP)
    try:
        stamp = parse_stamp(window or text)
    except ValueError:
        raise FatalError(f"Salesforce cursor {cursor!r} is not a SystemModstamp") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp if window else stamp - timedelta(seconds=overlap_seconds)


def stamp_of(cursor: str | None) -> str | None:
    """The newest SystemModstamp a cursor names (without its window)."""
    return cursor.partition(WINDOW_SEP)[0] or None if cursor else None


def window_cursor(newest: str, asked: datetime | None, overlap_seconds: int) -> str:
    """The cursor a finished pull leaves: its newest SystemModstamp, and where the next pull
    starts: the overlap back from the later of that stamp and Salesforce's time when the query
    was answered (what was committed before then, the query saw). Records changed long ago are
    then not read again by every pull until something newer changes."""
    stamp = parse_stamp(newest)
    stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    start = max(stamp, asked or stamp) - timedelta(seconds=overlap_seconds)
    return f"{newest}{WINDOW_SEP}{start.astimezone(UTC).isoformat()}"


# -- answers --------------------------------------------------------------------------------------
def query_page(answer: Answer, body: Any) -> dict[str, Any]:
    """A query (or queryMore) answer, checked: `done`, `records` (each with its Id), and
    `nextRecordsUrl` when not done."""
    page = answer.object(body, "done", "records")
    answer.rows(page, "records", "Id")
    if not page["done"] and not answer.text(page, "nextRecordsUrl"):
        raise answer.unexpected("a nextRecordsUrl on a page that is not done", "none")
    return page


def describe_fields(answer: Answer, body: Any) -> list[dict[str, Any]]:
    """The `fields` of a describe answer, each with its name and type."""
    return answer.rows(answer.object(body, "fields"), "fields", "name", "type")


# -- records --------------------------------------------------------------------------------------
def raw_record(fields: dict[str, Any]) -> RawRecord:
    """One record (REST JSON, or a typed CSV row) as a RawRecord."""
    fields.pop("attributes", None)
    stamp = fields.get("SystemModstamp")
    return RawRecord(
        id=str(fields["Id"]),
        fields=fields,
        deleted=bool(fields.get("IsDeleted")),
        merged_into=fields.get("MasterRecordId") or None,
        modstamp=parse_stamp(stamp) if stamp else None,
    )


class Deduper:
    """Drops a record already yielded at the same or a newer SystemModstamp (the overlap of two
    queries); a newer version of it still passes."""

    def __init__(self) -> None:
        self._seen: dict[str, str] = {}

    def fresh(self, records: Iterable[RawRecord], remember: bool = True) -> list[RawRecord]:
        """The records not yielded before; those passing are remembered unless `remember` is
        false (the last query's rows, which nothing read later can repeat)."""
        return [rec for rec in records if self.passes(rec, remember)]

    def passes(self, rec: RawRecord, remember: bool = True) -> bool:
        """Whether `rec` is not yielded before (remembered as yielded, unless not `remember`)."""
        stamp = str(rec.fields.get("SystemModstamp") or "")
        before = self._seen.get(rec.id)
        if before is not None and before >= stamp:
            return False
        if remember:
            self._seen[rec.id] = stamp
        return True


# -- Bulk 2.0 CSV ---------------------------------------------------------------------------------
def converter(sf_type: str) -> Callable[[str], Any]:
    """How a CSV cell of a describe type becomes the value REST's JSON would have had."""
    if sf_type == "boolean":
        return lambda v: v == "true"
    if sf_type == "int":
        return int
    if sf_type in NUMBER_TYPES:
        return float
    if sf_type == "datetime":  # Bulk writes ...000Z, REST ...000+0000
        return lambda v: v[:-1] + "+0000" if v.endswith("Z") else v
    return str


def csv_lines(data: bytes) -> Iterator[str]:
    """The lines of a UTF-8 CSV answer, each with its line ending, decoded (and without NUL
    characters) one at a time: no decoded copy of the whole answer is held. (A newline byte is
    never part of another UTF-8 character; a quoted value's newlines the CSV reader joins.)"""
    start = 0
    while start < len(data):
        end = data.find(b"\n", start) + 1 or len(data)
        yield data[start:end].decode("utf-8").replace("\x00", "")
        start = end


def csv_records(lines: Iterable[str], types: dict[str, str]) -> Iterator[RawRecord]:
    """The rows of one Bulk 2.0 results chunk (header line first), typed as REST types them."""
    reader = csv.reader(lines)
    header = next(reader, None)
    if not header:
        return
    convert = [converter(types.get(name.casefold(), "string")) for name in header]
    for row in reader:
        if not row:
            continue
        fields = {
            name: (conv(cell) if cell != "" else None)
            for name, conv, cell in zip(header, convert, row, strict=True)
        }
        yield raw_record(fields)
