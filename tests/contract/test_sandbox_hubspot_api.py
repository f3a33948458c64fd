"""Contract tests of the rest of the HubSpot stand-in through hubspot-api-client 12.x: owners,
properties, pipelines, associations v4 and notes; limits, faults, auth, admin and stats are in
test_sandbox_hubspot_limits.py.
"""

from __future__ import annotations

import pytest
from hubspot import HubSpot
from hubspot.crm.associations.v4 import (
    AssociationSpec,
    BatchInputPublicDefaultAssociationMultiPost,
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicDefaultAssociationMultiPost,
    PublicFetchAssociationsBatchRequest,
    PublicObjectId,
)
from hubspot.crm.contacts import SimplePublicObjectInputForCreate
from hubspot.crm.objects.notes import PublicAssociationsForObject
from hubspot.crm.objects.notes import PublicObjectId as NoteTarget
from hubspot.crm.objects.notes import SimplePublicObjectInputForCreate as NoteInput
from hubspot.crm.properties import PropertyCreate, PropertyGroupCreate

from sandbox.hubspot import HubSpotStandIn
from tests.contract.hubspot_fixtures import ApiException, contact_id, error_of, install_fixtures

served, hs, client = install_fixtures()


# -- owners, properties, pipelines -------------------------------------------------------------
def test_owners(client: HubSpot) -> None:
    owners = client.crm.owners.owners_api.get_page(limit=500)
    assert [o.email for o in owners.results] == ["ann.lee@ours.example", "bob@ours.example"]
    ann = owners.results[0]
    assert ann.teams[0].name == "EMEA Enterprise" and ann.teams[0].primary is True
    assert isinstance(ann.user_id, int) and ann.archived is False
    only = client.crm.owners.owners_api.get_page(email="bob@ours.example")
    assert [o.last_name for o in only.results] == ["Ray"]
    archived = client.crm.owners.owners_api.get_page(archived=True)
    assert [o.email for o in archived.results] == ["cy@ours.example"]
    with pytest.raises(ApiException) as exc:
        client.crm.owners.owners_api.get_page(limit=501)
    assert exc.value.status == 400


def test_properties_and_groups(client: HubSpot) -> None:
    core, groups = client.crm.properties.core_api, client.crm.properties.groups_api
    names = {p.name for p in core.get_all("contacts").results}
    assert {
        "email",
        "firstname",
        "hubspot_owner_id",
        "associatedcompanyid",
        "hs_merged_object_ids",
    } <= names
    new_prop = PropertyCreate(
        name="carnet_strength",
        label="Relationship strength",
        type="number",
        field_type="number",
        group_name="carnet",
    )
    with pytest.raises(ApiException) as exc:
        core.create("contacts", new_prop)
    assert exc.value.status == 400 and "carnet does not exist" in error_of(exc)["message"]
    groups.create("contacts", PropertyGroupCreate(name="carnet", label="Carnet"))
    created = core.create("contacts", new_prop)
    assert created.name == "carnet_strength" and created.group_name == "carnet"
    for call, args in (
        (groups.create, ("contacts", PropertyGroupCreate(name="carnet", label="Carnet"))),
        (core.create, ("contacts", new_prop)),
    ):
        with pytest.raises(ApiException) as exc:
            call(*args)
        assert exc.value.status == 409 and error_of(exc)["category"] == "OBJECT_ALREADY_EXISTS"
    assert core.get_by_name("contacts", "carnet_strength").type == "number"
    contact = client.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(
            properties={"email": "s@x.example", "carnet_strength": "4"}
        )
    )
    assert (
        client.crm.contacts.basic_api.get_by_id(
            contact.id, properties=["carnet_strength"]
        ).properties["carnet_strength"]
        == "4"
    )


def test_pipelines_say_which_stages_are_closed(client: HubSpot) -> None:
    pipelines = client.crm.pipelines.pipelines_api.get_all("deals").results
    assert [p.id for p in pipelines] == ["default", "75342518"]
    meta = {s.id: s.metadata for p in pipelines for s in p.stages}
    assert meta["closedwon"] == {"isClosed": "true", "probability": "1.0"}
    assert meta["closedlost"] == {"isClosed": "true", "probability": "0.0"}
    assert meta["appointmentscheduled"]["isClosed"] == "false"
    deals = client.crm.deals.basic_api.get_page(
        properties=["dealname", "dealstage", "pipeline", "hs_is_closed_won"]
    ).results
    assert {d.properties["pipeline"] for d in deals} == {"default", "75342518"}
    won = {
        d.properties["dealname"]
        for d in deals
        if meta[d.properties["dealstage"]]["isClosed"] == "true"
        and meta[d.properties["dealstage"]]["probability"] == "1.0"
    }
    assert won == {
        d.properties["dealname"] for d in deals if d.properties["hs_is_closed_won"] == "true"
    }
    assert {"Deal 2", "Deal 6"} == won


# -- associations and notes -------------------------------------------------------------------
def test_associations_v4_read_and_create(client: HubSpot, hs: HubSpotStandIn) -> None:
    v4 = client.crm.associations.v4
    c1, a2 = contact_id(hs, "c1"), hs.ids[("companies", "a2")]
    linked = v4.basic_api.get_page("contacts", c1, "companies").results
    assert [int(x.to_object_id) for x in linked] == [int(a2)]
    assert sorted((t.type_id, t.label) for t in linked[0].association_types) == [
        (1, "Primary"),
        (279, None),
    ]
    deal = hs.ids[("deals", "o0")]
    made = v4.basic_api.create(
        "contacts",
        c1,
        "deals",
        deal,
        [AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=4)],
    )
    assert made.from_object_type_id == "0-1" and int(made.to_object_id) == int(deal)
    back = v4.basic_api.get_page("deals", deal, "contacts").results
    assert int(c1) in [int(x.to_object_id) for x in back]
    with pytest.raises(ApiException) as exc:
        v4.basic_api.create(
            "contacts",
            c1,
            "deals",
            deal,
            [AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=279)],
        )
    assert exc.value.status == 400
    assert error_of(exc)["subCategory"] == "crm.associations.INVALID_ASSOCIATION_TYPE"
    default = v4.batch_api.create_default(
        "contacts",
        "companies",
        BatchInputPublicDefaultAssociationMultiPost(
            inputs=[
                PublicDefaultAssociationMultiPost(
                    _from=PublicObjectId(id=c1), to=PublicObjectId(id=hs.ids[("companies", "a3")])
                )
            ]
        ),
    )
    assert default.results[0].association_spec.association_type_id == 279


def test_associations_batch_read_reports_records_without_any(
    client: HubSpot, hs: HubSpotStandIn
) -> None:
    lonely = client.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"email": "lonely@x.example"})
    ).id
    got = client.crm.associations.v4.batch_api.get_page("contacts", "companies",
        BatchInputPublicFetchAssociationsBatchRequest(inputs=[
            PublicFetchAssociationsBatchRequest(id=contact_id(hs, "c2")),
            PublicFetchAssociationsBatchRequest(id=lonely)]))  # fmt: skip
    assert type(got).__name__ == "BatchResponsePublicAssociationMultiWithLabelWithErrors"
    assert [r._from.id for r in got.results] == [contact_id(hs, "c2")]
    assert got.errors[0].sub_category == {"name": "crm.associations.NO_ASSOCIATIONS_FOUND"}


def test_notes_need_a_timestamp_and_link_on_create(client: HubSpot, hs: HubSpotStandIn) -> None:
    notes = client.crm.objects.notes.basic_api
    targets = [
        (hs.ids[("companies", "a1")], 190),
        (contact_id(hs, "c1"), 202),
        (hs.ids[("deals", "o1")], 214),
    ]
    note = notes.create(
        NoteInput(
            properties={
                "hs_timestamp": "2024-05-01T10:00:00Z",
                "hs_note_body": "<p>Plan</p>",
                "hubspot_owner_id": hs.ids[("owners", "m1")],
            },
            associations=[
                PublicAssociationsForObject(
                    to=NoteTarget(id=t),
                    types=[{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": k}],
                )
                for t, k in targets
            ],
        )
    )
    assert note.properties["hs_timestamp"] == "2024-05-01T10:00:00.000Z"
    on_company = client.crm.associations.v4.basic_api.get_page("companies", targets[0][0], "notes")
    assert int(note.id) in [int(x.to_object_id) for x in on_company.results]
    with pytest.raises(ApiException) as exc:
        notes.create(NoteInput(properties={"hs_note_body": "no time"}, associations=[]))
    assert exc.value.status == 400
    assert error_of(exc)["context"] == {"properties": ["hs_timestamp"]}
    with pytest.raises(ApiException) as exc:
        notes.create(
            NoteInput(
                properties={"hs_timestamp": "0", "hs_note_body": "x" * 65_537}, associations=[]
            )
        )
    assert exc.value.status == 400 and "hs_note_body" in error_of(exc)["message"]
    with pytest.raises(ApiException) as exc:
        notes.create(
            NoteInput(properties={"hs_timestamp": "0", "hubspot_owner_id": "1"}, associations=[])
        )
    assert "INVALID_OWNER_ID" in error_of(exc)["message"]


def test_engagements_exist_for_activities(client: HubSpot, hs: HubSpotStandIn) -> None:
    calls = client.crm.objects.calls.basic_api.get_page(
        properties=["hs_call_title", "hs_timestamp"]
    ).results
    assert len(calls) == 3 and calls[0].properties["hs_call_title"] == "call 0"
    c0 = client.crm.contacts.basic_api.get_by_id(
        contact_id(hs, "c0"), properties=["notes_last_contacted"]
    )
    assert c0.properties["notes_last_contacted"] == calls[0].properties["hs_timestamp"]
