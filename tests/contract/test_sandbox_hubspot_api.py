"""Contract tests of the rest of the HubSpot stand-in through hubspot-api-client 12.x: owners,
properties, pipelines, associations v4, notes, rate limits, faults, auth, admin and stats.
"""

from __future__ import annotations

import importlib
import importlib.util
import time

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.associations.v4 import (
    AssociationSpec,
    BatchInputPublicDefaultAssociationMultiPost,
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicDefaultAssociationMultiPost,
    PublicFetchAssociationsBatchRequest,
    PublicObjectId,
)
from hubspot.crm.contacts import (
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.objects.notes import PublicAssociationsForObject
from hubspot.crm.objects.notes import PublicObjectId as NoteTarget
from hubspot.crm.objects.notes import SimplePublicObjectInputForCreate as NoteInput
from hubspot.crm.properties import PropertyCreate, PropertyGroupCreate
from urllib3 import Retry

from sandbox.core import Served, serve
from sandbox.hubspot import HubSpotStandIn
from sandbox.world import (
    HUBSPOT,
)
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
    assert got.errors[0].sub_category == "crm.associations.NO_ASSOCIATIONS_FOUND"


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
