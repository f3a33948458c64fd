"""Managers from the CRM's user hierarchy (`member.manager_id`), on SQLite and PostgreSQL: direct
and indirect reports, a cycle, an inactive report, a manager gone from the store; the roles the web
gives (the config's names, and the hierarchy only with `web.managers: [crm]`); a hierarchy team's
network quality counts what the one visibility rule lets the manager's team see, nothing private.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.cli.campaigns import owner_refusal
from connector.core.config import Sharing
from connector.core.web_config import Web
from connector.governance.hierarchy import (
    has_reports,
    hierarchy_managers,
    hierarchy_team,
    report_ids,
)
from connector.plans.snapshot import take_snapshot, team_quality
from connector.store.models import Member
from connector.store.models_snapshot import TEAM_SCOPE, NetworkSnapshot
from connector.web.roles import roles_for
from tests import governance_world as w

MONDAY = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
COMPANY = Sharing(default="discoverable", scope="company", grace_days=0)
TEAM = Sharing(default="discoverable", scope="team", grace_days=0)


def web(tmp_path: Path, managers: list[str], admins: list[str] | None = None) -> Web:
    secret = tmp_path / "oidc.secret"
    secret.write_text("s", encoding="utf-8")
    oidc = {"issuer": "https://idp.example", "client_id": "c", "client_secret_file": secret}
    return Web.model_validate({"oidc": oidc, "managers": managers, "admins": admins or []})


def report(s: Session, email: str, boss: Member | None, team: str = "emea", active: bool = True):
    row = w.member(s, email, team, email.split("@")[0].title(), active=active)
    row.manager_id = boss.id if boss else None
    s.flush()
    return row


def tree(s: Session) -> dict[str, Member]:
    """Lea leads Rob and Ria; Rob leads Ray; Ian (inactive) reports to Ida and leads Joe."""
    lea = report(s, "lea@us.example", None)
    rob = report(s, "rob@us.example", lea)
    ria = report(s, "ria@us.example", lea, team="apac")
    ray = report(s, "ray@us.example", rob)
    ida = report(s, "ida@us.example", None)
    ian = report(s, "ian@us.example", ida, active=False)
    joe = report(s, "joe@us.example", ian)
    s.commit()
    return {"lea": lea, "rob": rob, "ria": ria, "ray": ray, "ida": ida, "ian": ian, "joe": joe}


def names(members: list[Member]) -> list[str]:
    return [m.name for m in members]


def test_direct_and_indirect_reports(session: Session) -> None:
    t = tree(session)
    assert report_ids(session, t["lea"].id) == {t["rob"].id, t["ria"].id, t["ray"].id}
    assert report_ids(session, t["rob"].id) == {t["ray"].id}
    assert report_ids(session, t["ray"].id) == set()
    assert names(hierarchy_team(session, t["lea"])) == ["Lea", "Ray", "Ria", "Rob"]
    assert [has_reports(session, t[k].id) for k in ("lea", "rob", "ria", "ray")] == [
        True, True, False, False,
    ]  # fmt: skip
    assert [m.name for m in hierarchy_managers(session)] == ["Lea", "Rob"]


def test_a_cycle_ends_the_walk_and_nobody_reports_to_themselves(session: Session) -> None:
    a = report(session, "a@us.example", None)
    b = report(session, "b@us.example", a)
    c = report(session, "c@us.example", b)
    a.manager_id = c.id  # a -> b -> c -> a: a CRM would refuse it; the store must survive it
    solo = report(session, "solo@us.example", None)
    solo.manager_id = solo.id
    session.commit()
    assert report_ids(session, a.id) == {b.id, c.id}
    assert report_ids(session, c.id) == {a.id, b.id}
    assert names(hierarchy_team(session, b)) == ["A", "B", "C"]
    assert report_ids(session, solo.id) == set()
    assert not has_reports(session, solo.id)
    assert solo not in hierarchy_managers(session)


def test_an_inactive_report_makes_no_manager_but_the_walk_goes_through(session: Session) -> None:
    t = tree(session)
    assert not has_reports(session, t["ida"].id)  # her only direct report left the company
    assert report_ids(session, t["ida"].id) == {t["ian"].id, t["joe"].id}
    assert names(hierarchy_team(session, t["ida"])) == ["Ida", "Joe"]  # Ian is inactive
    assert t["ida"] not in hierarchy_managers(session)


def test_a_manager_gone_from_the_store_leaves_the_report_without_one(session: Session) -> None:
    t = tree(session)
    ray_id = t["ray"].id
    session.delete(t["rob"])  # ON DELETE SET NULL: nobody points at a missing member
    session.commit()
    session.expire_all()
    ray = session.get(Member, ray_id)
    assert ray is not None and ray.manager_id is None
    assert report_ids(session, t["lea"].id) == {t["ria"].id}  # Ray no longer under Lea
    assert names(hierarchy_team(session, ray)) == ["Ray"]
    assert not has_reports(session, ray_id)


def test_roles_from_the_config_and_from_the_crm(session: Session, tmp_path: Path) -> None:
    t = tree(session)
    crm = web(tmp_path, ["crm", "ria@us.example"], ["ray@us.example"])
    plain = web(tmp_path, ["ria@us.example", "group:Sales Leads"])
    assert roles_for(session, crm, t["lea"]) == {"manager"}  # an active direct report
    assert roles_for(session, crm, t["rob"]) == {"manager"}
    assert roles_for(session, crm, t["ria"]) == {"manager"}  # named by email
    assert roles_for(session, crm, t["ray"]) == {"admin"}
    assert roles_for(session, crm, t["ida"]) == set()  # only an inactive report
    assert roles_for(session, plain, t["lea"]) == set()  # without "crm", the hierarchy is silent
    assert roles_for(session, plain, t["ray"], ["Sales Leads"]) == {"manager"}
    assert crm.managers_from_crm and not plain.managers_from_crm
    # the command line's campaign owners follow the same rule
    assert owner_refusal(session, crm, t["lea"]) is None
    assert owner_refusal(session, crm, t["ray"]) is None  # an admin
    refusal = owner_refusal(session, plain, t["lea"])
    assert refusal and "lea@us.example may not own a campaign" in refusal
    assert "group:Sales Leads" in refusal


def world(s: Session) -> dict[str, Any]:
    """Lea (emea) leads Rob (emea) and Ria (apac); Cid (emea) is in nobody's hierarchy. At
    Initech Rob knows the CEO (shared, 4) and the CFO privately (5); Ria knows the VP
    (discoverable, 3); Cid knows the buyer (shared, 2)."""
    lea = report(s, "lea@us.example", None)
    rob = report(s, "rob@us.example", lea)
    ria = report(s, "ria@us.example", lea, team="apac")
    cid = report(s, "cid@us.example", None)
    initech = w.org(s, "Initech", ("initech.example",))
    ceo = w.person(s, "ceo@initech.example", initech, "Ceo", "CEO")
    cfo = w.person(s, "cfo@initech.example", initech, "Cfo", "CFO")
    vp = w.person(s, "vp@initech.example", initech, "Vip", "VP Sales")
    buyer = w.person(s, "buyer@initech.example", initech, "Buyer", "Buyer")
    ceo.level, cfo.level, vp.level, buyer.level = "c_level", "c_level", "vp", "staff"
    w.rel(s, rob, ceo, rating=4, share="shared")
    w.rel(s, rob, cfo, rating=5, share="private", notes="cfo private notes")
    w.rel(s, ria, vp, rating=3, share="discoverable")
    w.rel(s, cid, buyer, rating=2, share="shared")
    s.commit()
    return {"lea": lea, "rob": rob, "ria": ria, "cid": cid}


def test_a_hierarchy_teams_network_quality_counts_only_what_the_rule_shows(
    session: Session,
) -> None:
    made = world(session)
    doc = team_quality(session, COMPANY, made["lea"], MONDAY, hierarchy=True)
    assert doc["team"] == "Lea and their reports"
    assert [m["member"]["name"] for m in doc["members"]] == ["Lea", "Ria", "Rob"]
    fig = doc["figures"]
    # Rob's CEO and Ria's VP; Rob's private CFO nowhere, Cid (outside the hierarchy) not the team's
    assert fig["relationships"] == 2 and fig["strength"]["4"] == 1 and fig["strength"]["3"] == 1
    assert fig["strength"]["5"] == 0
    assert "cfo@initech.example" not in repr(doc) and "cfo private notes" not in repr(doc)
    # team scope: the manager's team reads; Ria's VP (apac) is out of reach, as in who-knows
    narrow = team_quality(session, TEAM, made["lea"], MONDAY, hierarchy=True)
    assert narrow["figures"]["relationships"] == 1
    # not configured: the `team` string decides, as before (emea: Lea, Rob, Cid)
    plain = team_quality(session, COMPANY, made["lea"], MONDAY)
    assert plain["team"] == "emea"
    assert [m["member"]["name"] for m in plain["members"]] == ["Cid", "Lea", "Rob"]


def test_the_weekly_snapshot_keeps_a_hierarchy_teams_trend(session: Session) -> None:
    made = world(session)
    assert take_snapshot(session, COMPANY, MONDAY, hierarchy=True)["teams"] == 3  # apac, emea, Lea
    session.commit()
    key = f"reports:{made['lea'].id}"
    q = select(NetworkSnapshot.relationships).where(
        NetworkSnapshot.team == key, NetworkSnapshot.scope == TEAM_SCOPE
    )
    assert list(session.scalars(q)) == [2]
    doc = team_quality(session, COMPANY, made["lea"], MONDAY, hierarchy=True)
    assert [wk["relationships"] for wk in doc["trend"]] == [2, 2]  # the stored week, then live
