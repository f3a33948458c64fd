"""Contract tests of the HubSpot stand-in's CRM objects through the unmodified hubspot-api-client
12.x over a real socket: basic paging and writes, batches (100 a call, 207s), merges; search is in
test_sandbox_hubspot_search.py.
"""

from __future__ import annotations

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

from sandbox.hubspot import HubSpotStandIn
from sandbox.server import Served
from tests.contract.hubspot_fixtures import (
    N_CONTACTS,
    ApiException,
    contact_id,
    error_of,
    install_fixtures,
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
