"""Contract tests of the Salesforce stand-in, driven through simple-salesforce over TLS as the
adapter builds it: `Salesforce(instance_url=, session_id=, session=<trust_env=False>, version=)`.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import re
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import jwt
import pytest
import requests
import trustme
from simple_salesforce import Salesforce
from simple_salesforce.api import SFType
from simple_salesforce.bulk2 import SFBulk2Type
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from sandbox.core import Clock, Served, serve
from sandbox.salesforce import SalesforceStandIn
from sandbox.world import (
    Account,
    Activity,
    Contact,
    ContactRole,
    Member,
    Merge,
    Opportunity,
    World,
)

V = "59.0"
DATA = f"/services/data/v{V}"
UTC = dt.UTC


# -- a small hand-made world -----------------------------------------------------------------------
def make_world(n_contacts: int = 6, merge: bool = True) -> World:
    w = World(seed=3, scale=0.0)
    w.members += [
        Member("m1", "Ann", "Lee", "ann@northwind.test", "EMEA Enterprise", "DE", "AE"),
        Member("m2", "Raj", "Iyer", "raj@northwind.test", "NA Enterprise", "US", "AE"),
    ]
    w.accounts += [
        Account("a1", "Acme", "acme.test", "DE", "Technology", "m1", age_days=5),
        Account("a2", "Beta", "beta.test", "US", "Banking", "m2", parent_key="a1", age_days=40),
    ]
    for i in range(n_contacts):
        w.contacts.append(
            Contact(
                key=f"c{i}",
                first_name="Bob" if i % 2 else "Eve",
                last_name=f"Smith{i:05d}",
                email=f"person{i}@acme.test" if i != 3 else None,
                title="CTO" if i % 2 else "Buyer",
                level="c_level" if i % 2 else "staff",
                country="DE" if i % 2 else "US",
                account_key="a1" if i % 2 else "a2",
                owner_key="m1" if i % 3 else "m2",
                reports_to_key="c0" if i else None,
                age_days=(i % 20) + 0.5,
            )
        )
    roles = [ContactRole("c1", "Decision Maker", True), ContactRole("c5", "Influencer")]
    w.opportunities.append(
        Opportunity(
            "o1", "Acme renewal", "a1", "m1", 12000.0, "EUR", "Closed Won", True, True, -3.0, roles
        )
    )
    w.activities += [
        Activity("t1", "call", "Intro call", "m1", "c1", 2.0),
        Activity("t2", "email", "Follow-up", "m2", "c5", 1.0),
        Activity("e1", "meeting", "Workshop", "m1", "c5", 3.0),
    ]
    if merge and n_contacts > 5:
        w.merges.append(Merge("salesforce", "Contact", "c1", "c5"))
    return w


@dataclass
class Env:
    standin: SalesforceStandIn
    url: str
    http: requests.Session
    sf: Salesforce
    token: str

    def admin(self, method: str, path: str, body: Any = None) -> requests.Response:
        return self.http.request(method, self.url + "/__sandbox" + path, json=body, timeout=10)

    def raw(self, method: str, path: str, **kw: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}
        return self.http.request(method, self.url + path, headers=headers, timeout=10, **kw)

    def obj(self, name: str) -> SFType:
        return cast(SFType, getattr(self.sf, name))

    def bulk2(self, name: str) -> SFBulk2Type:
        return cast(SFBulk2Type, getattr(self.sf.bulk2, name))

    def rest(self, path: str, method: str = "GET", **kw: Any) -> Any:
        return self.sf.restful(path, method=method, **kw)

    def ids(self, soql: str, deleted: bool = False) -> list[str]:
        return [r["Id"] for r in self.sf.query_all_iter(soql, include_deleted=deleted)]


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, str]:
    ca = trustme.CA()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
    ca_file = tmp_path_factory.mktemp("sf-ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return ctx, str(ca_file)


@pytest.fixture
def start(tls: tuple[ssl.SSLContext, str]) -> Iterator[Callable[..., Env]]:
    served: list[tuple[Served, requests.Session]] = []

    def _start(world: World | None = None, clock: Clock | None = None, **options: Any) -> Env:
        standin = SalesforceStandIn(world or make_world(), clock, **options)
        server = serve(standin, tls=tls[0])
        http = requests.Session()
        http.trust_env = False
        http.verify = tls[1]
        served.append((server, http))
        form = {"grant_type": "client_credentials", "client_id": "id", "client_secret": "s"}
        token = http.post(f"{server.url}/services/oauth2/token", data=form, timeout=10).json()
        sf = Salesforce(
            instance_url=token["instance_url"],
            session_id=token["access_token"],
            session=http,
            version=V,
        )
        return Env(standin, server.url, http, sf, token["access_token"])

    yield _start
    for server, http in served:
        http.close()
        server.stop()


def error_body(exc: pytest.ExceptionInfo[Any]) -> dict[str, Any]:
    """The one error of a Salesforce error answer (a JSON list of {message, errorCode})."""
    content: Any = exc.value.content
    return dict(content[0])


def error_code(exc: pytest.ExceptionInfo[Any]) -> str:
    return str(error_body(exc)["errorCode"])


# -- OAuth -----------------------------------------------------------------------------------------
def _jwt(**claims: Any) -> str:
    """An assertion built at import time, so it stays valid for years, not for minutes."""
    base: dict[str, Any] = {"iss": "3MVG9", "sub": "ann@northwind.test"}
    base |= {"aud": "https://login.salesforce.com", "exp": int(time.time()) + 10 * 365 * 86400}
    return jwt.encode(
        {**base, **claims}, "a-key-the-sandbox-never-checks-0123456789", algorithm="HS256"
    )


@pytest.mark.parametrize(
    "form, headers",
    [
        ({"grant_type": "client_credentials", "client_id": "a", "client_secret": "b"}, {}),
        ({"grant_type": "client_credentials"}, {"Authorization": "Basic YTpi"}),
        ({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": _jwt()}, {}),
        ({"grant_type": "password", "client_id": "a", "username": "u", "password": "p"}, {}),
    ],
)
def test_token_grants_give_a_working_session(
    start: Callable[..., Env], form: dict[str, str], headers: dict[str, str]
) -> None:
    env = start()
    resp = env.http.post(env.url + "/services/oauth2/token", data=form, headers=headers)
    body = resp.json()
    assert resp.status_code == 200
    assert set(body) >= {"access_token", "instance_url", "id", "token_type", "issued_at"}
    assert body["token_type"] == "Bearer" and body["instance_url"] == env.url
    sf = Salesforce(
        instance_url=body["instance_url"],
        session_id=body["access_token"],
        session=env.http,
        version=V,
    )
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 2


@pytest.mark.parametrize(
    "form, error",
    [
        ({"grant_type": "client_credentials", "client_id": "a"}, "invalid_client"),
        (
            {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": "x.y"},
            "invalid_grant",
        ),
        (
            {
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": _jwt(sub=""),
            },
            "invalid_grant",
        ),
        (
            {
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": _jwt(exp=int(time.time()) - 60),
            },
            "invalid_grant",
        ),
        ({"grant_type": "password", "client_id": "a", "username": "u"}, "invalid_grant"),
        ({"grant_type": "authorization_code"}, "unsupported_grant_type"),
    ],
)
def test_bad_token_requests_answer_oauth_errors(
    start: Callable[..., Env], form: dict[str, str], error: str
) -> None:
    env = start()
    resp = env.http.post(env.url + "/services/oauth2/token", data=form)
    assert resp.status_code == 400
    assert resp.json()["error"] == error and resp.json()["error_description"]


def test_missing_unknown_and_expired_sessions_raise_expired_session(
    start: Callable[..., Env],
) -> None:
    clock = Clock()
    env = start(clock=clock, token_ttl_s=60)
    assert env.raw("GET", f"{DATA}/limits", headers={"Authorization": ""}).status_code == 401
    stranger = Salesforce(instance_url=env.url, session_id="nope", session=env.http, version=V)
    with pytest.raises(SalesforceExpiredSession) as exc:
        stranger.query("SELECT Id FROM Contact")
    assert exc.value.content == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    env.sf.query("SELECT Id FROM Contact")
    clock.offset = dt.timedelta(seconds=61)
    with pytest.raises(SalesforceExpiredSession):
        env.sf.query("SELECT Id FROM Contact")


def test_expire_fault_invalidates_the_session(start: Callable[..., Env]) -> None:
    env = start()
    assert env.admin("POST", "/faults", {"once": ["expire"]}).status_code == 200
    with pytest.raises(SalesforceExpiredSession):
        env.sf.query("SELECT Id FROM Contact")
    with pytest.raises(SalesforceExpiredSession):  # the token stays dead
        env.sf.query("SELECT Id FROM Contact")


@pytest.mark.parametrize(
    "kind, status, code, retry_after",
    [
        ("429", 503, "SERVER_UNAVAILABLE", "1"),
        ("429-no-retry-after", 503, "SERVER_UNAVAILABLE", None),
        ("503", 503, "SERVER_UNAVAILABLE", None),
        ("500", 500, "UNKNOWN_EXCEPTION", None),
    ],
)
def test_faults_look_like_salesforce(
    start: Callable[..., Env], kind: str, status: int, code: str, retry_after: str | None
) -> None:
    env = start()
    env.admin("POST", "/faults", {"once": [kind]})
    resp = env.raw("GET", f"{DATA}/query", params={"q": "SELECT Id FROM Account"})
    assert resp.status_code == status
    assert resp.json()[0]["errorCode"] == code
    assert resp.headers.get("Retry-After") == retry_after
    assert "Sforce-Limit-Info" in resp.headers
    env.admin("POST", "/faults", {"once": [kind]})
    with pytest.raises(SalesforceGeneralError) as exc:  # what the adapter sees
        env.sf.query("SELECT Id FROM Account")
    assert exc.value.status == status
    assert env.sf.query("SELECT Id FROM Account")["totalSize"] == 2  # it was injected once


# -- the daily allowance ---------------------------------------------------------------------------
def test_limit_info_on_every_answer_and_the_daily_cap(start: Callable[..., Env]) -> None:
    env = start(daily_limit=4)
    env.sf.query("SELECT Id FROM Account")
    assert env.sf.api_usage["api-usage"].used == 1 and env.sf.api_usage["api-usage"].total == 4
    limits = env.sf.limits()
    assert limits["DailyApiRequests"] == {"Max": 4, "Remaining": 2}
    env.obj("Contact").describe()
    env.sf.query("SELECT Id FROM Account")
    with pytest.raises(SalesforceRefusedRequest) as exc:
        env.sf.query("SELECT Id FROM Account")
    assert exc.value.content == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    resp = env.raw("GET", f"{DATA}/sobjects")
    assert resp.status_code == 403 and resp.headers["Sforce-Limit-Info"] == "api-usage=4/4"


def test_the_allowance_is_a_rolling_day(start: Callable[..., Env]) -> None:
    clock = Clock()
    env = start(clock=clock, daily_limit=1, token_ttl_s=10**6)
    env.sf.query("SELECT Id FROM Account")
    with pytest.raises(SalesforceRefusedRequest):
        env.sf.query("SELECT Id FROM Account")
    clock.offset = dt.timedelta(hours=24, seconds=1)
    assert env.sf.query("SELECT Id FROM Account")["totalSize"] == 2


def test_stats_count_every_call_by_route(start: Callable[..., Env]) -> None:
    env = start()
    env.sf.query("SELECT Id FROM Account")
    env.sf.query("SELECT Id FROM Contact")
    env.obj("Contact").describe()
    calls = env.admin("GET", "/stats").json()["calls"]
    assert calls[f"GET {'/services/data/v{version}'}/query"] == 2
    assert calls["GET /services/data/v{version}/sobjects/{type}/describe"] == 1
    assert calls["POST /services/oauth2/token"] == 1


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


# -- single records --------------------------------------------------------------------------------
def test_single_record_crud_and_describe(start: Callable[..., Env]) -> None:
    env = start()
    account = env.ids("SELECT Id FROM Account WHERE Name = 'Acme'")[0]
    created = env.obj("Contact").create(
        {"LastName": "New", "Email": "new@acme.test", "AccountId": account}
    )
    assert created["success"] is True and created["id"].startswith("003")
    rec = env.obj("Contact").get(created["id"])
    assert rec["Name"] == "New" and rec["OwnerId"].startswith("005") and rec["IsDeleted"] is False
    before = rec["SystemModstamp"]
    assert env.obj("Contact").update(created["id"], {"Title": "VP Sales"}) == 204
    after = env.obj("Contact").get(created["id"])
    assert after["Title"] == "VP Sales" and after["SystemModstamp"] > before
    assert env.obj("Contact").delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound):
        env.obj("Contact").get(created["id"])
    with pytest.raises(SalesforceResourceNotFound) as exc:
        env.obj("Contact").update(created["id"], {"Title": "x"})
    assert error_code(exc) == "ENTITY_IS_DELETED"
    fields = {f["name"]: f for f in env.obj("Contact").describe()["fields"]}
    assert fields["Email"]["type"] == "email" and fields["Email"]["length"] == 80
    assert fields["Name"]["updateable"] is False and fields["AccountId"]["referenceTo"] == [
        "Account"
    ]
    opp_fields = {f["name"]: f for f in env.obj("Opportunity").describe()["fields"]}
    stages = [p["value"] for p in opp_fields["StageName"]["picklistValues"]]
    assert stages[0] == "Prospecting" and stages[-2:] == ["Closed Won", "Closed Lost"]
    assert opp_fields["StageName"]["restrictedPicklist"] is True
    names = {o["name"] for o in env.rest("sobjects")["sobjects"]}
    assert names >= {
        "Contact",
        "Account",
        "User",
        "Opportunity",
        "OpportunityContactRole",
        "Task",
        "Event",
        "Note",
        "ContentNote",
        "ContentDocumentLink",
        "OpportunitySplit",
        "OpportunitySplitType",
    }


@pytest.mark.parametrize(
    "values, code",
    [
        ({"LastName": "X", "Nickname": "y"}, "INVALID_FIELD"),
        ({"LastName": "X", "Name": "y"}, "INVALID_FIELD_FOR_INSERT_UPDATE"),
        ({"LastName": "X" * 81}, "STRING_TOO_LONG"),
        ({"FirstName": "Only"}, "REQUIRED_FIELD_MISSING"),
        ({"LastName": "X", "Email": "not-an-email"}, "INVALID_EMAIL_ADDRESS"),
        ({"LastName": "X", "AccountId": "001xx"}, "MALFORMED_ID"),
        ({"LastName": "X", "ReportsToId": "001000000000000AAA"}, "FIELD_INTEGRITY_EXCEPTION"),
    ],
)
def test_single_create_validation(
    start: Callable[..., Env], values: dict[str, Any], code: str
) -> None:
    env = start()
    with pytest.raises(SalesforceMalformedRequest) as exc:
        env.obj("Contact").create(values)
    assert error_code(exc) == code


def test_splits_follow_the_opportunity_amount(start: Callable[..., Env]) -> None:
    env = start()
    split = env.sf.query(
        "SELECT OpportunityId, SplitPercentage, SplitAmount, SplitType.DeveloperName "
        "FROM OpportunitySplit"
    )["records"][0]
    assert split["SplitType"]["DeveloperName"] == "Revenue" and split["SplitAmount"] == 12000.0
    env.obj("Opportunity").update(split["OpportunityId"], {"Amount": 5000})
    after = env.sf.query("SELECT SplitAmount FROM OpportunitySplit")["records"][0]
    assert after["SplitAmount"] == 5000.0


# -- sObject Collections ---------------------------------------------------------------------------
def _contacts(n: int, **extra: Any) -> list[dict[str, Any]]:
    return [{"attributes": {"type": "Contact"}, "LastName": f"Bulk{i}", **extra} for i in range(n)]


def test_collections_create_update_delete(start: Callable[..., Env]) -> None:
    env = start()
    created = env.rest("composite/sobjects", method="POST", json={"records": _contacts(3)})
    assert [r["success"] for r in created] == [True] * 3
    assert all(set(r) == {"id", "success", "errors"} for r in created)
    updates = [
        {"attributes": {"type": "Contact"}, "id": r["id"], "Title": "Buyer"} for r in created
    ]
    updates[1]["Title"] = "T" * 200
    result = env.rest("composite/sobjects", method="PATCH", json={"records": updates})
    assert [r["success"] for r in result] == [True, False, True]
    assert result[1] == {
        "success": False,
        "errors": [
            {
                "statusCode": "STRING_TOO_LONG",
                "message": result[1]["errors"][0]["message"],
                "fields": ["Title"],
            }
        ],
    }
    ids = ",".join(r["id"] for r in created)
    refused = env.rest(
        "composite/sobjects",
        method="DELETE",
        params={"ids": ids + ",003000000000000AAA", "allOrNone": "true"},
    )
    assert [r["success"] for r in refused] == [False] * 4  # one unknown id: all rolled back
    assert refused[3]["errors"][0]["statusCode"] == "INVALID_CROSS_REFERENCE_KEY"
    deleted = env.rest("composite/sobjects", method="DELETE", params={"ids": ids})
    assert [r["success"] for r in deleted] == [True] * 3
    assert env.ids("SELECT Id FROM Contact WHERE LastName LIKE 'Bulk%'") == []
    split_type = [{"attributes": {"type": "OpportunitySplitType"}, "MasterLabel": "Mine"}]
    result = env.rest("composite/sobjects", method="POST", json={"records": split_type})
    assert result[0]["errors"][0]["statusCode"] == "INVALID_TYPE_FOR_OPERATION"


def test_collections_cap_is_200(start: Callable[..., Env]) -> None:
    env = start()
    ok = env.rest("composite/sobjects", method="POST", json={"records": _contacts(200)})
    assert len(ok) == 200
    with pytest.raises(SalesforceMalformedRequest) as exc:
        env.rest("composite/sobjects", method="POST", json={"records": _contacts(201)})
    assert error_code(exc) == "EXCEEDED_ID_LIMIT"


@pytest.mark.parametrize("all_or_none", [True, False])
def test_all_or_none(start: Callable[..., Env], all_or_none: bool) -> None:
    env = start()
    records = _contacts(3)
    records[1]["Email"] = "broken"
    body = {"allOrNone": all_or_none, "records": records}
    result = env.rest("composite/sobjects", method="POST", json=body)
    assert result[1]["errors"][0]["statusCode"] == "INVALID_EMAIL_ADDRESS"
    written = env.ids("SELECT Id FROM Contact WHERE LastName LIKE 'Bulk%'")
    if all_or_none:
        assert written == []
        assert result[0] == {
            "success": False,
            "errors": [
                {
                    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                    "message": "Record rolled back because not all records were valid and the "
                    "request was using AllOrNone header",
                    "fields": [],
                }
            ],
        }
    else:
        assert len(written) == 2 and result[0]["success"] and result[2]["success"]


def test_partial_fault_fails_single_records(start: Callable[..., Env]) -> None:
    env = start()
    env.admin("POST", "/faults", {"once": ["partial"]})
    result = env.rest("composite/sobjects", method="POST", json={"records": _contacts(3)})
    assert [r["success"] for r in result] == [False, True, True]
    assert result[0]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"


def test_wrong_json_type_fails_the_whole_request(start: Callable[..., Env]) -> None:
    env = start()
    records = _contacts(2)
    records[1]["Title"] = {"nested": True}
    with pytest.raises(SalesforceMalformedRequest) as exc:
        env.rest("composite/sobjects", method="POST", json={"records": records})
    assert error_code(exc) == "JSON_PARSER_ERROR"
    assert env.ids("SELECT Id FROM Contact WHERE LastName LIKE 'Bulk%'") == []


# -- Tooling API custom fields, then upsert by an external id --------------------------------------
def _custom_field(env: Env, full_name: str, **meta: Any) -> Any:
    return env.sf.toolingexecute(
        "sobjects/CustomField", method="POST", data={"FullName": full_name, "Metadata": meta}
    )


def test_tooling_custom_fields_show_in_describe_and_take_values(start: Callable[..., Env]) -> None:
    env = start()
    made = _custom_field(
        env, "Contact.Carnet_Strength__c", type="Number", label="Strength", precision=1, scale=0
    )
    assert made["success"] is True and made["id"].startswith("00N")
    with pytest.raises(SalesforceMalformedRequest) as exc:
        _custom_field(
            env, "Contact.Carnet_Strength__c", type="Number", label="Strength", precision=1, scale=0
        )
    assert error_code(exc) == "DUPLICATE_DEVELOPER_NAME"
    found = env.sf.toolingexecute(
        "query/?q=SELECT+Id,DeveloperName,TableEnumOrId+FROM+CustomField+WHERE+TableEnumOrId='Contact'"
    )
    assert [(r["DeveloperName"], r["TableEnumOrId"]) for r in found["records"]] == [
        ("Carnet_Strength", "Contact")
    ]
    with pytest.raises(SalesforceMalformedRequest) as exc:  # FullName: one row at a time
        env.sf.toolingexecute("query/?q=SELECT+FullName+FROM+CustomField")
    assert error_code(exc) == "MALFORMED_QUERY"
    one = env.sf.toolingexecute("query/?q=SELECT+FullName,Metadata+FROM+CustomField+LIMIT+1")
    assert one["records"][0]["FullName"] == "Contact.Carnet_Strength__c"
    assert one["records"][0]["Metadata"]["precision"] == 1
    field = next(
        f for f in env.obj("Contact").describe()["fields"] if f["name"] == "Carnet_Strength__c"
    )
    assert field["custom"] is True and field["type"] == "double" and field["updateable"] is True
    some = env.ids("SELECT Id FROM Contact LIMIT 1")[0]
    env.obj("Contact").update(some, {"Carnet_Strength__c": 4})
    assert (
        env.sf.query(f"SELECT Carnet_Strength__c FROM Contact WHERE Id = '{some}'")["records"][0][
            "Carnet_Strength__c"
        ]
        == 4
    )


@pytest.mark.parametrize(
    "full_name, meta",
    [
        ("Contact.Carnet_Level__c", {"type": "Number", "label": "L", "precision": 1}),
        ("Contact.Carnet__Level__c", {"type": "Text", "label": "L", "length": 10}),
        ("Contact.Carnet_Note", {"type": "Text", "label": "L", "length": 10}),
        ("Contact.Carnet_Flag__c", {"type": "Checkbox", "label": "F"}),
        ("Contact.Carnet_Text__c", {"type": "Text", "label": "T", "length": 300}),
        ("Widget.Carnet_Text__c", {"type": "Text", "label": "T", "length": 30}),
        ("Contact.Carnet_X__c", {"type": "Hologram", "label": "X"}),
    ],
)
def test_tooling_refuses_bad_field_definitions(
    start: Callable[..., Env], full_name: str, meta: dict[str, Any]
) -> None:
    env = start()
    with pytest.raises(SalesforceMalformedRequest) as exc:
        _custom_field(env, full_name, **meta)
    assert error_code(exc) == "FIELD_INTEGRITY_EXCEPTION"


def test_upsert_by_external_id(start: Callable[..., Env]) -> None:
    env = start()
    _custom_field(
        env, "Contact.Carnet_Key__c", type="Text", label="Key", length=40, externalId=True
    )
    first = [{**r, "Carnet_Key__c": f"K{i}"} for i, r in enumerate(_contacts(2))]
    result = env.rest(
        "composite/sobjects/Contact/Carnet_Key__c", method="PATCH", json={"records": first}
    )
    assert [(r["success"], r["created"]) for r in result] == [(True, True), (True, True)]
    again = [
        {**first[0], "Title": "CFO", "Carnet_Key__c": "k0"},
        {**first[1], "Carnet_Key__c": "K9"},
    ]
    result = env.rest(
        "composite/sobjects/Contact/Carnet_Key__c", method="PATCH", json={"records": again}
    )
    assert [r["created"] for r in result] == [False, True]
    assert (
        env.sf.query("SELECT Title FROM Contact WHERE Carnet_Key__c = 'K0'")["records"][0]["Title"]
        == "CFO"
    )
    with pytest.raises(SalesforceMalformedRequest) as exc:
        env.rest("composite/sobjects/Contact/Email", method="PATCH", json={"records": again})
    assert error_code(exc) == "INVALID_FIELD"
    single = env.obj("Contact").upsert("Carnet_Key__c/K42", {"LastName": "Single"})
    assert single == 201


# -- notes -----------------------------------------------------------------------------------------
def test_notes_content_notes_and_links(start: Callable[..., Env]) -> None:
    env = start()
    account = env.ids("SELECT Id FROM Account WHERE Name = 'Acme'")[0]
    note = env.obj("Note").create({"ParentId": account, "Title": "Plan", "Body": "x" * 32000})
    assert note["success"]
    with pytest.raises(SalesforceMalformedRequest) as exc:
        env.obj("Note").create({"ParentId": account, "Title": "T" * 81})
    assert error_code(exc) == "STRING_TOO_LONG"
    text = "<p>Plan for R&amp;D &lt;2025&gt;</p>"
    content = base64.b64encode(text.encode()).decode()
    doc = env.obj("ContentNote").create({"Title": "Account plan", "Content": content})
    link = {
        "ContentDocumentId": doc["id"],
        "LinkedEntityId": account,
        "ShareType": "V",
        "Visibility": "AllUsers",
    }
    assert env.obj("ContentDocumentLink").create(link)["success"]
    with pytest.raises(SalesforceMalformedRequest) as exc:
        env.obj("ContentDocumentLink").create(link)
    assert error_code(exc) == "DUPLICATE_VALUE"
    links = env.sf.query(
        "SELECT ContentDocumentId, ShareType FROM ContentDocumentLink "
        f"WHERE LinkedEntityId = '{account}'"
    )["records"]
    assert links == [
        {"attributes": links[0]["attributes"], "ContentDocumentId": doc["id"], "ShareType": "V"}
    ]
    owners = env.sf.query(
        f"SELECT LinkedEntityId FROM ContentDocumentLink WHERE ContentDocumentId = '{doc['id']}'"
    )
    assert owners["totalSize"] == 2  # Salesforce links a new note to its owner as well
    row = env.sf.query(f"SELECT Content, TextPreview FROM ContentNote WHERE Id = '{doc['id']}'")[
        "records"
    ][0]
    assert row["TextPreview"] == "Plan for R&D <2025>"
    blob = env.raw("GET", row["Content"])
    assert blob.status_code == 200 and blob.content == text.encode()
    bad = base64.b64encode(b"Plan for R&D <script>").decode()
    with pytest.raises(SalesforceMalformedRequest) as exc:
        env.obj("ContentNote").create({"Title": "Bad", "Content": bad})
    assert error_code(exc) == "FIELD_INTEGRITY_EXCEPTION"


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


# -- admin endpoints and the seeded world ----------------------------------------------------------
def test_admin_endpoints(start: Callable[..., Env]) -> None:
    env = start()
    accounts = env.admin("GET", "/records/Account").json()
    assert {a["Name"] for a in accounts} == {"Acme", "Beta"}
    acme = next(a for a in accounts if a["Name"] == "Acme")
    changed = env.admin("POST", "/records/Account", {"id": acme["Id"], "Industry": "Energy"}).json()
    assert changed["Industry"] == "Energy" and changed["SystemModstamp"] > acme["SystemModstamp"]
    made = env.admin("POST", "/records/Contact", {"LastName": "Admin", "AccountId": acme["Id"]})
    assert made.status_code == 200 and made.json()["Id"].startswith("003")
    bad = env.admin("POST", "/records/Contact", {"LastName": "L" * 81})
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "STRING_TOO_LONG"
    assert env.admin("GET", "/records/Widget").status_code == 404
    # deleting an account cascades to its contacts and opportunity, as in Salesforce
    assert env.admin("DELETE", f"/records/Account/{acme['Id']}").status_code == 204
    assert env.ids(f"SELECT Id FROM Contact WHERE AccountId = '{acme['Id']}'") == []
    assert env.sf.query("SELECT COUNT() FROM Opportunity")["totalSize"] == 0
    users = env.admin("GET", "/records/User").json()
    ann = next(u for u in users if u["Email"] == "ann@northwind.test")
    assert env.admin("DELETE", f"/records/User/{ann['Id']}").status_code == 204
    ann_now = next(u for u in env.admin("GET", "/records/User").json() if u["Id"] == ann["Id"])
    assert ann_now["IsActive"] is False  # users are deactivated, never deleted
    assert env.admin("POST", "/reset").status_code == 204
    assert env.admin("GET", "/records/Account").json() == accounts
    assert env.sf.query("SELECT COUNT() FROM Contact WHERE LastName = 'Admin'")["totalSize"] == 0


def test_versions_and_resources(start: Callable[..., Env]) -> None:
    env = start()
    versions = env.http.get(env.url + "/services/data").json()
    assert {"label": "Winter '24", "url": DATA, "version": V} in versions
    assert env.rest("")["query"] == f"{DATA}/query"
    resp = env.raw("GET", "/services/data/v12.0/limits")
    assert resp.status_code == 404 and resp.json()[0]["errorCode"] == "NOT_FOUND"


def test_seeded_world_loads_deterministically() -> None:
    from sandbox.seed import generate

    world = generate(1, 0.01)
    first, second = SalesforceStandIn(world), SalesforceStandIn(generate(1, 0.01))
    part = world.in_crm("salesforce")
    contacts = list(first.store.rows("Contact", include_deleted=True))
    assert len(contacts) == len(part.contacts)
    assert sorted(r["Id"] for r in contacts) == sorted(
        r["Id"] for r in second.store.rows("Contact", include_deleted=True)
    )
    losers = [r for r in contacts if r["IsDeleted"]]
    assert len(losers) == len([m for m in part.merges if m.object == "Contact"])
    assert all(first.store.lookup("Contact", r["MasterRecordId"]) for r in losers)
    assert len(list(first.store.rows("Account"))) + len(
        [m for m in part.merges if m.object == "Account"]
    ) == len(part.accounts)
    users = list(first.store.rows("User"))
    assert len(users) == len(part.members) + 1  # plus the integration user
    assert all(len(r["Id"]) == 18 for r in contacts)
    countries = {r["MailingCountry"] for r in contacts}
    assert countries and all(len(c) > 2 for c in countries)  # names, not ISO codes
