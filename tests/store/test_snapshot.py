"""The weekly network snapshot, on SQLite and PostgreSQL: a team's figures count what the team
shares with itself (a private relationship in none), per account as `carnet network` counts;
one snapshot per ISO week, however often it is asked for; the trend reads the weeks in order.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.core.config import Sharing
from connector.plans.snapshot import iso_week, take_snapshot, team_figures, team_quality, trend
from connector.store.models import Member
from connector.store.models_snapshot import TEAM_SCOPE, NetworkSnapshot
from tests import governance_world as w

MONDAY = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # ISO week 2026-W50
SHARING = Sharing(default="discoverable", scope="company", grace_days=0)


def world(s: Session) -> dict[str, Any]:
    """Team red: Ann and Bob; team blue: Cid. Initech: a CEO Ann knows (shared, 4) and Bob knows
    privately (5), a VP only Cid knows (shared, 3), a buyer Ann knows (2). Globex: a director
    Bob knows privately, and nobody else."""
    ann = w.member(s, "ann@us.example", "red", "Ann")
    bob = w.member(s, "bob@us.example", "red", "Bob")
    cid = w.member(s, "cid@us.example", "blue", "Cid")
    initech = w.org(s, "Initech", ("initech.example",))
    globex = w.org(s, "Globex", ("globex.example",))
    ceo = w.person(s, "ceo@initech.example", initech, "Ceo", "CEO")
    vp = w.person(s, "vp@initech.example", initech, "Vip", "VP Sales")
    buyer = w.person(s, "buyer@initech.example", initech, "Buyer", "Buyer")
    boss = w.person(s, "boss@globex.example", globex, "Boss", "Director")
    ceo.level, vp.level, buyer.level, boss.level = "c_level", "vp", "staff", "director"
    w.rel(s, ann, ceo, rating=4, share="shared")
    w.rel(s, bob, ceo, rating=5, share="private")
    w.rel(s, cid, vp, rating=3, share="shared")
    w.rel(s, ann, buyer, rating=2, share="discoverable")
    w.rel(s, bob, boss, rating=5, share="private")
    s.commit()
    return {"ann": ann, "bob": bob, "cid": cid, "initech": initech, "globex": globex}


def test_a_teams_figures_count_what_the_team_shares_with_itself(session: Session) -> None:
    world(session)
    red = team_figures(session, SHARING, "red", MONDAY)
    # Bob's private ties count nowhere: not Globex as an account worked, not the CEO as known twice
    assert [a["org"]["name"] for a in red["accounts"]] == ["Initech"]
    assert red["figures"] == {
        "accounts": 1,
        "single_threaded_accounts": 1,
        "people": 3,
        "known": 3,  # the VP through Cid: company scope
        "key": 2,
        "key_known": 2,
        "key_known_strong": 2,
        "single_threaded": 2,  # the CEO (Ann alone, Bob's is private) and the VP (Cid)
        "relationships": 2,  # Ann's two; Bob's are private
        "strength": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 0, "none": 0},
        "known_share": 1.0,
        "key_strong_share": 1.0,
    }
    account = red["accounts"][0]
    assert account["relationships"] == 3 and account["strength"]["3"] == 1
    assert {p["name"] for p in account["single_threaded_people"]} == {"Ceo", "Vip"}
    team = Sharing(default="discoverable", scope="team", grace_days=0)
    blue = team_figures(session, team, "blue", MONDAY)  # team scope: red's ties out of reach
    assert blue["figures"]["known"] == 1 and blue["figures"]["relationships"] == 1


def test_one_snapshot_per_iso_week_and_the_trend_in_order(session: Session) -> None:
    world(session)
    first = take_snapshot(session, SHARING, MONDAY)
    session.commit()
    assert first == {"week": "2026-W50", "taken": True, "teams": 2, "rows": 4}
    rows = session.scalar(select(func.count()).select_from(NetworkSnapshot))
    again = take_snapshot(session, SHARING, MONDAY + timedelta(days=6, hours=14))  # Sunday
    assert again["taken"] is False and again["rows"] == 0
    assert session.scalar(select(func.count()).select_from(NetworkSnapshot)) == rows == 4
    scopes = {
        tuple(r) for r in session.execute(select(NetworkSnapshot.team, NetworkSnapshot.scope))
    }
    initech = session.scalar(
        select(NetworkSnapshot.org_id).where(NetworkSnapshot.org_id.is_not(None))
    )
    assert scopes == {("red", TEAM_SCOPE), ("blue", TEAM_SCOPE), ("red", f"org:{initech}"),
                      ("blue", f"org:{initech}")}  # fmt: skip

    ann = session.scalar(select(Member).where(Member.email == "ann@us.example"))
    assert ann is not None
    w.rel(session, ann, w.person(session, "new@initech.example", None, "New"), rating=5)
    session.commit()
    later = MONDAY + timedelta(days=7)
    assert take_snapshot(session, SHARING, later)["week"] == iso_week(later) == "2026-W51"
    session.commit()
    weeks = trend(session, "red")
    assert [t["week"] for t in weeks] == ["2026-W50", "2026-W51"]
    assert [t["relationships"] for t in weeks] == [2, 3]
    assert not any(t["live"] for t in weeks)


def test_the_managers_view_ends_with_this_week_live(session: Session) -> None:
    made = world(session)
    take_snapshot(session, SHARING, MONDAY)
    session.commit()
    doc = team_quality(session, SHARING, made["ann"], MONDAY + timedelta(days=1))
    assert doc["team"] == "red" and doc["accounts_total"] == 1
    assert [(t["week"], t["live"]) for t in doc["trend"]] == [
        ("2026-W50", False),
        ("2026-W50", True),
    ]
    sizes = {m["member"]["email"]: m["network_size"] for m in doc["members"]}
    assert sizes == {"ann@us.example": 2, "bob@us.example": 0}  # Ann reads Bob: private unseen
    bob = team_quality(session, SHARING, made["bob"], MONDAY)
    assert {m["member"]["email"]: m["network_size"] for m in bob["members"]}["bob@us.example"] == 2
