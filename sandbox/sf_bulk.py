"""Bulk API 2.0 query jobs for the Salesforce stand-in: create, poll until JobComplete, read
CSV results page by page following `Sforce-Locator`, abort, delete, list.

A job runs its query when it is created (the rows are a snapshot from then); it reports
InProgress until `bulk_delay_s` has passed or it has been polled once, then JobComplete.
"""

from __future__ import annotations

import base64
import csv
import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .core import HTTPError, Request, Response, iso
from .sf_ids import make_id
from .sf_store import Record
from .soql import Bound, SoqlError, compile_query

if TYPE_CHECKING:
    from .salesforce import SalesforceStandIn, Session

DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^"}
DELIMITERS["BACKQUOTE"] = "`"
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
DEFAULT_MAX_RECORDS = 50_000


@dataclass
class Job:
    id: str
    operation: str
    query: str
    bound: Bound
    rows: list[Record]
    created: datetime
    user_id: str
    version: str
    delimiter: str = "COMMA"
    line_ending: str = "LF"
    polls: int = 0
    state: str = "UploadComplete"
    finished: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def info(self) -> dict[str, Any]:
        body = {
            "id": self.id,
            "operation": self.operation,
            "object": self.bound.obj.name,
            "createdById": self.user_id,
            "createdDate": iso(self.created),
            "systemModstamp": iso(self.finished or self.created),
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.version),
            "jobType": "V2Query",
            "lineEnding": self.line_ending,
            "columnDelimiter": self.delimiter,
        }
        if self.state == "JobComplete":
            body |= {"numberRecordsProcessed": len(self.rows), "retries": 0}
            body["totalProcessingTime"] = 20
        return body


class BulkJobs:
    def __init__(self, sf: SalesforceStandIn):
        self.sf = sf
        self.jobs: dict[str, Job] = {}
        self.created = 0

    def reset(self) -> None:
        self.jobs.clear()

    def register(self) -> None:
        api = self.sf.api
        api("POST", "/jobs/query", self.create)
        api("GET", "/jobs/query", self.list)
        api("GET", "/jobs/query/{job}", self.get)
        api("PATCH", "/jobs/query/{job}", self.abort)
        api("DELETE", "/jobs/query/{job}", self.delete)
        api("GET", "/jobs/query/{job}/results", self.results)

    def jobs_today(self) -> int:
        horizon = self.sf.clock.now() - timedelta(hours=24)
        return sum(1 for j in self.jobs.values() if j.created > horizon)

    def create(self, req: Request, session: Session) -> Response:
        if not self.sf.bulk_enabled:
            raise HTTPError(
                400, "FeatureNotEnabled", "Bulk API 2.0 isn't enabled for this organization."
            )
        body = req.json()
        if not isinstance(body, dict) or body.get("operation") not in ("query", "queryAll"):
            raise HTTPError(400, "INVALIDJOB", "operation must be query or queryAll")
        delimiter = body.get("columnDelimiter") or "COMMA"
        line_ending = body.get("lineEnding") or "LF"
        if delimiter not in DELIMITERS or line_ending not in LINE_ENDINGS:
            raise HTTPError(400, "INVALIDJOB", "invalid columnDelimiter or lineEnding")
        bound = self.compile(str(body.get("query") or ""), session)
        include_deleted = body["operation"] == "queryAll"
        rows = bound.run(self.sf.store.rows(bound.obj.name, include_deleted=include_deleted))
        self.created += 1
        job = Job(
            id=make_id("750", f"job:{self.created}"),
            operation=body["operation"],
            query=body["query"],
            bound=bound,
            rows=rows,
            created=self.sf.clock.now(),
            user_id=session.user_id,
            version=req.params["version"],
            delimiter=delimiter,
            line_ending=line_ending,
        )
        self.jobs[job.id] = job
        return Response(200, job.info())

    def compile(self, query: str, session: Session) -> Bound:
        try:
            bound = compile_query(query, self.sf.schema_for(session), self.sf.store.lookup)
        except SoqlError as err:
            raise HTTPError(400, err.code, err.message) from None
        if bound.count or bound.offset is not None:
            raise HTTPError(400, "API_ERROR", "COUNT() and OFFSET are not supported in Bulk query")
        if any(c.field.type == "base64" for c in bound.columns):
            raise HTTPError(400, "API_ERROR", "Bulk query doesn't support base64 fields")
        return bound

    def job(self, req: Request) -> Job:
        job = self.jobs.get(req.params["job"])
        if job is None:
            raise HTTPError(404, "NOT_FOUND", "The requested resource does not exist")
        return job

    def advance(self, job: Job) -> None:
        """InProgress on the first look unless `bulk_delay_s` has passed, then JobComplete."""
        if job.state not in ("UploadComplete", "InProgress"):
            return
        waited = (self.sf.clock.now() - job.created).total_seconds()
        if waited >= self.sf.bulk_delay_s or job.polls > 0:
            job.state, job.finished = "JobComplete", self.sf.clock.now()
        else:
            job.state = "InProgress"
        job.polls += 1

    def get(self, req: Request, session: Session) -> Response:
        job = self.job(req)
        self.advance(job)
        return Response(200, job.info())

    def list(self, req: Request, session: Session) -> Response:
        records = [j.info() for j in self.jobs.values()]
        return Response(200, {"done": True, "records": records, "nextRecordsUrl": None})

    def abort(self, req: Request, session: Session) -> Response:
        job = self.job(req)
        body = req.json() or {}
        if body.get("state") != "Aborted":
            raise HTTPError(400, "INVALIDJOBSTATE", "a query job can only be set to Aborted")
        if job.state == "JobComplete":
            raise HTTPError(400, "INVALIDJOBSTATE", "Job is already complete")
        job.state, job.finished = "Aborted", self.sf.clock.now()
        return Response(200, job.info())

    def delete(self, req: Request, session: Session) -> Response:
        job = self.job(req)
        del self.jobs[job.id]
        return Response(204)

    def results(self, req: Request, session: Session) -> Response:
        job = self.job(req)
        if job.state != "JobComplete":
            raise HTTPError(400, "INVALIDJOBSTATE", f"Job {job.id} is not complete: {job.state}")
        start = decode_locator(req.arg("locator"))
        max_records = req.arg("maxRecords") or str(DEFAULT_MAX_RECORDS)
        if not max_records.isdigit() or int(max_records) < 1:
            raise HTTPError(400, "INVALIDREQUEST", "maxRecords must be a positive integer")
        end = start + int(max_records)
        chunk = job.rows[start:end]
        headers = {
            "Sforce-Locator": encode_locator(end) if end < len(job.rows) else "null",
            "Sforce-NumberOfRecords": str(len(chunk)),
        }
        return Response(200, to_csv(job, chunk), headers, content_type="text/csv")


def encode_locator(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def decode_locator(locator: str | None) -> int:
    if not locator or locator == "null":
        return 0
    try:
        text = base64.b64decode(locator + "=" * (-len(locator) % 4)).decode()
        if text.isdigit():
            return int(text)
    except ValueError:
        pass
    raise HTTPError(400, "INVALIDLOCATOR", f"Invalid locator: {locator}")


def to_csv(job: Job, rows: list[Record]) -> str:
    """Every value quoted; nulls empty; datetimes as 2024-01-31T12:00:00.000Z."""
    out = io.StringIO()
    writer = csv.writer(
        out,
        delimiter=DELIMITERS[job.delimiter],
        lineterminator=LINE_ENDINGS[job.line_ending],
        quoting=csv.QUOTE_ALL,
    )
    writer.writerow([c.header for c in job.bound.columns])
    for rec in rows:
        writer.writerow([csv_value(c.getter(rec)) for c in job.bound.columns])
    return out.getvalue()


def csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.endswith("+0000") and len(value) == 28:
        return value[:-5] + "Z"
    return str(value)
