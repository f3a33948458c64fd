"""Invitation campaigns in Salesforce: the stand-in's Campaign, CampaignMemberStatus and
CampaignMember rules (through the REST API, as simple-salesforce sends it), then the adapter's
CampaignWriter against the sandbox: a campaign made once and found again by its marker, its
member statuses made once, members added exactly once, read back, changed and removed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from connector.core.errors import RecordError
from connector.core.records import Outcome
from connector.core.records_campaigns import (
    MEMBER_STATUSES,
    CampaignRecord,
    MemberWrite,
    campaign_marker,
)
from tests.contract.cases.base import admin
from tests.contract.cases.salesforce import CASE
from tests.contract.salesforce_adapter_kit import Make, calls, faults, make, sf
from tests.contract.salesforce_fixtures import Env, error_body, error_code, install_fixtures

tls, start = install_fixtures()
__all__ = ["make", "sf", "start", "tls"]  # the fixtures


# -- the stand-in ----------------------------------------------------------------------------------
def new_campaign(env: Env, **values: Any) -> str:
    made = env.obj("Campaign").create({"Name": "VIP box", **values})
    return str(made["id"])


def statuses(env: Env, campaign: str) -> dict[str, dict[str, Any]]:
    soql = (
        "SELECT Id, Label, IsDefault, HasResponded, SortOrder FROM CampaignMemberStatus"
        f" WHERE CampaignId = '{campaign}'"
    )
    return {r["Label"]: r for r in env.sf.query_all(soql)["records"]}


def contacts(env: Env, n: int) -> list[str]:
    return env.ids(f"SELECT Id FROM Contact ORDER BY Id LIMIT {n}")


def test_a_new_campaign_is_planned_with_sent_and_responded(start: Any) -> None:
    env = start()
    campaign = new_campaign(env, Description="Tennis final\n\n[carnet:campaign:1]")
    row = env.obj("Campaign").get(campaign)
    assert (row["Status"], row["IsActive"], row["OwnerId"]) == (
        "Planned",
        False,
        row["CreatedById"],
    )
    got = statuses(env, campaign)
    assert set(got) == {"Sent", "Responded"}
    assert got["Sent"]["IsDefault"] and not got["Sent"]["HasResponded"]
    assert got["Responded"]["HasResponded"] and not got["Responded"]["IsDefault"]
    with pytest.raises(SalesforceMalformedRequest) as exc:
        env.obj("Campaign").create({"Name": "x" * 81})
    assert error_code(exc) == "STRING_TOO_LONG"
    with pytest.raises(SalesforceMalformedRequest) as exc:
        env.obj("Campaign").create({"Description": "no name"})
    assert error_code(exc) == "REQUIRED_FIELD_MISSING"


def test_description_is_a_long_text_area_soql_cannot_filter(start: Any) -> None:
    env = start()
    new_campaign(env, Description="[carnet:campaign:7]")
    with pytest.raises(SalesforceMalformedRequest) as exc:
        env.sf.query("SELECT Id FROM Campaign WHERE Description LIKE '%carnet%'")
    body = error_body(exc)
    assert body["errorCode"] == "INVALID_FIELD"
    assert "field 'Description' can not be filtered in query call" in body["message"]
    described = {f["name"]: f for f in env.obj("Campaign").describe()["fields"]}
    assert described["Description"]["filterable"] is False
    assert described["Name"]["length"] == 80 and described["Name"]["filterable"] is True


def test_a_campaign_s_status_labels_are_unique_and_one_is_the_default(start: Any) -> None:
    env = start()
    campaign = new_campaign(env)
    cms = env.obj("CampaignMemberStatus")
    with pytest.raises(SalesforceMalformedRequest) as exc:
        cms.create({"CampaignId": campaign, "Label": "sent"})
    assert error_code(exc) == "DUPLICATE_VALUE"
    made = cms.create({"CampaignId": campaign, "Label": "Nominated", "IsDefault": True})
    got = statuses(env, campaign)
    assert [label for label, r in got.items() if r["IsDefault"]] == ["Nominated"]
    assert got["Nominated"]["Id"] == made["id"] and got["Nominated"]["SortOrder"] == 3
    other = new_campaign(env, Name="Dinner")  # labels are per campaign
    assert cms.create({"CampaignId": other, "Label": "Nominated"})["success"]
    with pytest.raises(SalesforceMalformedRequest) as exc:
        cms.delete(made["id"])  # the default status stays
    assert error_code(exc) == "DELETE_FAILED"


def test_members_hold_one_of_their_campaign_s_statuses(start: Any) -> None:
    env = start()
    campaign, other = new_campaign(env), new_campaign(env, Name="Dinner")
    env.obj("CampaignMemberStatus").create({"CampaignId": other, "Label": "Attended"})
    first, second = contacts(env, 2)
    member = env.obj("CampaignMember").create({"CampaignId": campaign, "ContactId": first})
    row = env.obj("CampaignMember").get(member["id"])
    assert (row["Status"], row["HasResponded"]) == ("Sent", False)  # the campaign's default
    env.obj("CampaignMember").update(member["id"], {"Status": "Responded"})
    assert env.obj("CampaignMember").get(member["id"])["HasResponded"] is True
    with pytest.raises(SalesforceMalformedRequest) as exc:  # another campaign's status
        env.obj("CampaignMember").create(
            {"CampaignId": campaign, "ContactId": second, "Status": "Attended"}
        )
    assert error_body(exc) == {
        "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "message": "Status: bad value for restricted picklist field: Attended",
        "fields": ["Status"],
    }
    with pytest.raises(SalesforceMalformedRequest) as exc:
        env.obj("CampaignMember").create({"CampaignId": campaign})
    assert error_code(exc) == "REQUIRED_FIELD_MISSING"


def test_a_contact_is_a_member_once_and_members_are_queried_and_deleted(start: Any) -> None:
    env = start()
    campaign = new_campaign(env)
    first, second = contacts(env, 2)
    records = [
        {"attributes": {"type": "CampaignMember"}, "CampaignId": campaign, "ContactId": c}
        for c in (first, second, first)
    ]
    answers = env.rest("composite/sobjects", "POST", json={"records": records})
    assert [a["success"] for a in answers] == [True, True, False]
    assert answers[2]["errors"] == [
        {"statusCode": "DUPLICATE_VALUE", "message": "Already a campaign member.", "fields": []}
    ]
    soql = f"SELECT Id, ContactId, Status FROM CampaignMember WHERE CampaignId = '{campaign}'"
    assert sorted(r["ContactId"] for r in env.sf.query_all(soql)["records"]) == [first, second]
    filtered = env.ids(f"{soql} AND ContactId = '{second}' AND Status = 'Sent'")
    assert filtered == [answers[1]["id"]]
    with pytest.raises(SalesforceMalformedRequest) as exc:  # a status members hold stays
        env.obj("CampaignMemberStatus").delete(statuses(env, campaign)["Sent"]["Id"])
    assert error_code(exc) == "DELETE_FAILED"
    gone = env.rest("composite/sobjects", "DELETE", params={"ids": answers[0]["id"]})
    assert gone[0]["success"]
    assert env.ids(soql) == [answers[1]["id"]]
    env.obj("Campaign").delete(campaign)  # members and statuses go with their campaign
    assert env.ids("SELECT Id FROM CampaignMember") == []
    assert env.ids("SELECT Id FROM CampaignMemberStatus") == []


# -- the adapter -----------------------------------------------------------------------------------
def record(key: str, campaign_id: int, ref: str | None = None, **kw: Any) -> CampaignRecord:
    marker = campaign_marker(campaign_id)
    values: dict[str, Any] = {
        "name": f"VIP box {campaign_id}",
        "description": f"Tennis final, centre court\n\n{marker}",
        "status": "Planned",
        "starts_on": dt.date(2025, 6, 1),
        "ends_on": dt.date(2025, 6, 2),
    }
    return CampaignRecord(key, campaign_id, ref, marker, **(values | kw))


def live(sandbox: Any, obj: str, **match: Any) -> list[dict[str, Any]]:
    rows = CASE.records(sandbox, obj)
    return [r for r in rows if all(r.get(k) == v for k, v in match.items())]


def test_a_campaign_is_made_once_found_by_its_marker_and_updated(
    fresh_sandbox: Any, make: Make
) -> None:
    adapter = make()
    (made,) = adapter.push_campaigns([record("c1", 1)])
    assert made.ok and made.id and made.key == "c1"
    (row,) = live(fresh_sandbox, "Campaign", Id=made.id)
    assert (row["Name"], row["Status"], row["IsActive"]) == ("VIP box 1", "Planned", True)
    assert (row["StartDate"], row["EndDate"]) == ("2025-06-01", "2025-06-02")
    held = {r["Label"]: r for r in live(fresh_sandbox, "CampaignMemberStatus", CampaignId=made.id)}
    assert set(held) == {"Sent", "Responded", *MEMBER_STATUSES}
    assert [label for label, r in held.items() if r["IsDefault"]] == ["Nominated"]
    assert held["Attended"]["HasResponded"] and not held["Invited"]["HasResponded"]
    found = adapter.find_campaigns([record("c1", 1), record("c2", 2)])
    assert found == {campaign_marker(1): made.id}
    before = calls(fresh_sandbox)
    closed = record("c1", 1, made.id, name="VIP box (final)", status="In Progress", ends_on=None)
    (updated,) = adapter.push_campaigns([closed])
    assert updated.ok and updated.id == made.id
    (row,) = live(fresh_sandbox, "Campaign", Id=made.id)
    assert (row["Name"], row["Status"], row["EndDate"]) == ("VIP box (final)", "In Progress", None)
    after = calls(fresh_sandbox)
    assert after["POST /composite/sobjects"] == before["POST /composite/sobjects"]  # nothing new
    assert len(live(fresh_sandbox, "CampaignMemberStatus", CampaignId=made.id)) == 5
    assert len(live(fresh_sandbox, "Campaign")) == 1


def test_statuses_missing_after_a_crash_are_made_at_the_next_push(
    fresh_sandbox: Any, make: Make
) -> None:
    adapter = make()
    body = {"Name": "VIP box 3", "Description": f"x\n\n{campaign_marker(3)}"}
    made = admin(fresh_sandbox, "salesforce", "POST", "records/Campaign", body)
    users_own = {"CampaignId": made["Id"], "Label": "attended", "SortOrder": 7}  # kept as is
    admin(fresh_sandbox, "salesforce", "POST", "records/CampaignMemberStatus", users_own)
    (again,) = adapter.push_campaigns([record("c3", 3, made["Id"])])
    assert again.ok
    held = {
        r["Label"]: r for r in live(fresh_sandbox, "CampaignMemberStatus", CampaignId=made["Id"])
    }
    assert set(held) == {"Sent", "Responded", "attended", "Nominated", "Invited"}
    assert (held["Nominated"]["SortOrder"], held["Invited"]["SortOrder"]) == (8, 9)
    assert not held["attended"]["HasResponded"]


def test_a_campaign_a_colleague_made_with_the_marker_is_not_carnet_s(
    fresh_sandbox: Any, make: Make
) -> None:
    adapter = make()
    (made,) = adapter.push_campaigns([record("c1", 1)])
    users = CASE.records(fresh_sandbox, "User")
    colleague = next(u["Id"] for u in users if u["Id"] != adapter.client.user_id and u["IsActive"])
    clone = {"Name": "VIP box 1 (copy)", "LastModifiedById": colleague}
    clone["Description"] = f"Tennis\n\n{campaign_marker(1)} {campaign_marker(9)}"
    admin(fresh_sandbox, "salesforce", "POST", "records/Campaign", clone)
    found = adapter.find_campaigns([record("c1", 1), record("c9", 9)])
    assert found == {campaign_marker(1): made.id}
    assert adapter.find_campaigns([]) == {}


def test_members_are_added_once_read_back_changed_and_removed(
    fresh_sandbox: Any, make: Make
) -> None:
    adapter = make()
    (campaign,) = adapter.push_campaigns([record("c1", 1)])
    assert campaign.id
    people = sorted(CASE.live_ids(fresh_sandbox, "Contact"))[:3]
    adds = [MemberWrite(f"m{i}", campaign.id, p, None, "Nominated") for i, p in enumerate(people)]
    added = adapter.push_members(adds)
    assert [(r.key, r.outcome) for r in added] == [(f"m{i}", Outcome.OK) for i in range(3)]
    members = adapter.read_members(campaign.id)
    assert {c: (m.ref, m.status) for c, m in members.items()} == {
        p: (r.id, "Nominated") for p, r in zip(people, added, strict=True)
    }
    # a push that died after Salesforce made the member sends the add again: no duplicate
    again = adapter.push_members([MemberWrite("m0", campaign.id, people[0], None, "Invited")])
    assert again[0].outcome is Outcome.OK and again[0].id == added[0].id
    same = adapter.push_members([MemberWrite("m1", campaign.id, people[1], None, "Nominated")])
    assert same[0].outcome is Outcome.OK and same[0].id == added[1].id
    assert len(live(fresh_sandbox, "CampaignMember", CampaignId=campaign.id)) == 3
    # the guest came: a CRM user marks it, the next read brings it back
    body = {"Id": added[2].id, "Status": "Attended"}
    admin(fresh_sandbox, "salesforce", "POST", "records/CampaignMember", body)
    states = {c: m.status for c, m in adapter.read_members(campaign.id).items()}
    assert states == {people[0]: "Invited", people[1]: "Nominated", people[2]: "Attended"}
    changed = adapter.push_members(
        [MemberWrite("m1", campaign.id, people[1], added[1].id, "Invited")]
    )
    assert changed[0].ok and adapter.read_members(campaign.id)[people[1]].status == "Invited"
    removals = [
        MemberWrite("r0", campaign.id, people[0], added[0].id, None, remove=True),
        MemberWrite("r1", campaign.id, people[1], None, None, remove=True),  # looked up
    ]
    assert [r.outcome for r in adapter.push_members(removals)] == [Outcome.OK, Outcome.OK]
    assert set(adapter.read_members(campaign.id)) == {people[2]}
    assert [r.outcome for r in adapter.push_members(removals)] == [Outcome.OK, Outcome.OK]


def test_a_status_the_campaign_lacks_is_refused_with_salesforce_s_message(
    fresh_sandbox: Any, make: Make
) -> None:
    adapter = make()
    (campaign,) = adapter.push_campaigns([record("c1", 1)])
    assert campaign.id
    person = sorted(CASE.live_ids(fresh_sandbox, "Contact"))[0]
    writes = [
        MemberWrite("bad", campaign.id, person, None, "Declined"),
        MemberWrite("ok", campaign.id, person, None, None),  # the default: Nominated
    ]
    bad, ok = adapter.push_members(writes)
    assert bad.outcome is Outcome.REFUSED and bad.error
    assert bad.error.startswith("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: Status: bad value")
    assert ok.ok and adapter.read_members(campaign.id)[person].status == "Nominated"
    before = adapter.usage().calls
    assert adapter.push_members([]) == [] and adapter.usage().calls == before


def test_a_failed_add_is_classified_and_its_retry_makes_one_member(
    fresh_sandbox: Any, make: Make
) -> None:
    adapter = make()
    (campaign,) = adapter.push_campaigns([record("c1", 1)])
    assert campaign.id
    people = sorted(CASE.live_ids(fresh_sandbox, "Contact"))[:2]
    adds = [MemberWrite(f"m{i}", campaign.id, p, None, "Nominated") for i, p in enumerate(people)]
    faults(fresh_sandbox, {"once": ["500"]})  # a creation is not retried blindly: it may be there
    assert [r.outcome for r in adapter.push_members(adds)] == [Outcome.MAYBE_APPLIED] * 2
    faults(fresh_sandbox, {"once": ["partial"]})  # a lock on one record
    first = adapter.push_members(adds)
    assert [r.outcome for r in first] == [Outcome.RETRY, Outcome.OK]
    again = adapter.push_members(adds)
    assert [r.outcome for r in again] == [Outcome.OK, Outcome.OK] and again[1].id == first[1].id
    assert len(live(fresh_sandbox, "CampaignMember", CampaignId=campaign.id)) == 2


def test_an_empty_campaign_reads_empty_and_one_deleted_in_salesforce_is_an_error(
    fresh_sandbox: Any, make: Make
) -> None:
    adapter = make()
    (campaign,) = adapter.push_campaigns([record("c1", 1)])
    assert campaign.id and adapter.read_members(campaign.id) == {}
    admin(fresh_sandbox, "salesforce", "DELETE", f"records/Campaign/{campaign.id}")
    with pytest.raises(RecordError, match="no longer exists") as gone:
        adapter.read_members(campaign.id)
    assert gone.value.record_id == campaign.id
