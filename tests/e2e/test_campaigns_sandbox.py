"""An invitation campaign end to end, as its users run it (`carnet` in subprocesses, against the
stand-ins): from draft to done; two reps nominate, one of them a private relationship; the owner
sees both, a third rep neither; after a push the Salesforce campaign and the HubSpot list hold
exactly the accepted guests, and a second push writes nothing; an "Attended" a Salesforce user
sets comes back with the next sync and is never overwritten; after close the private nomination
is no longer shown to the owner."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sandbox.runner import Sandbox
from tests.e2e.campaigns_support import (
    Guest,
    guests,
    hs_lists,
    make_manager,
    members_knowing_none,
    sf_campaigns,
    sf_members,
    synced_carnet,
    write_calls,
)
from tests.e2e.test_writeback_world import carnet, records
from tests.sandbox_fixture import admin, reset_sandbox


@dataclass
class Story:
    """What the campaign's life showed, step by step, for the tests to read."""

    config: Path
    pat: Guest  # one rep's, discoverable
    quinn: Guest  # another rep's, private
    owner: str
    cat: str  # a third rep, who knows neither
    cid: int = 0
    seen: dict[str, Any] = field(default_factory=dict)

    def cli(self, *args: str) -> Any:
        return carnet(self.config, "campaign", *args, "--json")

    def show(self, viewer: str) -> Any:
        return self.cli("show", str(self.cid), "--as", viewer)


def crm_user(sandbox: Sandbox) -> str:
    """A Salesforce user other than the one Carnet runs as (an events coordinator)."""
    sf: Any = sandbox.standins["salesforce"]
    carnets = str(sf.api_user)
    users = records(sandbox, "salesforce", "User").values()
    return str(next(u["Id"] for u in users if u.get("IsActive") and u["Id"] != carnets))


def attended(sandbox: Sandbox, member_id: str, editor: str) -> None:
    """A Salesforce user marks a campaign member attended."""
    body = {"Id": member_id, "Status": "Attended", "LastModifiedById": editor}
    admin(sandbox, "salesforce", "POST", "/__sandbox/records/CampaignMember", body)


@pytest.fixture(scope="module")
def story(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Story:
    reset_sandbox(sandbox)
    config, store = synced_carnet(sandbox, tmp_path_factory.mktemp("campaigns"))
    pat, quinn = guests(store, 2, distinct_reps=True)
    owner, cat = members_knowing_none(store, [pat.email, quinn.email], 2)
    make_manager(config, owner)
    s = Story(config, pat, quinn, owner, cat)
    for guest, share in ((pat, "discoverable"), (quinn, "private")):
        r = carnet(config, "rate", guest.email, "4", "--as", guest.rep, "--share", share)
        assert r.returncode == 0, r.stderr
    made = s.cli("create", "VIP box: finals", "--as", owner, "--capacity", "10",
                 "--purpose", "Tennis finals, Court 1", "--starts", "2026-09-12")  # fmt: skip
    s.cid = int(made["id"] if "id" in made else made["campaign"]["id"])
    s.seen["draft push"] = carnet(config, "push", "--json")
    s.seen["draft in crm"] = (sf_campaigns(sandbox, s.cid), hs_lists(sandbox, s.cid))
    s.cli("open", str(s.cid), "--as", owner)
    s.cli("nominate", str(s.cid), pat.email, "--as", pat.rep, "--note", "plays tennis")
    s.cli("nominate", str(s.cid), quinn.email, "--as", quinn.rep)
    s.seen["owner open"] = s.show(owner)
    s.seen["cat open"] = s.show(cat)
    s.seen["cat list"] = s.cli("list", "--as", cat)
    for nomination in s.seen["owner open"]["nominations"]:
        s.cli("accept", str(s.cid), str(nomination["id"]), "--as", owner)
    s.seen["first push"] = carnet(config, "push", "--json")
    s.seen["crm after push"] = crm_state(sandbox, s)
    before = write_calls(sandbox)
    s.seen["second push"] = carnet(config, "push", "--json")
    s.seen["writes of second push"] = (before, write_calls(sandbox))
    ref = s.seen["crm after push"]["campaign"]["Id"]
    member = next(
        r["Id"]
        for r in records(sandbox, "salesforce", "CampaignMember").values()
        if r["CampaignId"] == ref and r["ContactId"] == pat.contact
    )
    attended(sandbox, member, crm_user(sandbox))
    carnet(config, "sync", "--json")
    s.seen["owner after attended"] = s.show(owner)
    s.cli("close", str(s.cid), "--as", owner)
    carnet(config, "push", "--json")
    s.seen["owner closed"] = s.show(owner)
    s.seen["crm closed"] = crm_state(sandbox, s)
    s.cli("close", str(s.cid), "--as", owner, "--done")
    s.seen["last push"] = carnet(config, "push", "--json")
    s.seen["crm done"] = crm_state(sandbox, s)
    return s


def crm_state(sandbox: Sandbox, s: Story) -> dict[str, Any]:
    """The one Salesforce campaign and HubSpot list of the story's campaign, and their members."""
    (campaign,) = sf_campaigns(sandbox, s.cid)
    (hs_list,) = hs_lists(sandbox, s.cid)
    return {
        "campaign": campaign,
        "members": sf_members(sandbox, str(campaign["Id"])),
        "list": hs_list,
    }


def test_a_draft_campaign_reaches_no_crm(story: Story) -> None:
    assert story.seen["draft in crm"] == ([], [])
    assert all(run["failed"] == run["parked"] == 0
               for run in story.seen["draft push"]["sources"].values())  # fmt: skip


def test_the_owner_sees_both_nominations_while_open(story: Story) -> None:
    shown = story.seen["owner open"]["nominations"]
    assert sorted(n["person"]["name"] for n in shown) == sorted([story.pat.name, story.quinn.name])
    by_rep = {n["nominator"]["email"]: n for n in shown}
    assert set(by_rep) == {story.pat.rep, story.quinn.rep}
    assert by_rep[story.pat.rep]["note"] == "plays tennis"


def test_a_third_rep_sees_neither_nomination(story: Story) -> None:
    shown = story.seen["cat open"]
    # Cat's candidates are her own people: a colleague may be one (from her address book)
    others = {k: v for k, v in shown.items() if k != "candidates"}
    for doc in (others, story.seen["cat list"]):
        text = json.dumps(doc)
        for secret in (story.pat.email, story.quinn.email, story.pat.rep, story.quinn.rep):
            assert secret not in text
    people = json.dumps(shown["candidates"])  # she knows neither guest
    assert story.pat.email not in people and story.quinn.email not in people
    assert story.seen["cat open"]["nominations"] == []
    assert story.seen["cat open"]["guests"] == []
    assert story.seen["cat open"]["mine"] == []


def test_the_crms_hold_exactly_the_accepted_guests(story: Story) -> None:
    run = story.seen["first push"]["sources"]
    assert all(r["failed"] == r["parked"] == 0 for r in run.values()), run
    crm = story.seen["crm after push"]
    assert crm["campaign"]["Name"] == "VIP box: finals"
    assert crm["campaign"]["Status"] == "Planned" and crm["campaign"]["IsActive"]
    assert crm["campaign"]["Description"].startswith("Tennis finals, Court 1\n\n")
    assert crm["members"] == sorted(
        [(story.pat.contact, "Nominated"), (story.quinn.contact, "Nominated")]
    )
    assert crm["list"]["processingType"] == "MANUAL"
    assert sorted(crm["list"]["members"]) == sorted([story.pat.hs_contact, story.quinn.hs_contact])


def test_a_second_push_writes_nothing(story: Story) -> None:
    before, after = story.seen["writes of second push"]
    assert before == after
    runs = story.seen["second push"]["sources"]
    assert all(r["written"] == 0 for r in runs.values())
    # what it did call: a login and one read of the campaign's members, per CRM
    assert 0 < runs["salesforce"]["api_calls"] <= 2 and 0 < runs["hubspot"]["api_calls"] <= 2


def test_attended_in_salesforce_comes_back_and_stays(story: Story) -> None:
    (pat,) = [
        g for g in story.seen["owner after attended"]["guests"] if g["name"] == story.pat.name
    ]
    assert pat["crm_status"]["salesforce"] == "Attended"
    assert dict(story.seen["crm closed"]["members"]) == {
        story.pat.contact: "Attended",  # never overwritten
        story.quinn.contact: "Invited",  # closed: invited
    }
    assert story.seen["crm closed"]["campaign"]["Status"] == "In Progress"


def test_after_close_the_private_nomination_is_not_shown_to_the_owner(story: Story) -> None:
    doc = story.seen["owner closed"]
    assert story.quinn.rep not in json.dumps(doc)
    assert [n["person"]["name"] for n in doc["nominations"]] == [story.pat.name]
    (quinn,) = [g for g in doc["guests"] if g["name"] == story.quinn.name]
    assert quinn["by_colleague"] and quinn["nominators"] == []


def test_the_campaign_ends_completed_with_its_guests(story: Story) -> None:
    assert all(r["failed"] == r["parked"] == 0
               for r in story.seen["last push"]["sources"].values())  # fmt: skip
    crm = story.seen["crm done"]
    assert crm["campaign"]["Status"] == "Completed"
    assert dict(crm["members"]) == {story.pat.contact: "Attended", story.quinn.contact: "Invited"}
    assert len(crm["list"]["members"]) == 2
