"""The Salesforce stand-in's REST data resources: query / queryAll with 2,000-row pages and
query locators, sObject describe and CRUD, updated/ and deleted/ windows, sObject Collections.
"""

from __future__ import annotations

import base64
import itertools
import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .core import HTTPError, Request, Response, iso
from .sf_fields import SObject
from .sf_ids import make_id, normalize_id
from .sf_store import RECYCLE_BIN_DAYS, Record
from .sf_validate import RecordError, coerce
from .sf_write import (
    Collections,
    ExternalIndex,
    create_record,
    delete_record,
    external_field,
    target,
    update_record,
    upsert_one,
)
from .soql import Bound, SoqlError, compile_query

if TYPE_CHECKING:
    from .salesforce import SalesforceStandIn, Session

PAGE = 2000
LOCATOR_IDLE = timedelta(minutes=15)
UPDATED_DAYS = 30
MAX_REPLICATION_IDS = 600_000
NOT_FOUND = "The requested resource does not exist"


def record_body(sobj: SObject, rec: Record, version: str, raw: bool = False) -> Record:
    """A record as `GET sobjects/{Type}/{id}` shows it; base64 fields become blob URLs."""
    base = f"/services/data/v{version}/sobjects/{sobj.name}/{rec['Id']}"
    out: Record = {"attributes": {"type": sobj.name, "url": base}}
    for f in sobj.visible():
        value = rec.get(f.name)
        out[f.name] = f"{base}/{f.name}" if f.type == "base64" and value and not raw else value
    return out


@dataclass
class Cursor:
    """What a query locator remembers: the rows as they were when the query ran."""

    bound: Bound
    rows: list[Record]
    batch: int
    endpoint: str
    used: datetime


def minute(dt: datetime) -> datetime:
    return dt.replace(second=0, microsecond=0)


class RestAPI:
    def __init__(self, sf: SalesforceStandIn):
        self.sf = sf
        self.cursors: OrderedDict[str, Cursor] = OrderedDict()
        self.locator_numbers = itertools.count(1)

    def reset(self) -> None:
        self.cursors.clear()

    def register(self) -> None:
        api = self.sf.api
        api("GET", "/query", lambda r, s: self.query(r, s, "query"))
        api("GET", "/queryAll", lambda r, s: self.query(r, s, "queryAll"))
        api("GET", "/query/{locator}", self.query_more)
        api("GET", "/queryAll/{locator}", self.query_more)
        api("GET", "/sobjects", self.describe_global)
        api("GET", "/sobjects/{type}", self.sobject_info)
        api("POST", "/sobjects/{type}", self.create)
        api("GET", "/sobjects/{type}/describe", self.describe)
        api("GET", "/sobjects/{type}/updated", self.updated)
        api("GET", "/sobjects/{type}/deleted", self.deleted)
        api("GET", "/sobjects/{type}/{id}", self.get)
        api("PATCH", "/sobjects/{type}/{id}", self.update)
        api("DELETE", "/sobjects/{type}/{id}", self.delete)
        api("GET", "/sobjects/{type}/{a}/{b}", self.get_sub)
        api("PATCH", "/sobjects/{type}/{a}/{b}", self.upsert)
        api("POST", "/composite/sobjects", lambda r, s: self.collection(r, s, "create"))
        api("PATCH", "/composite/sobjects", lambda r, s: self.collection(r, s, "update"))
        api("DELETE", "/composite/sobjects", self.collection_delete)
        api("PATCH", "/composite/sobjects/{type}/{field}", self.collection_upsert)

    def sobject(self, req: Request, session: Session) -> SObject:
        """The object a route names, as the session's user sees it (field-level security)."""
        sobj = self.sf.schema_for(session).get(req.params["type"])
        if sobj is None:
            raise HTTPError(404, "NOT_FOUND", NOT_FOUND)
        return sobj

    # -- query -------------------------------------------------------------------------------------
    def query(self, req: Request, session: Session, endpoint: str) -> Response:
        bound = self.compile(req.arg("q"), session)
        rows = bound.run(self.sf.store.rows(bound.obj.name, include_deleted=endpoint == "queryAll"))
        if bound.count:
            return Response(200, {"totalSize": len(rows), "done": True, "records": []})
        cursor = Cursor(bound, rows, batch_size(req), endpoint, self.sf.clock.now())
        return Response(200, self.page(cursor, "", 0, req.params["version"]))

    def compile(self, q: str | None, session: Session) -> Bound:
        try:
            return compile_query(q or "", self.sf.schema_for(session), self.sf.store.lookup)
        except SoqlError as err:
            raise HTTPError(400, err.code, err.message) from None

    def page(self, cursor: Cursor, locator: str, start: int, version: str) -> dict[str, Any]:
        end = start + cursor.batch
        url_base = f"/services/data/v{version}/sobjects"
        body: dict[str, Any] = {"totalSize": len(cursor.rows), "done": end >= len(cursor.rows)}
        if not body["done"]:
            if not locator:
                locator = make_id("01g", f"locator:{next(self.locator_numbers)}")
                self.cursors[locator] = cursor
                while len(self.cursors) > 500:
                    self.cursors.popitem(last=False)
            # Salesforce hands queryAll's follow-up pages out under /query/ as well
            body["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{end}"
        body["records"] = [cursor.bound.render(r, url_base) for r in cursor.rows[start:end]]
        return body

    def query_more(self, req: Request, session: Session) -> Response:
        locator, _, start = req.params["locator"].rpartition("-")
        cursor = self.cursors.get(locator)
        now = self.sf.clock.now()
        if cursor is None or not start.isdigit() or now - cursor.used > LOCATOR_IDLE:
            raise HTTPError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        cursor.used = now
        return Response(200, self.page(cursor, locator, int(start), req.params["version"]))

    # -- describe ----------------------------------------------------------------------------------
    def describe_global(self, req: Request, session: Session) -> Response:
        version = req.params["version"]
        objs = [o.summary(version) for o in self.sf.schema.objects.values()]
        return Response(200, {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": objs})

    def sobject_info(self, req: Request, session: Session) -> Response:
        summary = self.sobject(req, session).summary(req.params["version"])
        return Response(200, {"objectDescribe": summary, "recentItems": []})

    def describe(self, req: Request, session: Session) -> Response:
        return Response(200, self.sobject(req, session).describe(req.params["version"]))

    # -- single records ----------------------------------------------------------------------------
    def live(self, sobj: SObject, record_id: str) -> Record:
        rid = normalize_id(record_id)
        rec = self.sf.store.lookup(sobj.name, rid) if rid else None
        if rec is None or rec["IsDeleted"]:
            raise HTTPError(404, "NOT_FOUND", NOT_FOUND)
        return rec

    def get(self, req: Request, session: Session) -> Response:
        sobj = self.sobject(req, session)
        body = record_body(sobj, self.live(sobj, req.params["id"]), req.params["version"])
        wanted = req.arg("fields")
        if wanted:
            names = {n.strip().lower() for n in wanted.split(",")}
            unknown = [n for n in names if sobj.field(n) is None]
            if unknown:
                raise HTTPError(
                    400,
                    "INVALID_FIELD",
                    f"No such column '{unknown[0]}' on sobject of type {sobj.name}",
                )
            body = {k: v for k, v in body.items() if k == "attributes" or k.lower() in names}
        return Response(200, body)

    def create(self, req: Request, session: Session) -> Response:
        sobj = self.sobject(req, session)
        body = json_object(req)
        try:
            rec = create_record(self.sf.store, sobj, coerce(sobj, body), session.user_id)
        except RecordError as err:
            raise as_http(err) from None
        return Response(201, {"id": rec["Id"], "success": True, "errors": []})

    def update(self, req: Request, session: Session) -> Response:
        sobj = self.sobject(req, session)
        values = coerce(sobj, json_object(req))
        rid = self.addressed(sobj, req.params["id"])
        try:
            update_record(self.sf.store, sobj, rid, values, session.user_id)
        except RecordError as err:
            raise as_http(err) from None
        return Response(204)

    def addressed(self, sobj: SObject, record_id: str) -> str:
        """The record a PATCH or DELETE names; a bad, unknown or deleted id answers 404."""
        try:
            return target(self.sf.store, sobj, record_id)
        except RecordError as err:
            if err.code == "ENTITY_IS_DELETED":
                raise as_http(err, 404) from None
            raise HTTPError(404, "NOT_FOUND", NOT_FOUND) from None

    def delete(self, req: Request, session: Session) -> Response:
        sobj = self.sobject(req, session)
        rid = self.addressed(sobj, req.params["id"])
        try:
            delete_record(self.sf.store, sobj, rid, session.user_id)
        except RecordError as err:
            raise as_http(err) from None
        return Response(204)

    def get_sub(self, req: Request, session: Session) -> Response:
        """`{id}/{blobField}` (a ContentNote's Content) or `{externalIdField}/{value}`."""
        sobj = self.sobject(req, session)
        a, b = req.params["a"], req.params["b"]
        blob = sobj.field(b)
        if normalize_id(a) and blob is not None and blob.type == "base64":
            raw = base64.b64decode(self.live(sobj, a).get(blob.name) or "")
            return Response(200, raw, content_type="application/octetstream")
        field = external_field(sobj, a)
        index = ExternalIndex(self.sf.store, sobj, field)
        ids = index.find(b)
        if not ids:
            raise HTTPError(404, "NOT_FOUND", NOT_FOUND)
        version = req.params["version"]
        if len(ids) > 1:
            urls = [f"/services/data/v{version}/sobjects/{sobj.name}/{i}" for i in ids]
            return Response(300, urls)
        rec = self.sf.store.lookup(sobj.name, ids[0])
        assert rec is not None
        return Response(200, record_body(sobj, rec, version))

    def upsert(self, req: Request, session: Session) -> Response:
        sobj = self.sobject(req, session)
        field = external_field(sobj, req.params["a"])
        values = coerce(sobj, json_object(req))
        if field.name in values:
            raise HTTPError(
                400,
                "INVALID_FIELD",
                f"The field {field.name} can't be set in the request body of an upsert by it",
            )
        values[field.name] = req.params["b"]
        index = ExternalIndex(self.sf.store, sobj, field)
        if len(index.find(req.params["b"])) > 1:
            version = req.params["version"]
            ids = index.find(req.params["b"])
            return Response(
                300, [f"/services/data/v{version}/sobjects/{sobj.name}/{i}" for i in ids]
            )
        try:
            result = upsert_one(self.sf.store, sobj, field, index, values, session.user_id)
        except RecordError as err:
            raise as_http(err) from None
        body = {"id": result["id"], "success": True, "errors": [], "created": result["created"]}
        return Response(201 if result["created"] else 200, body)

    # -- replication -------------------------------------------------------------------------------
    def window(self, req: Request, days: int) -> tuple[datetime, datetime, datetime]:
        """(start, end, latestDateCovered), each cut to the minute, or Salesforce's error."""
        now = self.sf.clock.now()
        try:
            start, end = (parse_time(req.arg(k)) for k in ("start", "end"))
        except ValueError as exc:
            raise HTTPError(400, "INVALID_REPLICATION_DATE", str(exc)) from None
        start, end = minute(start), minute(end)
        if end - start < timedelta(minutes=1):
            raise HTTPError(
                400,
                "INVALID_REPLICATION_DATE",
                "EndDate must chronologically follow the StartDate by at least one minute",
            )
        if start < now - timedelta(days=days):
            raise HTTPError(
                400, "INVALID_REPLICATION_DATE", f"startDate cannot be more than {days} days ago"
            )
        return start, end, min(end, minute(now))

    def updated(self, req: Request, session: Session) -> Response:
        sobj = self.sobject(req, session)
        start, _, latest = self.window(req, UPDATED_DAYS)
        lo, hi = iso(start), iso(latest)
        ids = [r["Id"] for r in self.sf.store.rows(sobj.name) if lo <= r["SystemModstamp"] < hi]
        check_id_limit(len(ids))
        return Response(200, {"ids": ids, "latestDateCovered": hi})

    def deleted(self, req: Request, session: Session) -> Response:
        sobj = self.sobject(req, session)
        start, _, latest = self.window(req, RECYCLE_BIN_DAYS)
        lo, hi = iso(start), iso(latest)
        gone = [
            {"id": r["Id"], "deletedDate": r["SystemModstamp"]}
            for r in self.sf.store.rows(sobj.name, include_deleted=True)
            if r["IsDeleted"] and lo <= r["SystemModstamp"] < hi
        ]
        check_id_limit(len(gone))
        earliest = minute(self.sf.clock.now() - timedelta(days=RECYCLE_BIN_DAYS))
        body = {"deletedRecords": gone, "earliestDateAvailable": iso(earliest)}
        return Response(200, {**body, "latestDateCovered": hi})

    # -- sObject Collections -----------------------------------------------------------------------
    def writer(self, session: Session) -> Collections:
        schema = self.sf.schema_for(session)
        return Collections(self.sf.store, self.sf.faults, session.user_id, schema)

    def collection(self, req: Request, session: Session, action: str) -> Response:
        body = json_object(req)
        records = body.get("records")
        if not isinstance(records, list):
            raise HTTPError(400, "JSON_PARSER_ERROR", "records: a list of records is required")
        writer = self.writer(session)
        all_or_none = flag(body.get("allOrNone"))
        run = writer.create if action == "create" else writer.update
        return Response(200, run(records, all_or_none))

    def collection_upsert(self, req: Request, session: Session) -> Response:
        sobj = self.sobject(req, session)
        field = external_field(sobj, req.params["field"])
        body = json_object(req)
        records = body.get("records")
        if not isinstance(records, list):
            raise HTTPError(400, "JSON_PARSER_ERROR", "records: a list of records is required")
        writer = self.writer(session)
        return Response(200, writer.upsert(sobj, field, records, flag(body.get("allOrNone"))))

    def collection_delete(self, req: Request, session: Session) -> Response:
        ids = [i for i in (req.arg("ids") or "").split(",") if i]
        if not ids:
            raise HTTPError(400, "MISSING_ARGUMENT", "ids: at least one id is required")
        all_or_none = flag(req.arg("allOrNone"))
        writer = self.writer(session)
        return Response(200, writer.delete(ids, all_or_none))


def json_object(req: Request) -> dict[str, Any]:
    body = req.json()
    if not isinstance(body, dict):
        raise HTTPError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
    return body


def flag(value: Any) -> bool:
    """allOrNone as JSON true or the text "true" (a query parameter); anything else is false."""
    return value is True or str(value).lower() == "true"


def as_http(err: RecordError, status: int = 400) -> HTTPError:
    return HTTPError(status, err.code, err.message, extra={"fields": err.fields})


def batch_size(req: Request) -> int:
    """`Sforce-Query-Options: batchSize=N`, kept between 200 and 2,000 as Salesforce does."""
    m = re.search(r"batchSize\s*=\s*(\d+)", req.header("sforce-query-options") or "")
    return PAGE if not m else max(200, min(PAGE, int(m.group(1))))


def parse_time(value: str | None) -> datetime:
    if not value:
        raise ValueError("start and end are required")
    text = value.strip().replace(" ", "+")  # a '+' the client left unescaped
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"invalid date: {value}") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def check_id_limit(n: int) -> None:
    if n > MAX_REPLICATION_IDS:
        raise HTTPError(400, "EXCEEDED_ID_LIMIT", "too many ids: choose a shorter window")
