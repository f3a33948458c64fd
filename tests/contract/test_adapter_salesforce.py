"""Salesforce adapter tests beyond the shared contract, against the stand-in through
simple-salesforce: the API budget, REST / Bulk 2.0, merges, push. (Logins and session expiry:
test_adapter_salesforce_login.)
"""

from __future__ import annotations

from typing import Any

import pytest

from adapters.salesforce.bulk import results, start_job, wait_for
from adapters.salesforce.records import Deduper, select_fields, soql, stamp_of
from connector.core.errors import (
    BudgetExhausted,
)
from connector.core.records import ObjectSpec, Page, RawRecord, Write
from tests.contract.cases.base import admin
from tests.contract.cases.salesforce import CASE
from tests.contract.salesforce_adapter_kit import (
    Make,
    calls,
    faults,
    last_cursor,
    make,
    pull_all,
    records,
    sf,
)

__all__ = ["make", "sf"]  # the fixtures


# -- the API budget --------------------------------------------------------------------------------
def test_the_budget_share_stops_after_the_page_in_hand(sf: Any, make: Make) -> None:
    sf.daily_limit = 2
    adapter = make(batch_size=200, api_budget_share=0.5)
    got: list[Page] = []
    with pytest.raises(BudgetExhausted):
        for page in adapter.pull(CASE.spec("Task"), None, True):
            got.append(page)
    assert len(got) == 1 and len(got[0].records) == 200 and got[0].cursor
    assert (adapter.usage().used, adapter.usage().limit, adapter.usage().calls) == (1, 2, 1)
    with pytest.raises(BudgetExhausted):  # the next object does not even start
        pull_all(adapter, "Event")
    assert adapter.usage().calls == 1


def test_a_spent_allowance_stops_without_a_retry_loop(
    fresh_sandbox: Any, sf: Any, make: Make
) -> None:
    sf.daily_limit = 0
    with pytest.raises(BudgetExhausted, match="allowance"):
        pull_all(make(), "User")
    assert calls(fresh_sandbox)["GET /queryAll"] == 1


# -- REST and Bulk 2.0 -----------------------------------------------------------------------------
@pytest.mark.parametrize(("threshold", "bulk"), [(298, True), (299, False)])
def test_a_full_pull_goes_bulk_at_the_threshold(
    fresh_sandbox: Any, sf: Any, make: Make, threshold: int, bulk: bool
) -> None:
    live = CASE.live_ids(fresh_sandbox, "Task")
    assert len(live) == 298  # the seeded scale-0.01 world
    rest = {r.id: r.fields for r in records(pull_all(make(), "Task"))}
    pages = pull_all(make(batch_size=200, bulk_threshold=threshold), "Task")
    got = records(pages)
    assert len(got) == len({r.id for r in got}) == 298
    assert {r.id: r.fields for r in got} == rest  # bulk CSV typed as REST's JSON
    assert pages[-1].done and stamp_of(pages[-1].cursor) == max(
        str(f["SystemModstamp"]) for f in rest.values()
    )  # (a REST pull's cursor also names where the next one starts)
    made = calls(fresh_sandbox).get("POST /jobs/query", 0)
    assert made == (1 if bulk else 0)
    if bulk:
        assert all(p.cursor is None for p in pages[:-1])  # bulk rows are not ordered
        (job,) = sf.bulk.jobs.values()
        assert len(job.rows) > 298 - 200  # re-read the first page's last record: deduplicated


def test_a_bulk_pull_survives_faults_on_every_kind_of_call(fresh_sandbox: Any, make: Make) -> None:
    adapter = make(batch_size=200, bulk_threshold=250)
    adapter.bulk_chunk = 20  # several results calls, each a chance for a fault
    faults(fresh_sandbox, {"rate": 0.3, "kinds": ["429", "500", "503"], "once": ["expire"]})
    pages = pull_all(adapter, "Task")
    faults(fresh_sandbox, {})
    got = [r.id for r in records(pages)]
    assert len(got) == len(set(got)) and set(got) == CASE.live_ids(fresh_sandbox, "Task")
    assert calls(fresh_sandbox)["GET /jobs/query/{job}/results"] >= 5
    assert adapter.client.logins == 2


def test_bulk_csv_values_are_typed_as_rest_types_them(make: Make) -> None:
    adapter = make()
    spec = CASE.spec("Opportunity")
    job = start_job(adapter.client, "Opportunity", soql("Opportunity", select_fields(spec), None))
    assert job is not None
    wait_for(adapter.client, "Opportunity", job)
    types = {name.casefold(): f.type for name, f in adapter.describe("Opportunity").items()}
    chunks = list(results(adapter.client, "Opportunity", job, types, 10))
    assert [done for _, done in chunks] == [False, False, True]  # 22 rows, 10 a call
    bulk = {r.id: r.fields for recs, _ in chunks for r in recs}
    rest = {r.id: r.fields for r in records(pull_all(adapter, "Opportunity"))}
    assert bulk == rest
    assert any(isinstance(f["Amount"], float) for f in bulk.values())
    assert all(isinstance(f["IsWon"], bool) for f in bulk.values())


def test_no_async_api_falls_back_to_rest(fresh_sandbox: Any, sf: Any, make: Make) -> None:
    sf.bulk_enabled = False
    pages = pull_all(make(batch_size=200, bulk_threshold=250), "Task")
    assert {r.id for r in records(pages)} == CASE.live_ids(fresh_sandbox, "Task")
    assert [len(p.records) for p in pages] == [200, 98] and pages[-1].cursor
    seen = calls(fresh_sandbox)
    assert seen["POST /jobs/query"] == 1 and seen["GET /query/{locator}"] == 1


# -- deletes, merges, the overlap ------------------------------------------------------------------
def test_merged_and_deleted_records_come_through_query_all(fresh_sandbox: Any, make: Make) -> None:
    adapter = make()
    full = pull_all(adapter, "Contact")
    assert any(r.deleted and r.merged_into for r in records(full))  # a merge seeded in the world
    winner, loser, gone = sorted(CASE.live_ids(fresh_sandbox, "Contact"))[:3]
    admin(fresh_sandbox, "salesforce", "POST", "merge/Contact", {"winner": winner, "loser": loser})
    admin(fresh_sandbox, "salesforce", "DELETE", f"records/Contact/{gone}")
    got = {r.id: r for r in records(pull_all(adapter, "Contact", last_cursor(full)))}
    assert got[loser].deleted and got[loser].merged_into == winner
    assert got[gone].deleted and got[gone].merged_into is None
    assert not got[winner].deleted


def test_an_incremental_pull_reads_the_overlap_window_once(fresh_sandbox: Any, make: Make) -> None:
    adapter = make(overlap_seconds=30 * 86400)  # a window wide enough to re-read many records
    cursor = last_cursor(pull_all(adapter, "Contact"))
    (changed,) = CASE.change(fresh_sandbox, "Contact", 1)
    pages = pull_all(adapter, "Contact", cursor)
    got = records(pages)
    assert len(got) == len({r.id for r in got}) > 1
    assert next(r for r in got if r.id == changed).fields["Title"].startswith("Changed")
    assert last_cursor(pages) > cursor


def test_the_deduper_drops_repeats_but_keeps_newer_versions() -> None:
    def rec(rid: str, stamp: str) -> RawRecord:
        return RawRecord(rid, {"Id": rid, "SystemModstamp": stamp})

    dedupe = Deduper()
    t1, t2 = "2024-01-31T12:00:00.000+0000", "2024-01-31T12:00:01.000+0000"
    assert [r.id for r in dedupe.fresh([rec("a", t1), rec("b", t2)])] == ["a", "b"]
    again = dedupe.fresh([rec("a", t1), rec("b", t1), rec("a", t2)])
    assert [(r.id, r.fields["SystemModstamp"]) for r in again] == [("a", t2)]


def test_an_incremental_query_starts_at_the_cursor_less_the_overlap() -> None:
    from adapters.salesforce.records import since_cursor

    since = since_cursor("2024-01-31T12:05:00.750+0000", 300)
    q = soql("Contact", ["Id", "SystemModstamp"], since)
    assert q == (
        "SELECT Id, SystemModstamp FROM Contact WHERE SystemModstamp >= 2024-01-31T12:00:00Z "
        "ORDER BY SystemModstamp, Id"
    )
    spec = ObjectSpec("Contact", ("Email", "email", "_computed"))
    assert select_fields(spec) == ["Id", "SystemModstamp", "IsDeleted", "Email", "MasterRecordId"]


# -- describe and push -----------------------------------------------------------------------------
def test_describe_gives_types_writability_and_lengths(make: Make) -> None:
    fields = make().describe("Contact")
    assert fields["Email"].type == "email" and fields["Email"].writable
    assert fields["Email"].length and not fields["Email"].custom
    assert not fields["Id"].writable and not fields["SystemModstamp"].writable


def test_push_201_updates_takes_two_calls_and_reports_a_partial_failure(
    fresh_sandbox: Any, make: Make
) -> None:
    adapter = make()
    ids = sorted(CASE.live_ids(fresh_sandbox, "Task"))[:201]
    writes = [Write("Task", i, {"Subject": f"pushed {n}"}, key=str(n)) for n, i in enumerate(ids)]
    faults(fresh_sandbox, {"once": ["partial"]})
    before = adapter.usage().calls
    got = adapter.push(writes)
    assert adapter.usage().calls - before == 2
    assert calls(fresh_sandbox)["PATCH /composite/sobjects"] == 2
    assert [r.key for r in got] == [w.key for w in writes]
    failed = [r for r in got if not r.ok]
    assert len(failed) == 1 and failed[0].retriable
    assert failed[0].error and "UNABLE_TO_LOCK_ROW" in failed[0].error
    subjects = {r["Id"]: r["Subject"] for r in CASE.records(fresh_sandbox, "Task")}
    assert sum(subjects[i] == f"pushed {n}" for n, i in enumerate(ids)) == 200


def test_push_creates_records_and_gives_salesforce_s_own_message(
    fresh_sandbox: Any, make: Make
) -> None:
    adapter = make()
    account = sorted(CASE.live_ids(fresh_sandbox, "Account"))[0]
    writes = [
        Write("Contact", None, {"LastName": "Newman", "AccountId": account}, key="ok"),
        Write("Contact", None, {"FirstName": "No last name"}, key="bad"),
    ]
    ok, bad = adapter.push(writes)
    assert ok.ok and ok.id and ok.id in CASE.live_ids(fresh_sandbox, "Contact")
    assert not bad.ok and not bad.retriable and bad.error
    assert "REQUIRED_FIELD_MISSING" in bad.error
    assert calls(fresh_sandbox)["POST /composite/sobjects"] == 1


def test_push_stops_sending_once_the_budget_share_is_spent(
    fresh_sandbox: Any, sf: Any, make: Make
) -> None:
    sf.daily_limit = 2
    adapter = make(api_budget_share=0.5)
    ids = sorted(CASE.live_ids(fresh_sandbox, "Task"))[:201]
    got = adapter.push([Write("Task", i, {"Subject": "pushed"}, key=i) for i in ids])
    assert sum(r.ok for r in got) == 200 and adapter.usage().calls == 1
    (unsent,) = [r for r in got if not r.ok]
    assert unsent.key == ids[-1] and unsent.retriable and "allowance" in (unsent.error or "")
