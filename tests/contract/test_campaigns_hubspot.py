"""Invitation campaigns in HubSpot: the stand-in's Lists v3 (lists, names, memberships, limits)
through hubspot-api-client 12.x, then the adapter's CampaignWriter on it (a list per campaign,
found again, renamed, its members written and read back exactly once).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hubspot import HubSpot
from hubspot.crm.lists.exceptions import ApiException as ListsError

from adapters.hubspot import lists as hs_lists
from connector.core.errors import RecordError
from connector.core.records import Outcome
from connector.core.records_campaigns import CampaignRecord, MemberWrite, campaign_marker
from sandbox.hubspot import HubSpotStandIn
from sandbox.hubspot_lists import MAX_MEMBERSHIP_IDS
from tests.contract.hubspot_adapter_kit import (
    MakeAdapter,
    Portal,
    make_adapter,
    portal,
    portal_factory,
)
from tests.contract.hubspot_fixtures import contact_id, install_fixtures

served, hs, client = install_fixtures()
__all__ = ["make_adapter", "portal", "portal_factory"]  # the fixtures
MEMBERSHIPS = "GET /crm/v3/lists/{listId}/memberships"
ADD = "PUT /crm/v3/lists/{listId}/memberships/add"


def make_list(client: HubSpot, name: str, processing: str = "MANUAL") -> str:
    body = {"name": name, "objectTypeId": "0-1", "processingType": processing}
    return str(client.crm.lists.lists_api.create(body).list.list_id)


def refusal(exc: pytest.ExceptionInfo[ListsError]) -> tuple[int, dict[str, Any]]:
    return int(exc.value.status), json.loads(exc.value.body)


def contacts(hs: HubSpotStandIn, *keys: int) -> list[str]:
    return [contact_id(hs, f"c{k}") for k in keys]


# -- the stand-in: lists ---------------------------------------------------------------------------


def test_a_list_is_made_and_found_by_id_and_by_name_in_any_case(client: HubSpot) -> None:
    lists = client.crm.lists.lists_api
    body = {"name": "VIP box 2025/26 [carnet:campaign:1]", "objectTypeId": "0-1",
            "processingType": "MANUAL"}  # fmt: skip
    made = lists.create_with_http_info(body, _preload_content=False)
    shown = json.loads(made.data)["list"]
    assert made.status == 200 and shown["processingType"] == "MANUAL"
    assert shown["objectTypeId"] == "0-1" and shown["listVersion"] == 1 and shown["size"] == 0
    assert {"listId", "name", "createdAt", "updatedAt"} <= set(shown)
    by_id = lists.get_by_id(shown["listId"]).list
    by_name = lists.get_by_name("vip BOX 2025/26 [CARNET:campaign:1]", "0-1").list
    assert by_id.name == by_name.name == body["name"] and by_name.list_id == shown["listId"]
    with pytest.raises(ListsError) as nothing:
        lists.get_by_name("VIP box 2025/26", "0-1")
    assert refusal(nothing)[0] == 404 and refusal(nothing)[1]["category"] == "OBJECT_NOT_FOUND"


def test_a_name_in_use_is_refused_as_hubspot_does_until_its_list_is_deleted(
    client: HubSpot,
) -> None:
    lists = client.crm.lists.lists_api
    first = make_list(client, "Dinner [carnet:campaign:2]")
    other = make_list(client, "Round table")
    attempts = [
        lambda: make_list(client, "DINNER [carnet:campaign:2]"),
        lambda: lists.update_name(other, list_name="dinner [carnet:campaign:2]"),
    ]
    for attempt in attempts:
        with pytest.raises(ListsError) as taken:
            attempt()
        status, body = refusal(taken)
        assert status == 400 and body["category"] == "VALIDATION_ERROR"
        assert body["subCategory"] == "ILS.DUPLICATE_LIST_NAMES"
    renamed = lists.update_name(first, list_name="Dinner 2 [carnet:campaign:2]").updated_list
    assert renamed.name == "Dinner 2 [carnet:campaign:2]" and renamed.list_version == 2
    lists.remove(first)
    with pytest.raises(ListsError) as gone:
        lists.get_by_id(first)
    assert refusal(gone)[0] == 404
    assert make_list(client, "Dinner 2 [carnet:campaign:2]") != first  # the name is free again


# -- the stand-in: memberships ---------------------------------------------------------------------


def test_members_are_added_once_missing_ids_named_and_removed(
    client: HubSpot, hs: HubSpotStandIn
) -> None:
    members = client.crm.lists.memberships_api
    list_id = make_list(client, "Guests")
    ann, bob, cy = contacts(hs, 1, 2, 3)
    company = hs.ids[("companies", "a1")]
    added = members.add(list_id, [ann, bob, "999999999", company])
    assert sorted(added.records_ids_added) == sorted([ann, bob])
    assert sorted(added.record_ids_missing) == sorted(["999999999", company])  # not contacts
    again = members.add(list_id, [ann, cy, cy])
    assert again.records_ids_added == [cy] and not again.record_ids_missing
    page = members.get_page(list_id)
    assert [m.record_id for m in page.results] == sorted([ann, bob, cy], key=int)
    assert client.crm.lists.lists_api.get_by_id(list_id).list.size == 3
    removed = members.remove(list_id, [bob, contact_id(hs, "c4"), "999999999"])
    assert removed.record_ids_removed == [bob] and removed.record_ids_missing == ["999999999"]
    assert [m.record_id for m in members.get_page(list_id).results] == sorted([ann, cy], key=int)


def test_memberships_page_in_record_id_order_up_to_250(client: HubSpot, hs: HubSpotStandIn) -> None:
    members = client.crm.lists.memberships_api
    list_id = make_list(client, "Everyone")
    everyone = [r["id"] for r in hs.admin_records("contacts")]
    assert not members.add(list_id, everyone).record_ids_missing
    seen: list[str] = []
    after = None
    while True:
        page = members.get_page(list_id, after=after, limit=100 if after is None else 40)
        seen += [m.record_id for m in page.results]
        if page.paging is None:
            break
        after = page.paging.next.after
    assert seen == sorted(everyone, key=int) and len(seen) == len(everyone) > 100
    assert len(members.get_page(list_id).results) == 100  # the default
    with pytest.raises(ListsError) as too_many:
        members.get_page(list_id, limit=251)
    assert refusal(too_many)[0] == 400


def test_the_per_call_limit_on_record_ids(client: HubSpot, hs: HubSpotStandIn) -> None:
    members = client.crm.lists.memberships_api
    list_id = make_list(client, "Big")
    ids = [str(900_000_000 + i) for i in range(MAX_MEMBERSHIP_IDS)]
    assert len(members.add(list_id, ids).record_ids_missing) == MAX_MEMBERSHIP_IDS
    with pytest.raises(ListsError) as over:
        members.add(list_id, [*ids, contact_id(hs, "c1")])
    status, body = refusal(over)
    assert status == 400 and body["category"] == "VALIDATION_ERROR"
    assert str(MAX_MEMBERSHIP_IDS) in body["message"]
    assert not members.get_page(list_id).results  # nothing of the refused call was added


def test_deleted_and_merged_contacts_and_dynamic_lists(client: HubSpot, hs: HubSpotStandIn) -> None:
    members = client.crm.lists.memberships_api
    list_id = make_list(client, "Churn")
    keep, loser, deleted = contacts(hs, 20, 21, 22)
    members.add(list_id, [loser, deleted])
    hs.admin_delete("contacts", deleted)
    hs.admin_merge("contacts", keep, loser)
    assert [m.record_id for m in members.get_page(list_id).results] == [keep]
    branch = {"filterBranchType": "OR", "filterBranches": [], "filters": []}
    body = {
        "name": "Dyn",
        "objectTypeId": "0-1",
        "processingType": "DYNAMIC",
        "filterBranch": branch,
    }
    dynamic = str(client.crm.lists.lists_api.create(body).list.list_id)
    with pytest.raises(ListsError) as refused:
        members.add(dynamic, [keep])
    assert refusal(refused)[0] == 400


def test_list_calls_are_counted_rate_limited_and_meet_faults(portal: Portal) -> None:
    raw = HubSpot(access_token="pat-lists", host=portal.url)
    list_id = make_list(raw, "Counted")
    resp = raw.crm.lists.memberships_api.get_page_with_http_info(list_id, _preload_content=False)
    assert json.loads(resp.data) == {"results": [], "total": 0}
    assert "X-HubSpot-RateLimit-Remaining" in resp.headers
    portal.faults(once=["503"])
    with pytest.raises(ListsError) as fault:
        raw.crm.lists.memberships_api.get_page(list_id)
    assert refusal(fault)[0] == 503
    assert portal.calls(MEMBERSHIPS) == 2 and portal.calls("POST /crm/v3/lists") == 1
    lists = portal.admin("GET", "records/lists")
    assert [(x["listId"], x["members"]) for x in lists] == [(list_id, [])]


# -- the adapter -----------------------------------------------------------------------------------


def campaign(campaign_id: int, name: str, ref: str | None = None) -> CampaignRecord:
    marker = campaign_marker(campaign_id)
    return CampaignRecord(f"k{campaign_id}", campaign_id, ref, marker, name,
                          f"Purpose\n\n{marker}", "Planned")  # fmt: skip


def test_a_campaign_list_is_made_found_again_and_renamed(
    portal: Portal, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter(portal)
    vip, dinner = campaign(1, "VIP box"), campaign(2, "Dinner")
    assert adapter.find_campaigns([vip, dinner]) == {}
    made = adapter.push_campaigns([vip, dinner])
    assert [r.outcome for r in made] == [Outcome.OK, Outcome.OK]
    assert [r.key for r in made] == ["k1", "k2"] and made[0].id != made[1].id
    assert adapter.find_campaigns([vip, dinner]) == {vip.marker: made[0].id,
                                                     dinner.marker: made[1].id}  # fmt: skip
    writes = portal.calls("POST /crm/v3/lists")
    same = adapter.push_campaigns([campaign(1, "VIP box", made[0].id)])
    assert same[0].outcome is Outcome.OK and portal.calls("POST /crm/v3/lists") == writes
    assert portal.calls("PUT /crm/v3/lists/{listId}/update-list-name") == 0  # nothing to write
    renamed = campaign(1, "VIP box (final)", made[0].id)
    assert adapter.push_campaigns([renamed])[0].id == made[0].id
    names = {x["listId"]: x["name"] for x in portal.admin("GET", "records/lists")}
    assert names == {made[0].id: "VIP box (final) [carnet:campaign:1]",
                     made[1].id: "Dinner [carnet:campaign:2]"}  # fmt: skip
    # a campaign renamed in Carnet whose list id was lost is found by its marker
    assert adapter.find_campaigns([campaign(2, "Dinner at eight")]) == {dinner.marker: made[1].id}


def test_a_creation_whose_answer_was_lost_adopts_the_list(
    portal: Portal, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter(portal, sleep=lambda s: None)
    vip = campaign(7, "VIP box")
    first = adapter.push_campaigns([vip])[0]
    again = adapter.push_campaigns([vip])[0]  # as if the first answer never came back
    assert again.outcome is Outcome.OK and again.id == first.id
    assert len(portal.admin("GET", "records/lists")) == 1
    portal.faults(rate=1.0, kinds=["503"])
    unknown = adapter.push_campaigns([campaign(8, "Gala")])[0]
    assert unknown.outcome is Outcome.MAYBE_APPLIED and unknown.key == "k8"
    portal.faults(rate=0.0)
    make_list(HubSpot(access_token="pat-user", host=portal.url), "Taken [carnet:campaign:9]")
    clash = adapter.push_campaigns([campaign(9, "Taken", first.id), campaign(10, "Gone", "4242")])
    assert [r.outcome for r in clash] == [Outcome.REFUSED, Outcome.GONE]
    assert "already exists" in (clash[0].error or "")


def test_members_are_written_once_read_back_and_removed(
    portal: Portal, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter(portal)
    list_id = adapter.push_campaigns([campaign(1, "VIP box")])[0].id
    assert list_id is not None and adapter.read_members(list_id) == {}
    ann, bob = (portal.standin.ids[("contacts", k)] for k in ("c1", "c2"))
    adds = [MemberWrite(f"m{n}", list_id, c, None, None) for n, c in enumerate([ann, bob, "99"])]
    done = adapter.push_members(adds)
    assert [(r.key, r.outcome, r.id) for r in done] == [
        ("m0", Outcome.OK, ann), ("m1", Outcome.OK, bob), ("m2", Outcome.GONE, None)]  # fmt: skip
    assert adapter.push_members(adds[:2])[1].outcome is Outcome.OK  # already members: no error
    state = adapter.read_members(list_id)
    assert set(state) == {ann, bob} and state[ann].ref == ann and state[ann].status is None
    removal = MemberWrite("r0", list_id, bob, None, None, remove=True)
    assert adapter.push_members([removal, adds[0]])[0].outcome is Outcome.OK
    assert set(adapter.read_members(list_id)) == {ann}
    lists = portal.admin("GET", "records/lists")
    assert lists[0]["members"] == [ann]  # one entry, whatever was sent twice


def test_member_writes_go_at_the_limit_and_reads_page(
    portal: Portal, make_adapter: MakeAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hs_lists, "MEMBERSHIP_LIMIT", 40)
    monkeypatch.setattr(hs_lists, "MEMBERSHIP_PAGE", 50)
    adapter = make_adapter(portal)
    list_id = adapter.push_campaigns([campaign(1, "Everyone")])[0].id
    assert list_id is not None
    everyone = portal.ids("contacts")
    writes = [MemberWrite(f"m{i}", list_id, c, None, None) for i, c in enumerate(everyone)]
    results = adapter.push_members(writes)
    assert [r.key for r in results] == [w.key for w in writes]
    assert all(r.ok for r in results) and portal.calls(ADD) == -(-len(writes) // 40)
    assert set(adapter.read_members(list_id)) == set(everyone)
    assert portal.calls(MEMBERSHIPS) == -(-len(everyone) // 50)


def test_a_list_deleted_in_hubspot(portal: Portal, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(portal)
    list_id = adapter.push_campaigns([campaign(1, "VIP box")])[0].id
    assert list_id is not None
    HubSpot(access_token="pat-user", host=portal.url).crm.lists.lists_api.remove(list_id)
    with pytest.raises(RecordError, match="no longer exists"):
        adapter.read_members(list_id)
    ann = portal.standin.ids[("contacts", "c1")]
    lost = adapter.push_members([MemberWrite("m", list_id, ann, None, None)])
    assert lost[0].outcome is Outcome.GONE
    assert adapter.push_campaigns([campaign(1, "VIP box", list_id)])[0].outcome is Outcome.GONE
    assert adapter.find_campaigns([campaign(1, "VIP box")]) == {}


def test_member_writes_meet_faults(portal: Portal, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(portal, sleep=lambda s: None)
    list_id = adapter.push_campaigns([campaign(1, "VIP box")])[0].id
    assert list_id is not None
    ann, bob = (portal.standin.ids[("contacts", k)] for k in ("c1", "c2"))
    writes = [
        MemberWrite("m", list_id, ann, None, None),
        MemberWrite("n", list_id, bob, None, None),
    ]
    portal.faults(once=["garbage"])  # 200 with JSON of no membership answer's shape
    assert [r.outcome for r in adapter.push_members(writes)] == [Outcome.RETRY, Outcome.RETRY]
    portal.faults(once=["503"])  # retried by the one policy
    assert [r.outcome for r in adapter.push_members(writes)] == [Outcome.OK, Outcome.OK]
    assert portal.calls(ADD) == 3 and set(adapter.read_members(list_id)) == {ann, bob}
