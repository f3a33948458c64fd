"""The Salesforce stand-in's user hierarchy: `User.ManagerId`, a reference to User (relationship
`Manager`) as the real describe shows it; the seeded world's reps report to their team's lead,
leads to nobody; a CRM user's change of a manager is seen by the next query.
"""

from __future__ import annotations

from collections.abc import Callable

from sandbox import seed_tables as T
from sandbox.seed import generate
from sandbox.world import World
from tests.contract.salesforce_fixtures import Env, install_fixtures, make_world

tls, start = install_fixtures()


def test_the_seeded_reps_report_to_their_teams_lead_and_leads_to_the_head() -> None:
    world = generate(1, 0.2)
    by_key = {m.key: m for m in world.members}
    head, leads = world.members[0], world.members[1 : len(T.TEAMS)]
    assert head.manager_key is None and head.title in T.LEAD_TITLES
    assert all(m.manager_key == head.key and m.title in T.LEAD_TITLES for m in leads)
    assert {m.team for m in [head, *leads]} == {t[0] for t in T.TEAMS}
    for rep in world.members[len(T.TEAMS) :]:
        lead = by_key[str(rep.manager_key)]
        assert lead in [head, *leads] and lead.team == rep.team, rep.key
    assert [m.manager_key for m in generate(1, 0.2).members] == [
        m.manager_key for m in world.members
    ]  # deterministic
    small = generate(1, 0.01).members  # five members, all leads: still a hierarchy
    assert [m.manager_key for m in small] == [None, *["m-001"] * (len(small) - 1)]


def hierarchy_world() -> World:
    w = make_world()
    w.members[1].manager_key = w.members[0].key  # Raj reports to Ann
    return w


def test_manager_id_is_served_and_described_like_salesforce(start: Callable[..., Env]) -> None:
    env = start(hierarchy_world())
    rows = {
        r["Email"]: r for r in env.sf.query_all("SELECT Id, Email, ManagerId FROM User")["records"]
    }
    ann, raj = rows["ann@northwind.test"], rows["raj@northwind.test"]
    assert raj["ManagerId"] == ann["Id"] and ann["ManagerId"] is None
    field = {f["name"]: f for f in env.obj("User").describe()["fields"]}["ManagerId"]
    assert (field["type"], field["referenceTo"], field["relationshipName"]) == (
        "reference", ["User"], "Manager",
    )  # fmt: skip
    assert field["nillable"] is True
    # a CRM admin moves Raj to nobody: the change is seen, with a fresh SystemModstamp
    before = env.sf.query(f"SELECT SystemModstamp FROM User WHERE Id = '{raj['Id']}'")
    env.admin("POST", "/records/User", {"id": raj["Id"], "ManagerId": None}).raise_for_status()
    after = env.sf.query(f"SELECT ManagerId, SystemModstamp FROM User WHERE Id = '{raj['Id']}'")
    assert after["records"][0]["ManagerId"] is None
    assert after["records"][0]["SystemModstamp"] > before["records"][0]["SystemModstamp"]
