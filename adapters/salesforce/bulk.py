"""Bulk API 2.0 query jobs for the Salesforce adapter's large full pulls: create a queryAll job,
wait for it, read its CSV results chunk by chunk following `Sforce-Locator`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceRefusedRequest

from adapters.salesforce.auth import TIMEOUT_S
from adapters.salesforce.client import Client, first_error
from adapters.salesforce.records import csv_lines, csv_records
from connector.core.answers import text_kind
from connector.core.errors import FatalError
from connector.core.http import check_pagination
from connector.core.records import RawRecord

# what an org without the async API answers when a job is created
BULK_OFF = {"featurenotenabled", "api_disabled_for_org", "feature_not_enabled"}
FIRST_POLL_S = 0.5
MAX_POLL_S = 10.0
MAX_WAIT_S = 3600.0


def start_job(client: Client, obj: str, query: str) -> str | None:
    """Create a queryAll job; its id, or None when the org has Bulk API 2.0 turned off."""
    payload = {"operation": "queryAll", "query": query, "contentType": "CSV"}
    payload |= {"columnDelimiter": "COMMA", "lineEnding": "LF"}

    def create(sf: Salesforce) -> Any:
        try:
            return sf.restful("jobs/query", method="POST", json=payload, timeout=TIMEOUT_S)
        except (SalesforceMalformedRequest, SalesforceRefusedRequest) as exc:
            code, message = first_error(exc.content)
            if (
                code.casefold() in BULK_OFF
                or "isn't enabled" in message
                or "not enabled" in message
            ):
                return None
            raise

    job = client.call(create, f"Salesforce {obj} bulk query")
    return str(client.answer().object(job, "id")["id"]) if job is not None else None


def wait_for(client: Client, obj: str, job_id: str) -> None:
    """Poll the job (backing off) until JobComplete; a failed or aborted job is fatal."""
    delay, waited = FIRST_POLL_S, 0.0
    while True:
        client.sleep(delay)
        waited += delay
        info: Any = client.call(
            lambda sf: sf.restful(f"jobs/query/{job_id}", timeout=TIMEOUT_S),
            f"Salesforce {obj} bulk job",
        )
        state = client.answer().object(info, "state")["state"]
        if state == "JobComplete":
            return
        if state in ("Failed", "Aborted"):
            reason = info.get("errorMessage") or state
            raise FatalError(f"Salesforce {obj} bulk job {job_id} ended {state}: {reason}")
        client.check_budget()
        if waited >= MAX_WAIT_S:
            raise FatalError(
                f"Salesforce {obj} bulk job {job_id} still {state} after {waited:.0f} s"
            )
        delay = min(delay * 2, MAX_POLL_S)


def results(
    client: Client, obj: str, job_id: str, types: dict[str, str], max_records: int
) -> Iterator[tuple[Iterator[RawRecord], bool]]:
    """Each results chunk's records (read from its CSV as they are taken: to be taken before
    the next chunk is asked for) and whether it is the last one."""
    locator: str | None = None
    seen: set[Any] = set()
    while True:
        params: dict[str, Any] = {"maxRecords": max_records}
        if locator:
            params["locator"] = locator
        resp = client.get(f"jobs/query/{job_id}/results", params, "text/csv")
        if "csv" not in resp.headers.get("Content-Type", "text/csv"):
            raise client.answer().unexpected("CSV rows", text_kind(resp.content))
        locator = resp.headers.get("Sforce-Locator")
        done = not locator or locator == "null"
        if not done:
            check_pagination(seen, locator)
        data = resp.content
        del resp  # its bytes only, while its rows are read
        yield csv_records(csv_lines(data), types), done
        if done:
            return
