"""Network quality on the hand-made Globex account: per-account and per-member figures equal the
values computed by hand, and a private relationship counts only in its holder's own report."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from connector.core.errors import UsageError
from connector.governance.credits import derive_credits
from connector.governance.relationships import member_by_email
from connector.plans.network import network_report
from connector.store import models as m
from tests import governance_world as w
from tests.store.test_plans import SHARING, add_credited_deal, build_world


def _world(s: Session) -> dict[str, Any]:
    world = build_world(s)
    # a fourth country where Globex has people and we know nobody
    w.person(s, "ida@globex.example", world["org"], name="Ida Italia").country = "IT"
    s.flush()
    return world


def test_account_figures_company_wide(session: Session) -> None:
    _world(session)
    (acct,) = network_report(session, SHARING, None, org_query="Globex")["accounts"]
    assert (acct["people"], acct["known"]) == (11, 7)
    assert [(r["level"], r["known"], r["people"]) for r in acct["by_level"]] == [
        ("c_level", 1, 1),
        ("vp", 2, 2),
        ("director", 1, 2),
        ("manager", 1, 2),
        ("staff", 2, 3),
        ("unknown", 0, 1),
    ]
    assert (acct["key"], acct["key_known_strong"], acct["key_strong_share"]) == (6, 3, 0.5)
    assert [p["name"] for p in acct["single_threaded"]] == [
        "Felix Finanz",
        "Vera Vente",
        "Dieter Dir",
        "Sue Staff",
    ]
    assert acct["countries_unknown"] == ["IT"]


def test_account_figures_for_the_private_holder_and_for_others(session: Session) -> None:
    _world(session)
    cat = member_by_email(session, "cat@us.example")
    dan = member_by_email(session, "dan@us.example")
    (mine,) = network_report(session, SHARING, cat, org_query="Globex")["accounts"]
    assert mine["key_known_strong"] == 4  # cat's private 3 with Vera counts for cat
    assert "Vera Vente" not in [p["name"] for p in mine["single_threaded"]]
    (theirs,) = network_report(session, SHARING, dan, org_query="Globex")["accounts"]
    assert theirs["key_known_strong"] == 3
    assert "Vera Vente" in [p["name"] for p in theirs["single_threaded"]]


def _members(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["member"]["email"].split("@")[0]: r for r in doc["members"]}


def test_member_figures_company_wide(session: Session) -> None:
    _world(session)
    doc = network_report(session, SHARING)
    rows = _members(doc)
    assert {k: v["network_size"] for k, v in rows.items()} == {
        "ann": 3,
        "bob": 3,
        "cat": 0,
        "dan": 2,
    }
    ann = rows["ann"]
    assert ann["strength"] == {"1": 0, "2": 0, "3": 1, "4": 1, "5": 1, "none": 0}
    assert ann["shareability"] == {"shared": 1, "discoverable": 2}
    assert ann["shared_share"] == 0.333 and ann["strong"] == 3
    assert "private" not in rows["cat"]["shareability"]
    assert [a["org"]["name"] for a in doc["accounts"]] == ["Globex"]


def test_private_counts_only_in_the_holders_own_report(session: Session) -> None:
    _world(session)
    cat = member_by_email(session, "cat@us.example")
    ann = member_by_email(session, "ann@us.example")
    (own,) = network_report(session, SHARING, cat, member_email="cat@us.example")["members"]
    assert own["own_report"] and own["network_size"] == 1
    assert own["shareability"] == {"shared": 0, "discoverable": 0, "private": 1}
    for reader in (ann, None):
        (seen,) = network_report(session, SHARING, reader, member_email="cat@us.example")["members"]
        assert seen["network_size"] == 0 and seen["strength"]["3"] == 0
        assert "private" not in seen["shareability"]


def test_intros_brokered_and_credits_earned(session: Session) -> None:
    world = _world(session)
    add_credited_deal(session, world, 12_000.0, "USD", "won")
    derive_credits(session, 5.0)
    (row,) = network_report(session, SHARING, None, member_email="bob@us.example")["members"]
    assert row["intros_brokered"] == 1
    assert row["credits_earned"] == {"USD": 600.0} and row["credits_pending"] == {}


def test_unknown_member_or_org_is_usage(session: Session) -> None:
    _world(session)
    with pytest.raises(UsageError, match="no member"):
        network_report(session, SHARING, None, member_email="zed@us.example")
    with pytest.raises(UsageError, match="no org matches"):
        network_report(session, SHARING, None, org_query="Initech")


def test_private_relationships_change_nothing_another_reader_sees(session: Session) -> None:
    """Add cat's private relationships: every report and plan read by anyone but cat (or by the
    company-wide audience) is byte-for-byte the same; cat's own reports do change."""
    from connector.plans.plan import show_plan

    world = _world(session)
    readers = [None, *(world["members"][n] for n in ("ann", "bob", "dan"))]
    cat = world["members"]["cat"]

    def reads(reader: m.Member | None) -> str:
        plan = show_plan(session, "Globex", reader, SHARING, audit=False)
        return repr((plan, network_report(session, SHARING, reader)))

    before = [reads(r) for r in readers]
    cat_before = reads(cat)
    for name in ("Clara Chef", "Dora Dir", "Ned Staff", "Ida Italia"):
        w.rel(session, cat, world["people"].get(name) or _ida(session), rating=5, share="private")
    assert [reads(r) for r in readers] == before
    assert reads(cat) != cat_before


def _ida(s: Session) -> m.Person:
    person = s.get(m.PersonEmail, "ida@globex.example")
    assert person is not None
    return person.person
