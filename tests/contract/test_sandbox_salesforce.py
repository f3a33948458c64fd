"""Contract tests of the Salesforce stand-in, driven through simple-salesforce over TLS as the
adapter builds it: `Salesforce(instance_url=, session_id=, session=<trust_env=False>, version=)`.

Here: OAuth, faults, the daily allowance, call stats, the admin endpoints and the seeded world;
reads are in test_sandbox_salesforce_query.py, writes in test_sandbox_salesforce_write.py.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceRefusedRequest,
)

from sandbox.core import Clock
from sandbox.salesforce import SalesforceStandIn
from tests.contract.salesforce_fixtures import DATA, Env, V, install_fixtures

tls, start = install_fixtures()


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
