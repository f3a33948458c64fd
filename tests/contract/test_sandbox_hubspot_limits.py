"""Contract tests of the HubSpot stand-in through hubspot-api-client 12.x: rate limits and their
headers, faults, auth (private-app and OAuth tokens), admin endpoints, stats and world loading.
"""

from __future__ import annotations

import importlib
import importlib.util
import time

import pytest
import requests
from hubspot import HubSpot
from urllib3 import Retry

from sandbox.hubspot import HubSpotStandIn
from sandbox.server import Served, serve
from sandbox.world import HUBSPOT
from tests.contract.hubspot_fixtures import (
    N_CONTACTS,
    RATE_HEADERS,
    ApiException,
    contact_id,
    error_of,
    install_fixtures,
    search,
    small_world,
)

served, hs, client = install_fixtures()


# -- limits, faults, auth ----------------------------------------------------------------------
def test_rate_limit_headers_on_every_answer(served: Served, hs: HubSpotStandIn) -> None:
    auth = {"Authorization": "Bearer hdr"}
    first = requests.get(f"{served.url}/crm/v3/objects/contacts", headers=auth, timeout=5)
    second = requests.get(f"{served.url}/crm/v3/owners", headers=auth, timeout=5)
    for resp in (first, second):
        assert all(h in resp.headers for h in RATE_HEADERS)
    assert first.headers["X-HubSpot-RateLimit-Max"] == "100"
    assert first.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert (
        int(second.headers["X-HubSpot-RateLimit-Remaining"])
        == int(first.headers["X-HubSpot-RateLimit-Remaining"]) - 1
        == 98
    )
    assert second.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "249998"


@pytest.mark.parametrize(
    ("option", "policy"), [("per_10s", "TEN_SECONDLY_ROLLING"), ("daily_limit", "DAILY")]
)
def test_over_the_limit_answers_429_without_retry_after(option: str, policy: str) -> None:
    s = serve(HubSpotStandIn(small_world(), None, **{option: 3}))
    try:
        client = HubSpot(access_token="burst", host=s.url)
        for _ in range(3):
            client.crm.owners.owners_api.get_page()
        with pytest.raises(ApiException) as exc:
            client.crm.owners.owners_api.get_page()
        assert exc.value.status == 429 and "Retry-After" not in exc.value.headers
        body = error_of(exc)
        assert body["policyName"] == policy and body["errorType"] == "RATE_LIMIT"
        assert body["message"].startswith("You have reached your")
        assert exc.value.headers["X-HubSpot-RateLimit-Remaining"] == "0" or policy == "DAILY"
    finally:
        s.stop()


@pytest.mark.parametrize(
    ("kind", "status", "field", "value", "retry_after"),
    [
        ("429", 429, "policyName", "TEN_SECONDLY_ROLLING", "1"),
        ("429-no-retry-after", 429, "policyName", "TEN_SECONDLY_ROLLING", None),
        ("500", 500, "category", "INTERNAL_ERROR", None),
        ("503", 503, "category", "SERVICE_UNAVAILABLE", None),
        ("expire", 401, "category", "EXPIRED_AUTHENTICATION", None),
    ],
)
def test_faults_show_through_the_client(
    served: Served,
    hs: HubSpotStandIn,
    kind: str,
    status: int,
    field: str,
    value: str,
    retry_after: str | None,
) -> None:
    no_retry = Retry(total=0, respect_retry_after_header=False)
    client = HubSpot(access_token=f"pat-{kind}", host=served.url, retry=no_retry)
    requests.post(f"{served.url}/__sandbox/faults", json={"once": [kind]}, timeout=5)
    with pytest.raises(ApiException) as exc:
        client.crm.contacts.basic_api.get_page()
    assert exc.value.status == status and error_of(exc)[field] == value
    assert exc.value.headers.get("Retry-After") == retry_after
    assert all(h in exc.value.headers for h in RATE_HEADERS)
    assert client.crm.contacts.basic_api.get_page().results  # a private-app token still works


def test_the_client_honours_retry_after_by_itself(client: HubSpot, served: Served) -> None:
    requests.post(f"{served.url}/__sandbox/faults", json={"once": ["429"]}, timeout=5)
    started = time.monotonic()
    assert client.crm.contacts.basic_api.get_page().results
    assert time.monotonic() - started >= 1.0
    stats = requests.get(f"{served.url}/__sandbox/stats", timeout=5).json()
    assert stats["calls"]["GET /crm/v3/objects/{objectType}"] == 2


@pytest.mark.parametrize("header", [None, "Bearer ", "Basic dXNlcjpwYXNz"])
def test_missing_or_malformed_credentials_answer_401(
    served: Served, hs: HubSpotStandIn, header: str | None
) -> None:
    headers = {"Authorization": header} if header is not None else {}
    resp = requests.get(f"{served.url}/crm/v3/objects/deals", headers=headers, timeout=5)
    assert resp.status_code == 401
    body = resp.json()
    assert body["category"] == "INVALID_AUTHENTICATION" and body["status"] == "error"
    assert body["message"].startswith("Authentication credentials not found.")


def test_oauth_tokens_expire_and_refresh(served: Served, hs: HubSpotStandIn) -> None:
    tokens = HubSpot(host=served.url).oauth.tokens_api
    issued = tokens.create(
        grant_type="refresh_token", refresh_token="rt-1", client_id="id", client_secret="secret"
    )
    assert issued.expires_in == 1800 and issued.refresh_token == "rt-1"
    client = HubSpot(access_token=issued.access_token, host=served.url)
    client.crm.deals.basic_api.get_page()
    requests.post(f"{served.url}/__sandbox/faults", json={"once": ["expire"]}, timeout=5)
    for _ in range(2):  # the expired OAuth token stays expired
        with pytest.raises(ApiException) as exc:
            client.crm.deals.basic_api.get_page()
        assert exc.value.status == 401 and error_of(exc)["category"] == "EXPIRED_AUTHENTICATION"
    fresh = tokens.create(
        grant_type="refresh_token", refresh_token="rt-1", client_id="id", client_secret="secret"
    )
    HubSpot(access_token=fresh.access_token, host=served.url).crm.deals.basic_api.get_page()
    hs.clock.offset += __import__("datetime").timedelta(seconds=1801)
    try:
        with pytest.raises(ApiException) as exc:
            HubSpot(access_token=fresh.access_token, host=served.url).crm.deals.basic_api.get_page()
        assert "expired 1 second(s) ago" in error_of(exc)["message"]
    finally:
        hs.clock.offset = __import__("datetime").timedelta(0)


# -- admin and stats ---------------------------------------------------------------------------
def test_stats_count_every_call(client: HubSpot, served: Served) -> None:
    for _ in range(3):
        client.crm.contacts.basic_api.get_page()
    search(client, [])
    calls = requests.get(f"{served.url}/__sandbox/stats", timeout=5).json()
    assert calls["calls"]["GET /crm/v3/objects/{objectType}"] == 3
    assert calls["calls"]["POST /crm/v3/objects/{objectType}/search"] == 1
    assert calls["total"] == 4


def test_admin_endpoints(served: Served, hs: HubSpotStandIn, client: HubSpot) -> None:
    url = f"{served.url}/__sandbox"
    contacts = requests.get(f"{url}/records/contacts", timeout=5).json()
    assert len(contacts) == N_CONTACTS - 1
    c1 = next(c for c in contacts if c["id"] == contact_id(hs, "c1"))
    assert c1["properties"]["jobtitle"] == "Engineer" and "companies" in c1["associations"]
    changed = requests.post(
        f"{url}/records/contacts", json={"id": c1["id"], "jobtitle": "CTO"}, timeout=5
    ).json()
    assert changed["properties"]["lastmodifieddate"] > c1["properties"]["lastmodifieddate"]
    made = requests.post(f"{url}/records/companies", json={"name": "New Co"}, timeout=5).json()
    assert made["properties"]["name"] == "New Co"
    assert requests.delete(f"{url}/records/contacts/{c1['id']}", timeout=5).status_code == 204
    assert c1["id"] in [r.id for r in client.crm.contacts.basic_api.get_page(archived=True).results]
    merged = requests.post(
        f"{url}/merge/companies",
        timeout=5,
        json={"winner": hs.ids[("companies", "a1")], "loser": hs.ids[("companies", "a3")]},
    ).json()
    assert merged["properties"]["hs_merged_object_ids"] == hs.ids[("companies", "a3")]
    owners = requests.get(f"{url}/records/owners", timeout=5).json()
    assert {o["email"] for o in owners} == {"ann.lee@ours.example", "bob@ours.example"}
    assert requests.get(f"{url}/records/tickets", timeout=5).status_code == 404
    requests.post(f"{url}/reset", timeout=5).raise_for_status()
    assert len(requests.get(f"{url}/records/contacts", timeout=5).json()) == N_CONTACTS - 1


def test_same_world_same_ids() -> None:
    assert HubSpotStandIn(small_world()).ids == HubSpotStandIn(small_world()).ids


def test_generated_world_loads() -> None:
    if importlib.util.find_spec("sandbox.seed") is None:
        pytest.skip(
            "adapters/sandbox/seed.py (the seed helper's generate(seed, scale)) is not written yet"
        )
    from sandbox import seed

    world = seed.generate(3, 0.01)
    hs = HubSpotStandIn(world)
    s = serve(hs)
    try:
        client = HubSpot(access_token="seed", host=s.url)
        expected = len(world.in_crm(HUBSPOT).contacts) - sum(
            m.object in ("contacts", "contact") for m in world.in_crm(HUBSPOT).merges
        )
        seen, after = 0, None
        while True:
            page = client.crm.contacts.basic_api.get_page(limit=100, after=after)
            seen += len(page.results)
            if page.paging is None:
                break
            after = page.paging.next.after
        assert 0 < seen <= expected
        assert client.crm.owners.owners_api.get_page().results
        assert HubSpotStandIn(seed.generate(3, 0.01)).ids == hs.ids
    finally:
        s.stop()
