"""Contract tests of the HubSpot stand-in's CRM search through hubspot-api-client 12.x: filters,
operators, sorting and paging, the write-to-index lag, the 10,000-result and per-second limits.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.contacts import SimplePublicObjectInput, SimplePublicObjectInputForCreate

from sandbox.hubspot import HubSpotStandIn
from sandbox.server import Served, serve
from sandbox.world import HUBSPOT, Contact, Member, World
from tests.contract.hubspot_fixtures import (
    ApiException,
    contact_id,
    error_of,
    install_fixtures,
    search,
    small_world,
)

served, hs, client = install_fixtures()


# -- search --------------------------------------------------------------------------------------
def test_search_filters_sorts_and_pages(client: HubSpot, hs: HubSpotStandIn) -> None:
    got = search(
        client,
        [
            [
                {"property_name": "jobtitle", "operator": "EQ", "value": "vp sales"},
                {
                    "property_name": "country",
                    "operator": "IN",
                    "values": ["germany", "united states"],
                },
            ]
        ],
        sorts=[{"propertyName": "lastname", "direction": "DESCENDING"}],
        properties=["lastname", "jobtitle"],
        limit=10,
    )
    assert got.total == 30 and len(got.results) == 10 and got.paging.next.after == "10"
    names = [r.properties["lastname"] for r in got.results]
    assert names == sorted(names, reverse=True)
    rest = search(
        client,
        [
            [
                {"property_name": "jobtitle", "operator": "EQ", "value": "VP Sales"},
                {"property_name": "country", "operator": "HAS_PROPERTY"},
            ]
        ],
        sorts=[{"propertyName": "lastname", "direction": "DESCENDING"}],
        limit=200,
        after="10",
    )
    assert len(rest.results) == 20 and rest.paging is None


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"property_name": "email", "operator": "CONTAINS_TOKEN", "value": "*@gamma.example"}, 49),
        (
            {
                "property_name": "hs_object_id",
                "operator": "BETWEEN",
                "value": "1000001",
                "high_value": "1000010",
            },
            10,
        ),
        ({"property_name": "phone", "operator": "NOT_HAS_PROPERTY"}, 0),
        ({"property_name": "firstname", "operator": "NEQ", "value": "first1"}, 148),
        ({"property_name": "hs_object_id", "operator": "NOT_IN", "values": ["1000001"]}, 148),
        ({"property_name": "lastmodifieddate", "operator": "LT", "value": "0"}, 0),
    ],
)
def test_search_operators(client: HubSpot, flt: dict[str, Any], expected: int) -> None:
    assert search(client, [[flt]]).total == expected


def test_search_query_and_association_filters(client: HubSpot, hs: HubSpotStandIn) -> None:
    assert search(client, [], query="c14@gamma").total == 1
    assert search(client, [], query="last14 first14").results[0].id == contact_id(hs, "c14")
    at_beta = search(
        client,
        [
            [
                {
                    "property_name": "associations.company",
                    "operator": "EQ",
                    "value": hs.ids[("companies", "a2")],
                }
            ]
        ],
        limit=200,
    )
    assert at_beta.total == 50 and contact_id(hs, "c1") in [r.id for r in at_beta.results]


def test_search_never_returns_archived_and_tracks_modstamps(
    client: HubSpot, hs: HubSpotStandIn
) -> None:
    since = int(time.time() * 1000) - 1
    client.crm.contacts.basic_api.archive(contact_id(hs, "c0"))
    client.crm.contacts.basic_api.update(
        contact_id(hs, "c3"), SimplePublicObjectInput(properties={"jobtitle": "COO"})
    )
    recent = search(
        client, [[{"property_name": "lastmodifieddate", "operator": "GTE", "value": str(since)}]]
    )
    assert [r.id for r in recent.results] == [contact_id(hs, "c3")]
    email = search(
        client, [[{"property_name": "email", "operator": "EQ", "value": "c0@acme.example"}]]
    )
    assert email.total == 0


def test_search_lags_writes_when_asked_to() -> None:
    s = serve(HubSpotStandIn(small_world(), None, search_lag_s=0.4))
    try:
        client = HubSpot(access_token="lag", host=s.url)
        client.crm.contacts.basic_api.create(
            SimplePublicObjectInputForCreate(properties={"email": "late@x.example"})
        )
        by_email = [[{"property_name": "email", "operator": "EQ", "value": "late@x.example"}]]
        assert search(client, by_email).total == 0
        time.sleep(0.45)
        assert search(client, by_email).total == 1
    finally:
        s.stop()


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"limit": 201}, "limit"),
        (
            {
                "filterGroups": [
                    {"filters": [{"propertyName": "email", "operator": "HAS_PROPERTY"}]}
                ]
                * 6
            },
            "filter groups",
        ),
        (
            {
                "filterGroups": [
                    {"filters": [{"propertyName": "email", "operator": "HAS_PROPERTY"}] * 7}
                ]
            },
            "filter group",
        ),
        ({"sorts": [{"propertyName": "email"}, {"propertyName": "lastname"}]}, "one sort"),
        (
            {
                "filterGroups": [
                    {"filters": [{"propertyName": "nope", "operator": "EQ", "value": "1"}]}
                ]
            },
            "nope",
        ),
    ],
)
def test_search_limits_answer_400(
    served: Served, hs: HubSpotStandIn, body: dict[str, Any], fragment: str
) -> None:
    resp = requests.post(
        f"{served.url}/crm/v3/objects/contacts/search",
        json=body,
        headers={"Authorization": f"Bearer {uuid.uuid4()}"},
        timeout=5,
    )
    assert resp.status_code == 400
    assert resp.json()["category"] == "VALIDATION_ERROR" and fragment in resp.json()["message"]


def test_search_stops_at_10000_results() -> None:
    world = World(
        seed=1, scale=0.0, members=[Member("m", "A", "B", "a@o.example", "T", "US", "AE")]
    )
    world.contacts = [
        Contact(f"k{i}", "F", f"L{i}", f"k{i}@big.example", "t", "staff", "US", "-", "m",
                crms={HUBSPOT})
        for i in range(10_050)
    ]  # fmt: skip
    s = serve(HubSpotStandIn(world))
    try:
        client = HubSpot(access_token="big", host=s.url)
        page = search(
            client,
            [[{"property_name": "email", "operator": "HAS_PROPERTY"}]],
            limit=200,
            after="9800",
        )
        assert page.total == 10_050 and len(page.results) == 200
        assert page.paging.next.after == "10000"
        with pytest.raises(ApiException) as exc:
            search(
                client,
                [[{"property_name": "email", "operator": "HAS_PROPERTY"}]],
                limit=200,
                after=page.paging.next.after,
            )
        assert exc.value.status == 400 and error_of(exc)["category"] == "VALIDATION_ERROR"
        assert "10000" in error_of(exc)["message"]
    finally:
        s.stop()


def test_search_is_limited_per_second(client: HubSpot) -> None:
    for _ in range(5):
        search(client, [])
    with pytest.raises(ApiException) as exc:
        search(client, [])
    assert exc.value.status == 429
    body = error_of(exc)
    assert body["policyName"] == "SECONDLY" and body["errorType"] == "RATE_LIMIT"
    time.sleep(1.05)
    for _ in range(4):  # a client pacing itself at 4/s is never refused
        search(client, [])
        time.sleep(0.25)
