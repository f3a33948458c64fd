"""The one visibility rule, case by case, in its Python form and its SQL form."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import product

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.config import Sharing
from connector.governance.viewers import CRM_AUDIENCE, Viewer
from connector.governance.visibility import Visibility, visibility, visibility_sql
from connector.store import models as m
from connector.store.db import make_engine

H, D, F = Visibility.HIDDEN, Visibility.DISCOVERABLE, Visibility.FULL


@dataclass(frozen=True)
class Who:
    id: int
    team: str | None


@dataclass(frozen=True)
class Rel:
    member_id: int
    shareability: str | None
    discovered_at: datetime | None = None  # the grace period: not discovered by a sync
    chosen_at: datetime | None = None


ANA = Who(1, "emea")  # the holder
BOB = Who(2, "emea")  # same team
CAT = Who(3, "us")  # another team
DAN = Who(4, None)  # no team


@pytest.mark.parametrize(
    ("share", "sharing", "expected"),
    [
        # (bob same team, cat other team, crm)
        ("private", Sharing(scope="company"), (H, H, H)),
        ("discoverable", Sharing(scope="team"), (D, H, H)),
        ("shared", Sharing(scope="team"), (F, H, H)),
        ("discoverable", Sharing(scope="company"), (D, D, D)),
        ("shared", Sharing(scope="company"), (F, F, F)),
        (None, Sharing(default="private", scope="company"), (H, H, H)),
        (None, Sharing(default="shared", scope="team"), (F, H, H)),
        (None, Sharing(default="discoverable", scope="company"), (D, D, D)),
        # a pilot list that leaves the holder's team out: private to everyone else
        ("shared", Sharing(scope="company", pilot_teams=["us"]), (H, H, H)),
        ("shared", Sharing(scope="company", pilot_teams=["emea"]), (F, F, F)),
        # the viewer's team need not be in the pilot: only the holder's matters
        ("discoverable", Sharing(scope="company", pilot_teams=["emea"]), (D, D, D)),
    ],
)
def test_the_rule(share: str | None, sharing: Sharing, expected: tuple[Visibility, ...]) -> None:
    rel = Rel(ANA.id, share)
    got = tuple(visibility(ANA, rel, v, sharing) for v in (BOB, CAT, CRM_AUDIENCE))
    assert got == expected
    assert visibility(ANA, rel, ANA, sharing) == F  # the holder always sees it all


def test_a_holder_without_a_team_shares_with_no_team_mate() -> None:
    rel = Rel(DAN.id, "shared")
    assert visibility(DAN, rel, Who(5, None), Sharing(scope="team")) == H
    assert visibility(DAN, rel, BOB, Sharing(scope="company")) == F
    assert visibility(ANA, Rel(ANA.id, "shared"), DAN, Sharing(scope="team")) == H


def test_the_holder_given_must_be_the_relationships_member() -> None:
    with pytest.raises(ValueError):
        visibility(BOB, Rel(ANA.id, "shared"), CAT, Sharing())


# -- the SQL form gives the same answer on every combination ------------------------------------

TEAMS = ("emea", "us", None)
SHARES = (None, "private", "discoverable", "shared")
SHARINGS = [
    Sharing(default=d, scope=s, pilot_teams=p)
    for d, s, p in product(
        ("private", "discoverable", "shared"), ("team", "company"), ([], ["emea"], ["us", "x"])
    )
]


@pytest.fixture
def table() -> Iterator[Session]:
    """One holder per team, each with one relationship of every shareability."""
    engine = make_engine("sqlite://")
    m.Base.metadata.create_all(engine)
    with Session(engine) as s:
        org = m.Org(name="Globex")
        s.add(org)
        s.flush()
        p = m.Person(name="Zoe", name_key="zoe", org_id=org.id)
        s.add(p)
        for i, team in enumerate(TEAMS, start=1):
            s.add(m.Member(id=i, email=f"m{i}@us.example", name=f"M{i}", team=team))
        s.flush()
        for i, _team in enumerate(TEAMS, start=1):
            for share in SHARES:
                person = m.Person(name=f"P{i}{share}", name_key="p")
                s.add(person)
                s.flush()
                s.add(m.Relationship(member_id=i, person_id=person.id, shareability=share))
        s.flush()
        yield s
    engine.dispose()


@pytest.mark.parametrize("sharing", SHARINGS, ids=str)
def test_sql_and_python_agree_on_every_combination(table: Session, sharing: Sharing) -> None:
    members = {mem.id: mem for mem in table.scalars(select(m.Member))}
    viewers: list[Viewer] = [*members.values(), CRM_AUDIENCE]
    for viewer in viewers:
        level = visibility_sql(viewer, sharing)
        rows = table.execute(
            select(m.Relationship, level).join(m.Member, m.Member.id == m.Relationship.member_id)
        ).all()
        assert len(rows) == len(TEAMS) * len(SHARES)
        for rel, sql_level in rows:
            assert sql_level == visibility(members[rel.member_id], rel, viewer, sharing), (
                viewer,
                rel.member_id,
                rel.shareability,
            )
