"""`carnet push` killed with SIGKILL at the n-th API call, 10 times, while two campaigns fill up
(one more accepted guest each before every run, a campaign closed and a guest declined on the
way); then one push to the end: one Salesforce Campaign and one HubSpot list per campaign, each
holding every accepted guest exactly once (none made twice by a push that died between the CRM's
answer and its commit, none lost), and the push after it writes nothing."""

from __future__ import annotations

import random
from pathlib import Path

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
from tests.e2e.test_push_kill import start_push
from tests.e2e.test_writeback import query
from tests.e2e.test_writeback_world import carnet
from tests.sandbox_fixture import kill_after_calls, reset_sandbox

KILLS = 10
CLOSE_AT, DECLINE_AT = 6, 7  # the rounds before which the first campaign closes / a guest goes


@pytest.mark.timeout(900)
def test_sigkill_during_campaign_pushes_duplicates_and_loses_no_guest(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    reset_sandbox(sandbox)
    config, store = synced_carnet(sandbox, tmp_path)
    people = iter(guests(store, 2 * KILLS))
    owner = members_knowing_none(store, [g.email for g in guests(store, 2 * KILLS)], 1)[0]
    make_manager(config, owner)

    def cli(*args: str) -> dict[str, object]:
        doc: dict[str, object] = carnet(config, "campaign", *args, "--as", owner, "--json")
        return doc

    cids = []
    for name in ("Finals box", "Round-table"):
        made = cli("create", name, "--capacity", "50")
        cids.append(int(str(made["id"])))
        cli("open", str(cids[-1]))
    accepted: dict[int, list[Guest]] = {c: [] for c in cids}
    rnd = random.Random(17)
    killed = orphans = 0  # orphans: kills that fell between a CRM's answer and the commit
    for n in range(KILLS):
        if n == CLOSE_AT:  # its guests move on to Invited under the kills
            cli("close", str(cids[0]))
        if n == DECLINE_AT:
            gone = accepted[cids[1]].pop(0)
            cli("decline", str(cids[1]), str(nomination_of(config, cids[1], gone)),
                "--reason", "cannot come")  # fmt: skip
        for cid in cids[1:] if n >= CLOSE_AT else cids:
            guest = next(people)
            put = carnet(config, "campaign", "nominate", str(cid), guest.email,
                         "--as", guest.rep, "--json")  # fmt: skip
            cli("accept", str(cid), str(put["id"]))
            accepted[cid].append(guest)
        proc = start_push(config)
        # a push here makes 4 to 12 calls (logins, the reads of each campaign's members, the
        # member writes; the campaigns themselves in the first run): kill it in its first six
        killed += kill_after_calls(sandbox, proc, rnd.randint(1, 6), rnd.uniform(0, 0.03))
        proc.wait(timeout=60)
        orphans += unrecorded(sandbox, store, cids)
    assert killed >= KILLS // 2  # most runs really were cut short
    print(f"runs killed: {killed}; campaigns or members made but not recorded: {orphans}")

    done = carnet(config, "push", "--json")
    assert all(r["failed"] == r["parked"] == 0 for r in done["sources"].values()), done
    for cid, status in zip(cids, ("Invited", "Nominated"), strict=True):
        (campaign,) = sf_campaigns(sandbox, cid)  # exactly one Campaign per campaign
        assert sf_members(sandbox, str(campaign["Id"])) == sorted(
            (g.contact, status) for g in accepted[cid]
        )
        (hs_list,) = hs_lists(sandbox, cid)  # exactly one list per campaign
        assert sorted(hs_list["members"]) == sorted(g.hs_contact for g in accepted[cid])
    before = write_calls(sandbox)
    again = carnet(config, "push", "--json")
    assert all(r["written"] == 0 for r in again["sources"].values())
    assert write_calls(sandbox) == before


def nomination_of(config: Path, cid: int, guest: Guest) -> int:
    """The guest's nomination, as their rep sees it."""
    doc = carnet(config, "campaign", "show", str(cid), "--as", guest.rep, "--json")
    return int(next(n["id"] for n in doc["mine"] if n["person"]["email"] == guest.email))


def unrecorded(sandbox: Sandbox, store: Path, cids: list[int]) -> int:
    """Campaigns and members the CRMs hold that the outbox does not know as made (the window a
    kill may leave, which the next push must close without a duplicate)."""
    rows = query(
        store,
        "SELECT source, field_set, external_id, status, json_extract(desired, '$.ref') "
        "FROM outbox WHERE field_set IN ('campaign', 'member')",
    )
    made = {(s, e) for s, f, e, _, ref in rows if f == "campaign" and ref}
    made |= {(s, e) for s, f, e, st, _ in rows if f == "member" and st == "done"}
    held = set()
    for cid in cids:
        for campaign in sf_campaigns(sandbox, cid):
            held.add(("salesforce", str(cid)))
            held |= {("salesforce", f"{cid}:{c}") for c, _ in sf_members(sandbox, campaign["Id"])}
        for hs_list in hs_lists(sandbox, cid):
            held.add(("hubspot", str(cid)))
            held |= {("hubspot", f"{cid}:{c}") for c in hs_list["members"]}
    return len(held - made)
