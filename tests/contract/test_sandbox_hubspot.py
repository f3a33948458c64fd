"""Contract tests of the HubSpot stand-in's CRM objects through the unmodified hubspot-api-client
12.x over a real socket: basic paging and writes, batches (100 a call, 207s), search, merges.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchInputSimplePublicObjectId,
    BatchReadInputSimplePublicObjectId,
    PublicMergeInput,
    SimplePublicObjectBatchInput,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)

from sandbox.core import Served, serve
from sandbox.hubspot import HubSpotStandIn
from sandbox.world import (
    HUBSPOT,
    Contact,
    Member,
    World,
)
from tests.contract.hubspot_fixtures import (
    N_CONTACTS,
    ApiException,
    contact_id,
    error_of,
    install_fixtures,
    search,
    small_world,
)

served, hs, client = install_fixtures()


# -- basic ---------------------------------------------------------------------------------------
def test_get_page_pages_by_100_with_after_and_link(client: HubSpot, hs: HubSpotStandIn) -> None:
    first = client.crm.contacts.basic_api.get_page(limit=100)
    assert len(first.results) == 100
    after = first.paging.next.after
    assert first.paging.next.link.endswith(f"after={after}")
    second = client.crm.contacts.basic_api.get_page(limit=100, after=after)
    assert second.paging is None
    ids = [r.id for r in first.results + second.results]
    assert len(ids) == len(set(ids)) == N_CONTACTS - 1  # c11 was merged into c10
    assert ("contacts", "cx") not in hs.ids  # a Salesforce-only contact
    rec = first.results[0]
    assert set(rec.properties) == {
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    }
    assert rec.properties["hs_object_id"] == rec.id and rec.archived is False
    assert rec.created_at < rec.updated_at


def test_get_page_limit_101_is_rejected(client: HubSpot) -> None:
    with pytest.raises(ApiException) as exc:
        client.crm.contacts.basic_api.get_page(limit=101)
    assert exc.value.status == 400
    body = error_of(exc)
    assert body["status"] == "error" and body["category"] == "VALIDATION_ERROR"
    assert body["correlationId"]


def test_only_requested_properties_come_back(client: HubSpot, hs: HubSpotStandIn) -> None:
    page = client.crm.companies.basic_api.get_page(
        properties=["name", "country", "hs_parent_company_id", "nope"], associations=["contacts"]
    )
    beta = next(r for r in page.results if r.properties["name"] == "Beta Bank")
    assert set(beta.properties) == {
        "name",
        "country",
        "hs_parent_company_id",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
    }
    assert beta.properties["country"] == "United States"
    assert beta.properties["hs_parent_company_id"] == hs.ids[("companies", "a1")]
    linked = beta.associations["contacts"].results
    assert {a.type for a in linked} == {"company_to_contact", "company_to_contact_unlabeled"}


def test_archived_records_only_with_archived_true(client: HubSpot, hs: HubSpotStandIn) -> None:
    victim = contact_id(hs, "c5")
    client.crm.contacts.basic_api.archive(victim)
    live = client.crm.contacts.basic_api.get_page(limit=100, after=victim)
    assert victim not in [r.id for r in live.results]
    gone = client.crm.contacts.basic_api.get_page(archived=True)
    assert [r.id for r in gone.results] == [victim]
    assert gone.results[0].archived is True and gone.results[0].archived_at is not None
    with pytest.raises(ApiException) as exc:
        client.crm.contacts.basic_api.get_by_id(victim)
    assert exc.value.status == 404
    assert error_of(exc)["message"] == "Object not found.  objectId are usually numeric."


def test_create_update_and_history(client: HubSpot) -> None:
    created = client.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(
            properties={"email": "New@Client.example", "jobtitle": "CFO"}
        )
    )
    assert created.properties["email"] == "new@client.example"
    client.crm.contacts.basic_api.update(
        created.id, SimplePublicObjectInput(properties={"jobtitle": "CEO"})
    )
    again = client.crm.contacts.basic_api.get_by_id(
        "new@client.example", id_property="email", properties_with_history=["jobtitle"]
    )
    history = again.properties_with_history["jobtitle"]
    assert [h.value for h in history] == ["CEO", "CFO"]
    assert again.properties["lastmodifieddate"] > created.properties["lastmodifieddate"]


@pytest.mark.parametrize(
    ("properties", "status", "fragment"),
    [
        ({"email": "x@y.example", "favourite_colour": "red"}, 400, "PROPERTY_DOESNT_EXIST"),
        ({"email": "not-an-email"}, 400, "INVALID_EMAIL"),
        ({"email": "y@y.example", "hs_object_id": "1"}, 400, "READ_ONLY_VALUE"),
        ({"email": "c1@beta.example"}, 409, "Contact already exists. Existing ID: "),
    ],
)
def test_bad_writes_answer_hubspot_errors(
    client: HubSpot, properties: dict[str, str], status: int, fragment: str
) -> None:
    with pytest.raises(ApiException) as exc:
        client.crm.contacts.basic_api.create(
            SimplePublicObjectInputForCreate(properties=properties)
        )
    assert exc.value.status == status
    assert fragment in error_of(exc)["message"]


# -- batch ---------------------------------------------------------------------------------------
def test_batch_read_reports_missing_ids_in_a_207(client: HubSpot, hs: HubSpotStandIn) -> None:
    ids = [contact_id(hs, "c1"), contact_id(hs, "c2"), "999"]
    got = client.crm.contacts.batch_api.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=i) for i in ids],
            properties=["email"],
            properties_with_history=[],
        )
    )
    assert type(got).__name__ == "BatchResponseSimplePublicObjectWithErrors"
    assert got.status == "COMPLETE" and got.num_errors == 1
    assert {r.id for r in got.results} == set(ids[:2])
    error = got.errors[0]
    assert error.category == "OBJECT_NOT_FOUND" and error.context == {"ids": ["999"]}
    assert "Could not get some CONTACT objects" in error.message


def test_batch_create_update_upsert_archive(client: HubSpot, hs: HubSpotStandIn) -> None:
    batch = client.crm.contacts.batch_api
    made = batch.create(
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                SimplePublicObjectBatchInputForCreate(properties={"email": f"b{i}@new.example"})
                for i in range(3)
            ]
        )
    )
    assert type(made).__name__ == "BatchResponseSimplePublicObject" and len(made.results) == 3
    ids = [r.id for r in made.results]
    updated = batch.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[
                SimplePublicObjectBatchInput(id=i, properties={"jobtitle": "Buyer"}) for i in ids
            ]
        )
    )
    assert {r.properties["jobtitle"] for r in updated.results} == {"Buyer"}
    upserted = batch.upsert(
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                SimplePublicObjectBatchInputUpsert(
                    id="b0@new.example", id_property="email", properties={"lastname": "Known"}
                ),
                SimplePublicObjectBatchInputUpsert(
                    id="fresh@new.example", id_property="email", properties={"lastname": "Fresh"}
                ),
            ]
        )
    )
    assert sorted((r.new, r.properties["lastname"]) for r in upserted.results) == [
        (False, "Known"),
        (True, "Fresh"),
    ]
    batch.archive(BatchInputSimplePublicObjectId(inputs=[SimplePublicObjectId(id=ids[0])]))
    assert {r.id for r in client.crm.contacts.basic_api.get_page(archived=True).results} == {ids[0]}


def test_batch_update_of_unknown_id_is_a_207(client: HubSpot, hs: HubSpotStandIn) -> None:
    got = client.crm.contacts.batch_api.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[
                SimplePublicObjectBatchInput(id=contact_id(hs, "c1"), properties={"jobtitle": "X"}),
                SimplePublicObjectBatchInput(id="424242", properties={"jobtitle": "X"}),
            ]
        )
    )
    assert got.num_errors == 1 and got.errors[0].context == {"ids": ["424242"]}
    assert [r.id for r in got.results] == [contact_id(hs, "c1")]


def test_upsert_by_a_non_unique_property_is_refused(client: HubSpot) -> None:
    with pytest.raises(ApiException) as exc:
        client.crm.contacts.batch_api.upsert(
            BatchInputSimplePublicObjectBatchInputUpsert(
                inputs=[
                    SimplePublicObjectBatchInputUpsert(
                        id="x", id_property="lastname", properties={}
                    )
                ]
            )
        )
    assert exc.value.status == 400
    assert "non-unique 0-1 property lastname" in error_of(exc)["message"]


@pytest.mark.parametrize("call", ["read", "create", "update", "upsert", "archive"])
def test_batches_of_101_are_rejected(client: HubSpot, call: str) -> None:
    ids = [SimplePublicObjectId(id=str(i)) for i in range(101)]
    body = {
        "read": BatchReadInputSimplePublicObjectId(
            inputs=ids, properties=[], properties_with_history=[]
        ),
        "create": BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[SimplePublicObjectBatchInputForCreate(properties={}) for _ in range(101)]
        ),
        "update": BatchInputSimplePublicObjectBatchInput(
            inputs=[SimplePublicObjectBatchInput(id=str(i), properties={}) for i in range(101)]
        ),
        "upsert": BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                SimplePublicObjectBatchInputUpsert(
                    id=f"{i}@x.example", id_property="email", properties={}
                )
                for i in range(101)
            ]
        ),
        "archive": BatchInputSimplePublicObjectId(inputs=ids),
    }[call]
    with pytest.raises(ApiException) as exc:
        getattr(client.crm.contacts.batch_api, call)(body)
    assert exc.value.status == 400
    body_json = error_of(exc)
    assert body_json["category"] == "VALIDATION_ERROR"
    assert "maximum number of inputs supported in a batch request is 100" in body_json["message"]


def test_partial_fault_fails_one_record_with_a_207(client: HubSpot, served: Served) -> None:
    requests.post(f"{served.url}/__sandbox/faults", json={"once": ["partial"]}, timeout=5)
    got = client.crm.contacts.batch_api.create(
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                SimplePublicObjectBatchInputForCreate(properties={"email": f"p{i}@x.example"})
                for i in range(4)
            ]
        )
    )
    assert type(got).__name__ == "BatchResponseSimplePublicObjectWithErrors"
    assert len(got.results) == 3 and got.num_errors == 1
    assert got.errors[0].status == "error" and got.errors[0].category


def test_one_bad_property_fails_the_whole_batch(client: HubSpot) -> None:
    with pytest.raises(ApiException) as exc:
        client.crm.contacts.batch_api.create(
            BatchInputSimplePublicObjectBatchInputForCreate(
                inputs=[
                    SimplePublicObjectBatchInputForCreate(properties={"email": "ok@x.example"}),
                    SimplePublicObjectBatchInputForCreate(properties={"nope": "1"}),
                ]
            )
        )
    assert exc.value.status == 400 and "PROPERTY_DOESNT_EXIST" in error_of(exc)["message"]
    assert client.crm.contacts.basic_api.get_page(limit=1, after="1000151").results == []


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


# -- merges --------------------------------------------------------------------------------------
def test_merge_moves_associations_and_redirects_the_loser(
    client: HubSpot, hs: HubSpotStandIn
) -> None:
    keep, lose = contact_id(hs, "c4"), contact_id(hs, "c7")
    merged = client.crm.contacts.basic_api.merge(
        PublicMergeInput(primary_object_id=keep, object_id_to_merge=lose)
    )
    assert merged.id == keep
    again = client.crm.contacts.basic_api.get_by_id(
        lose, properties=["hs_merged_object_ids", "hs_additional_emails"]
    )
    assert again.id == keep and again.properties["hs_merged_object_ids"] == lose
    assert again.properties["hs_additional_emails"] == "c7@beta.example"
    ids = [
        r.id
        for p in ("0", "1000101")
        for r in client.crm.contacts.basic_api.get_page(limit=100, after=p).results
    ]
    assert lose not in ids and keep in ids
    deals = client.crm.associations.v4.basic_api.get_page("contacts", keep, "deals").results
    assert int(hs.ids[("deals", "o4")]) in [int(d.to_object_id) for d in deals]  # c7's role


def test_world_merges_are_applied_at_load(client: HubSpot, hs: HubSpotStandIn) -> None:
    survivor = client.crm.contacts.basic_api.get_by_id(
        contact_id(hs, "c10"), properties=["hs_merged_object_ids"]
    )
    assert survivor.properties["hs_merged_object_ids"] == "1000012"
    assert client.crm.contacts.basic_api.get_by_id("1000012").id == survivor.id
