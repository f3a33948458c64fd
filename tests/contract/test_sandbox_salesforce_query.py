"""Contract tests of the Salesforce stand-in's reads through simple-salesforce: query and
queryAll paging, the SOQL subset, the updated / deleted replication windows and Bulk API 2.0.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sandbox.core import Clock
from tests.contract.salesforce_fixtures import (
    DATA,
    UTC,
    Env,
    error_body,
    error_code,
    install_fixtures,
    make_world,
)

tls, start = install_fixtures()


# -- query and queryAll ----------------------------------------------------------------------------
def test_query_pages_of_2000_with_next_records_url(start: Callable[..., Env]) -> None:
    env = start(make_world(n_contacts=4500, merge=False))
    first = env.sf.query("SELECT Id, Email FROM Contact ORDER BY LastName")
    assert first["totalSize"] == 4500 and first["done"] is False and len(first["records"]) == 2000
    assert re.fullmatch(rf"{DATA}/query/01g\w{{15}}-2000", first["nextRecordsUrl"])
    assert first["records"][0]["attributes"] == {
        "type": "Contact",
        "url": f"{DATA}/sobjects/Contact/{first['records'][0]['Id']}",
    }
    ids = env.ids("SELECT Id FROM Contact ORDER BY LastName")
    assert len(ids) == len(set(ids)) == 4500
    assert ids[:2000] == [r["Id"] for r in first["records"]]
    calls = env.admin("GET", "/stats").json()["calls"]
    assert calls["GET /services/data/v{version}/query/{locator}"] == 2


def test_batch_size_header_and_bad_locator(start: Callable[..., Env]) -> None:
    env = start(make_world(n_contacts=700, merge=False))
    headers = {"Sforce-Query-Options": "batchSize=250"}
    page = env.sf.query("SELECT Id FROM Contact", headers=headers)
    assert len(page["records"]) == 250 and page["nextRecordsUrl"].endswith("-250")
    with pytest.raises(SalesforceMalformedRequest) as exc:
        env.sf.query_more(f"{DATA}/query/01g000000000000AAA-2000", identifier_is_url=True)
    assert error_code(exc) == "INVALID_QUERY_LOCATOR"


def test_query_all_shows_deleted_and_merged_rows(start: Callable[..., Env]) -> None:
    env = start()
    live = {
        r["LastName"]: r for r in env.sf.query_all("SELECT Id, LastName FROM Contact")["records"]
    }
    assert "Smith00005" not in live  # merged into c1 at load
    rows = env.sf.query_all(
        "SELECT Id, LastName, IsDeleted, MasterRecordId FROM Contact", include_deleted=True
    )["records"]
    loser = next(r for r in rows if r["LastName"] == "Smith00005")
    assert loser["IsDeleted"] is True and loser["MasterRecordId"] == live["Smith00001"]["Id"]
    # the loser's children were re-pointed to the winner
    whos = {r["WhoId"] for r in env.sf.query_all("SELECT WhoId FROM Task")["records"]}
    assert live["Smith00001"]["Id"] in whos and loser["Id"] not in whos
    roles = env.sf.query_all("SELECT ContactId FROM OpportunityContactRole")["records"]
    assert [r["ContactId"] for r in roles] == [live["Smith00001"]["Id"]] * 2
    # a delete through the admin endpoint shows in queryAll only
    victim = live["Smith00004"]["Id"]
    assert env.admin("DELETE", f"/records/Contact/{victim}").status_code == 204
    assert victim not in env.ids("SELECT Id FROM Contact")
    assert victim in env.ids("SELECT Id FROM Contact WHERE IsDeleted = true", deleted=True)


def test_admin_merge_re_points_children_and_sets_master_record(start: Callable[..., Env]) -> None:
    env = start()
    by_name = {
        r["LastName"]: r["Id"]
        for r in env.sf.query_all("SELECT Id, LastName FROM Contact")["records"]
    }
    winner, loser = by_name["Smith00002"], by_name["Smith00001"]
    resp = env.admin("POST", "/merge/Contact", {"winner": winner, "loser": loser})
    assert resp.status_code == 200 and resp.json()["mergedRecordIds"] == [loser]
    row = env.sf.query_all(
        f"SELECT IsDeleted, MasterRecordId FROM Contact WHERE Id = '{loser}'", include_deleted=True
    )["records"][0]
    assert row["IsDeleted"] is True and row["MasterRecordId"] == winner
    roles = env.sf.query_all("SELECT ContactId FROM OpportunityContactRole")["records"]
    assert {r["ContactId"] for r in roles} == {winner}
    assert (
        env.admin("POST", "/merge/Opportunity", {"winner": winner, "loser": loser}).status_code
        == 400
    )


# -- the SOQL subset -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "where, expected",
    [
        ("LastName = 'smith00002'", ["Smith00002"]),  # text compares case-insensitively
        ("LastName IN ('Smith00000', 'Smith00004') ", ["Smith00000", "Smith00004"]),
        ("Title = 'CTO' AND MailingCountry = 'Germany'", ["Smith00001", "Smith00003"]),
        ("Email = null", ["Smith00003"]),
        (
            "Email != null AND (Title = 'CTO' OR LastName LIKE '%0000')",
            ["Smith00000", "Smith00001"],
        ),
        ("NOT LastName LIKE 'Smith0000_'", []),
        ("LastName NOT IN ('Smith00000') AND ReportsToId = null", []),
        ("SystemModstamp < 2000-01-01T00:00:00Z", []),
        (
            "SystemModstamp >= 2000-01-01T00:00:00.000+0000 AND IsDeleted = false",
            ["Smith00000", "Smith00001", "Smith00002", "Smith00003", "Smith00004"],
        ),
        ("LastName = 'It\\'s' OR LastName = 'Smith00001'", ["Smith00001"]),
    ],
)
def test_where_clauses(start: Callable[..., Env], where: str, expected: list[str]) -> None:
    env = start()
    rows = env.sf.query_all(f"SELECT LastName FROM Contact WHERE {where} ORDER BY LastName")
    assert [r["LastName"] for r in rows["records"]] == expected


def test_datetimes_ids_order_limit_offset_count_and_parents(start: Callable[..., Env]) -> None:
    env = start()
    rows = env.sf.query_all("SELECT Id, SystemModstamp FROM Contact ORDER BY SystemModstamp DESC")
    stamps = [r["SystemModstamp"] for r in rows["records"]]
    assert stamps == sorted(stamps, reverse=True)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", stamps[0])
    middle = stamps[2].replace("+0000", "Z")
    newer = env.ids(f"SELECT Id FROM Contact WHERE SystemModstamp > {middle}")
    assert len(newer) == 2
    id15 = rows["records"][0]["Id"][:15]  # 15-character ids are accepted too
    assert env.ids(f"SELECT Id FROM Contact WHERE Id = '{id15}'") == [rows["records"][0]["Id"]]
    page = env.sf.query(
        "SELECT LastName FROM Contact ORDER BY Title DESC, LastName LIMIT 2 OFFSET 1"
    )
    assert [r["LastName"] for r in page["records"]] == ["Smith00003", "Smith00000"]
    assert env.sf.query("SELECT COUNT() FROM Contact WHERE Title = 'CTO'")["totalSize"] == 2
    rec = env.sf.query(
        "SELECT Name, Account.Name, Owner.Email FROM Contact WHERE LastName = 'Smith00001'"
    )["records"][0]
    assert rec["Name"] == "Bob Smith00001"
    assert rec["Account"]["Name"] == "Acme" and rec["Owner"]["Email"] == "ann@northwind.test"
    account = env.sf.query(
        "SELECT Name, BillingCountry, Website FROM Account WHERE Parent.Name = 'Acme'"
    )
    assert account["records"][0]["BillingCountry"] == "United States"
    opp = env.sf.query("SELECT IsClosed, IsWon, Amount, CloseDate FROM Opportunity")["records"][0]
    assert opp["IsClosed"] is True and opp["IsWon"] is True and opp["Amount"] == 12000.0


def test_id_ranges_dates_and_numbers(start: Callable[..., Env]) -> None:
    env = start()
    ids = env.ids("SELECT Id FROM Contact ORDER BY Id")
    assert ids == sorted(ids)  # ids order as their characters do, so Id ranges chunk a table
    assert env.ids(f"SELECT Id FROM Contact WHERE Id > '{ids[1]}' ORDER BY Id") == ids[2:]
    soql = (
        "SELECT Name FROM Opportunity WHERE CloseDate < 2999-01-01 AND Amount >= 12000 "
        "AND IsWon = true AND CurrencyIsoCode IN ('EUR', 'USD')"
    )
    assert [r["Name"] for r in env.sf.query(soql)["records"]] == ["Acme renewal"]
    assert env.sf.query("SELECT Id FROM Opportunity WHERE Amount > 12000.5")["totalSize"] == 0


@pytest.mark.parametrize(
    "soql, code",
    [
        ("SELECT Id FROM Contact WHERE", "MALFORMED_QUERY"),
        (
            "SELECT Id FROM Contact WHERE Title = 'a' AND Email = 'b' OR Phone = 'c'",
            "MALFORMED_QUERY",
        ),
        ("SELECT Title, COUNT(Id) FROM Contact GROUP BY Title", "MALFORMED_QUERY"),
        ("SELECT Id FROM Contact WHERE AccountId IN (SELECT Id FROM Account)", "MALFORMED_QUERY"),
        ("SELECT Id FROM Contact WHERE CreatedDate > TODAY", "MALFORMED_QUERY"),
        ("SELECT Id, Id FROM Contact", "MALFORMED_QUERY"),
        ("SELECT Id FROM ContentDocumentLink", "MALFORMED_QUERY"),
        ("SELECT Nickname FROM Contact", "INVALID_FIELD"),
        ("SELECT Id FROM Contact ORDER BY Description", "INVALID_FIELD"),
        ("SELECT Boss.Name FROM Contact", "INVALID_FIELD"),
        ("SELECT Id FROM Lead", "INVALID_TYPE"),
        (
            "SELECT Id FROM Contact WHERE SystemModstamp > '2024-01-01'",
            "INVALID_QUERY_FILTER_OPERATOR",
        ),
        ("SELECT Id FROM Contact WHERE AccountId = 'not-an-id'", "INVALID_QUERY_FILTER_OPERATOR"),
        ("SELECT Id FROM Contact WHERE IsDeleted > true", "INVALID_QUERY_FILTER_OPERATOR"),
        ("SELECT Id FROM Contact WHERE Email = 3", "INVALID_QUERY_FILTER_OPERATOR"),
        (
            "SELECT Id FROM Opportunity WHERE CloseDate < 2030-01-01T00:00:00Z",
            "INVALID_QUERY_FILTER_OPERATOR",
        ),
        ("SELECT Id FROM Opportunity WHERE Amount > '5'", "INVALID_QUERY_FILTER_OPERATOR"),
        ("SELECT Id FROM Contact WHERE Email LIKE 5", "INVALID_QUERY_FILTER_OPERATOR"),
        ("SELECT Id FROM Contact LIMIT -1", "MALFORMED_QUERY"),
        ("SELECT Id FROM Contact OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE"),
    ],
)
def test_unsupported_or_wrong_soql_is_refused(
    start: Callable[..., Env], soql: str, code: str
) -> None:
    env = start()
    with pytest.raises(SalesforceMalformedRequest) as exc:
        env.sf.query(soql)
    assert error_code(exc) == code


def test_malformed_query_message_points_at_the_error(start: Callable[..., Env]) -> None:
    env = start()
    with pytest.raises(SalesforceMalformedRequest) as exc:
        env.sf.query("SELECT Id FROM Contact WHERE Title = 'x' GROUP BY Title")
    message = error_body(exc)["message"]
    assert "ERROR at Row:1:Column:42" in message and "GROUP" in message


# -- replication windows ---------------------------------------------------------------------------
def test_updated_and_deleted_windows(start: Callable[..., Env]) -> None:
    clock = Clock()
    env = start(clock=clock, token_ttl_s=10**7)
    now = clock.now()
    recent = env.obj("Contact").updated(now - dt.timedelta(days=3), now + dt.timedelta(minutes=5))
    assert len(recent["ids"]) == 3  # contacts modified 0.5, 1.5 and 2.5 days ago
    # the end is in the future, so the window is covered up to the current minute
    assert recent["latestDateCovered"] in {_minute(now), _minute(clock.now())}
    with pytest.raises(SalesforceMalformedRequest) as exc:
        env.obj("Contact").updated(now - dt.timedelta(days=31), now)
    assert error_code(exc) == "INVALID_REPLICATION_DATE"
    with pytest.raises(SalesforceMalformedRequest) as exc:
        env.obj("Contact").deleted(now - dt.timedelta(days=16), now)
    assert error_code(exc) == "INVALID_REPLICATION_DATE"
    victim = env.ids("SELECT Id FROM Contact WHERE LastName = 'Smith00002'")[0]
    env.obj("Contact").delete(victim)
    clock.offset = dt.timedelta(minutes=2)  # covered only once its minute has passed
    later = clock.now()
    gone = env.obj("Contact").deleted(now - dt.timedelta(days=1), later)
    assert victim in [d["id"] for d in gone["deletedRecords"]]
    assert set(gone) == {"deletedRecords", "earliestDateAvailable", "latestDateCovered"}
    merged = env.obj("Contact").deleted(now - dt.timedelta(days=14), later)["deletedRecords"]
    assert len(merged) == 2  # the merged-away c5 and the victim
    clock.offset = dt.timedelta(days=16)  # past the recycle bin: purged
    assert victim not in env.ids("SELECT Id FROM Contact", deleted=True)


def _minute(when: dt.datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:00.000+0000")


# -- Bulk API 2.0 ----------------------------------------------------------------------------------
def test_bulk2_query_pages_csv_with_locators(start: Callable[..., Env], tmp_path: Path) -> None:
    env = start(make_world(n_contacts=250), bulk_delay_s=0.0)
    chunks: list[Any] = list(
        env.bulk2("Contact").query(
            "SELECT Id, LastName, Account.Name, CreatedDate FROM Contact", max_records=100, wait=0
        )
    )
    rows = [row for c in chunks for row in csv.DictReader(io.StringIO(c))]
    assert len(chunks) == 3 and len(rows) == 249  # one contact is merged away
    assert list(rows[0]) == ["Id", "LastName", "Account.Name", "CreatedDate"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", rows[0]["CreatedDate"])
    assert chunks[0].splitlines()[1].startswith('"003')
    every = list(env.bulk2("Contact").query_all("SELECT Id FROM Contact", wait=0))
    assert sum(len(c.splitlines()) - 1 for c in every) == 250
    files = env.bulk2("Contact").download(
        "SELECT Id FROM Contact", str(tmp_path), max_records=200, wait=0
    )
    assert [f["number_of_records"] for f in files] == [200, 49]


def test_bulk2_results_headers_and_job_states(start: Callable[..., Env]) -> None:
    env = start(make_world(n_contacts=30), bulk_delay_s=60)
    job = env.raw(
        "POST", f"{DATA}/jobs/query", json={"operation": "query", "query": "SELECT Id FROM Contact"}
    ).json()
    assert job["state"] == "UploadComplete" and job["id"].startswith("750")
    early = env.raw("GET", f"{DATA}/jobs/query/{job['id']}/results")
    assert early.status_code == 400
    assert env.raw("GET", f"{DATA}/jobs/query/{job['id']}").json()["state"] == "InProgress"
    assert env.raw("GET", f"{DATA}/jobs/query/{job['id']}").json()["state"] == "JobComplete"
    first = env.raw("GET", f"{DATA}/jobs/query/{job['id']}/results", params={"maxRecords": 20})
    assert first.headers["Sforce-NumberOfRecords"] == "20"
    assert first.headers["Content-Type"].startswith("text/csv")
    rest = env.raw(
        "GET",
        f"{DATA}/jobs/query/{job['id']}/results",
        params={"maxRecords": 20, "locator": first.headers["Sforce-Locator"]},
    )
    assert (
        rest.headers["Sforce-Locator"] == "null" and rest.headers["Sforce-NumberOfRecords"] == "9"
    )
    bad = env.raw(
        "POST", f"{DATA}/jobs/query", json={"operation": "query", "query": "SELECT x FROM Contact"}
    )
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "INVALID_FIELD"


def test_bulk_disabled_org_refuses_jobs(start: Callable[..., Env]) -> None:
    env = start(bulk_enabled=False)
    with pytest.raises(SalesforceMalformedRequest) as exc:
        list(env.bulk2("Contact").query("SELECT Id FROM Contact", wait=0))
    assert error_code(exc) == "FeatureNotEnabled"
