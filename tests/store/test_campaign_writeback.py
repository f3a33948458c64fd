"""Invitation campaigns into the CRMs through the outbox, on a hand-made store and a fake CRM:
what is wanted (the accepted guests with a contact there, the status by the campaign's state),
diff-only writes, the read-back of CRM statuses (never overwritten), removals of former guests
only, parked refusals, and exactly-once when the push dies between the CRM's answer and the
commit."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from connector.core.config import SourceBase
from connector.core.records_campaigns import MemberState
from connector.writeback.campaigns import desired_campaigns
from connector.writeback.push import run_push
from tests.store.campaign_support import (
    MAPPINGS,
    T0,
    Died,
    FakeCrm,
    app_on,
    campaign_world,
    member_rows,
    push,
    set_state,
)

SF = "salesforce"


def wanted(s: Session, source: str = SF) -> dict[tuple[str, str], dict[str, Any]]:
    rows = desired_campaigns(s, source, MAPPINGS[source])
    return {(d.object, d.external_id): d.values for d in rows}


def test_a_draft_campaign_is_not_written(session: Session) -> None:
    campaign_world(session, "draft")
    assert wanted(session) == {}
    crm = FakeCrm()
    push(session, crm)
    assert crm.calls == []


@pytest.mark.parametrize(
    "state, status, member",
    [("open", "Planned", "Nominated"), ("closed", "In Progress", "Invited"),
     ("done", "Completed", "Invited")],
)  # fmt: skip
def test_the_campaign_and_its_guests_as_each_crm_holds_them(
    session: Session, state: str, status: str, member: str
) -> None:
    cid = campaign_world(session, state).campaign.id
    # rae has no contact in either CRM; sam is nominated, not accepted
    assert wanted(session) == {
        ("Campaign", str(cid)): {
            "name": "VIP box",
            "description": f"Finals\n\n[carnet:campaign:{cid}]",
            "status": status,
            "starts_on": "2026-06-01",
            "ends_on": None,
        },
        ("CampaignMember", f"{cid}:003P"): {"member": True, "status": member},
        ("CampaignMember", f"{cid}:003Q"): {"member": True, "status": member},
    }
    assert wanted(session, "hubspot") == {  # a list holds its name and members only
        ("lists", str(cid)): {"name": "VIP box"},
        ("list_memberships", f"{cid}:003P"): {"member": True, "status": None},
        ("list_memberships", f"{cid}:003Q"): {"member": True, "status": None},
    }


def test_a_push_writes_the_guests_once_and_a_second_push_writes_nothing(session: Session) -> None:
    campaign_world(session)
    crm = FakeCrm()
    run = push(session, crm)
    # a campaign made by this push has no member to read back
    assert crm.calls == ["find_campaigns", "push_campaigns", "push_members"]
    ((record),) = crm.campaigns.values()
    assert (record.name, record.status) == ("VIP box", "Planned")
    assert record.description.endswith(record.marker)
    assert crm.statuses() == {"003P": "Nominated", "003Q": "Nominated"}
    assert (run.written, run.failed, run.parked) == (3, 0, 0)
    crm.calls.clear()
    run = push(session, crm)
    assert crm.calls == ["read_members"] and run.written == 0


def test_closing_the_campaign_invites_the_guests(session: Session) -> None:
    world = campaign_world(session)
    crm = FakeCrm()
    push(session, crm)
    set_state(session, world, "closed")
    crm.calls.clear()
    push(session, crm)
    assert crm.calls == ["push_campaigns", "read_members", "push_members"]
    assert next(iter(crm.campaigns.values())).status == "In Progress"
    assert crm.statuses() == {"003P": "Invited", "003Q": "Invited"}


def test_a_status_set_in_the_crm_comes_back_and_is_never_overwritten(session: Session) -> None:
    world = campaign_world(session)
    crm = FakeCrm()
    push(session, crm)
    ref = next(iter(crm.campaigns))
    crm.members[ref]["003P"] = MemberState(crm.members[ref]["003P"].ref, "Attended")
    crm.calls.clear()
    push(session, crm)
    assert crm.calls == ["read_members"]
    session.expire_all()
    assert world.noms["pat"].crm_status == {"salesforce": "Attended"}
    assert world.noms["quinn"].crm_status == {"salesforce": "Nominated"}
    set_state(session, world, "closed")
    crm.sent.clear()
    push(session, crm)
    assert crm.statuses() == {"003P": "Attended", "003Q": "Invited"}
    assert [w.contact for w in crm.sent] == ["003Q"]


def test_a_crm_status_ahead_of_ours_is_kept_and_one_behind_is_moved_on(session: Session) -> None:
    world = campaign_world(session)
    world.noms["pat"].crm_status = {"salesforce": "Invited", "hubspot": "Listed"}
    world.noms["quinn"].crm_status = {"salesforce": "Responded"}  # a status of the CRM's own
    session.commit()
    cid = world.campaign.id
    assert wanted(session)[("CampaignMember", f"{cid}:003P")]["status"] == "Invited"
    assert wanted(session)[("CampaignMember", f"{cid}:003Q")]["status"] == "Responded"
    world.noms["pat"].crm_status = {"salesforce": "Nominated"}
    set_state(session, world, "closed")
    assert wanted(session)[("CampaignMember", f"{cid}:003P")]["status"] == "Invited"


def test_a_guest_no_longer_accepted_is_removed_and_a_crm_users_member_stays(
    session: Session,
) -> None:
    world = campaign_world(session)
    cid = world.campaign.id
    crm = FakeCrm()
    push(session, crm)
    ref = next(iter(crm.campaigns))
    crm.members[ref]["003Z"] = MemberState("00vUSER", "Responded")  # added by a CRM user
    world.noms["pat"].status = "declined"
    session.commit()
    push(session, crm)
    assert crm.statuses() == {"003Q": "Nominated", "003Z": "Responded"}
    assert member_rows(session)[f"{cid}:003P"].status == "done"
    crm.calls.clear()
    push(session, crm)  # the removal done, its row goes; nothing is written
    assert crm.calls == ["read_members"]
    assert set(member_rows(session)) == {f"{cid}:003Q"}


def test_a_refused_member_is_parked_with_the_crms_message(session: Session) -> None:
    cid = campaign_world(session).campaign.id
    message = "FIELD_INTEGRITY_EXCEPTION: this contact may not join a campaign"
    crm = FakeCrm(refuse={"003Q": message})
    run = push(session, crm)
    assert run.parked == 1 and crm.statuses() == {"003P": "Nominated"}
    assert run.failures == [{"object": "CampaignMember", "id": f"{cid}:003Q", "error": message}]
    row = member_rows(session)[f"{cid}:003Q"]
    assert (row.status, row.last_error) == ("parked", message)
    crm.calls.clear()
    push(session, crm)  # parked: not sent again as it is
    assert crm.calls == ["read_members"]


@pytest.mark.parametrize("where", ["push_campaigns", "push_members"])
def test_a_push_that_died_after_the_crms_answer_duplicates_nothing(
    session: Session, where: str
) -> None:
    campaign_world(session)
    crm = FakeCrm(die_after=where)
    with pytest.raises(Died):
        push(session, crm)
    session.rollback()
    push(session, crm)
    assert len(crm.campaigns) == 1 and crm.made == 3  # one campaign, two members, ever
    assert crm.statuses() == {"003P": "Nominated", "003Q": "Nominated"}
    crm.calls.clear()
    push(session, crm)
    assert crm.writes() == []


def test_a_campaign_deleted_in_the_crm_is_made_again_with_its_guests(session: Session) -> None:
    campaign_world(session)
    crm = FakeCrm()
    push(session, crm)
    crm.campaigns.clear()
    crm.members.clear()
    push(session, crm)  # the read finds it gone
    push(session, crm)
    assert len(crm.campaigns) == 1
    assert crm.statuses() == {"003P": "Nominated", "003Q": "Nominated"}


def test_a_hubspot_list_holds_membership_only(session: Session) -> None:
    world = campaign_world(session)
    crm = FakeCrm(source="hubspot")
    push(session, crm)
    assert next(iter(crm.campaigns.values())).name == "VIP box"
    assert crm.statuses() == {"003P": None, "003Q": None}
    set_state(session, world, "closed")
    crm.calls.clear()
    push(session, crm)  # closing changes nothing a list holds
    assert crm.calls == ["read_members"]
    session.expire_all()
    assert world.noms["pat"].crm_status == {"hubspot": "Listed"}


# -- through `carnet push`: the read-back opens the CRM only when a campaign is there -------------


def test_a_push_opens_the_crm_for_campaigns_only_when_one_is_held(
    session: Session, engine: Engine, tmp_path: Path
) -> None:
    app = app_on(engine, tmp_path)
    world = campaign_world(session, "draft")
    crm = FakeCrm()
    opened: list[str] = []

    def open_adapter(name: str, settings: SourceBase) -> FakeCrm:
        opened.append(name)
        return crm

    run_push(app, open_adapter=open_adapter)  # the contacts' fields
    run_push(app, open_adapter=open_adapter)  # nothing due, no campaign held: no connection
    assert opened == [SF] and "push_campaigns" not in crm.calls
    set_state(session, world, "open")
    run_push(app, open_adapter=open_adapter)
    crm.calls.clear()
    summary = run_push(app, open_adapter=open_adapter)
    assert len(opened) == 3 and crm.calls == ["read_members"]  # nothing due: one read
    assert summary.sources[SF].written == 0 and summary.sources[SF].api_calls == 1
    set_state(session, world, "done", T0 - timedelta(days=31))
    run_push(app, open_adapter=open_adapter)  # Completed, and the guests invited
    crm.calls.clear()
    run_push(app, open_adapter=open_adapter)  # done over a month ago: no longer read
    assert len(opened) == 4 and crm.calls == []
    assert crm.statuses() == {"003P": "Invited", "003Q": "Invited"}


def test_a_dry_run_lists_the_campaign_writes(
    session: Session, engine: Engine, tmp_path: Path
) -> None:
    app = app_on(engine, tmp_path)
    cid = str(campaign_world(session).campaign.id)

    def no_call(name: str, settings: SourceBase) -> FakeCrm:
        raise AssertionError("a dry run makes no call")

    changes = run_push(app, dry_run=True, open_adapter=no_call).sources[SF].changes
    mine = [c for c in changes if c["object"] in ("Campaign", "CampaignMember")]
    assert mine == [
        {"object": "Campaign", "id": cid, "field": "(campaign)",
         "old": "create (or adopt) campaign", "new": "VIP box"},
        {"object": "CampaignMember", "id": f"{cid}:003P", "field": "(member)",
         "old": None, "new": "Nominated"},
        {"object": "CampaignMember", "id": f"{cid}:003Q", "field": "(member)",
         "old": None, "new": "Nominated"},
    ]  # fmt: skip
