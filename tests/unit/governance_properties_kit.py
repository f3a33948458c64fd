"""The random worlds, stores and helpers the governance property tests share (see
test_governance_properties for what they prove)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.config import Sharing
from connector.core.errors import UsageError
from connector.governance.viewers import CRM_AUDIENCE
from connector.governance.visibility import Visibility, visibility
from connector.governance.whoknows import who_knows
from connector.store import models as m
from connector.store.db import make_engine

TEAMS = ("red", "blue", "green")
SHARES = (None, "private", "discoverable", "shared")
# when a sync discovered a relationship: None (made by its holder, or before grace periods),
# a day ago (in a 7-day grace period) or a month ago (past it)
NOW = datetime.now(UTC)
DISCOVERED = {None: None, "day": NOW - timedelta(days=1), "month": NOW - timedelta(days=30)}
SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass(frozen=True)
class RelSpec:
    member: int
    person: int
    share: str | None
    exclusive: bool
    rating: int | None
    score: float | None
    discovered: str | None = None  # a key of DISCOVERED
    chosen: bool = False  # the holder chose its shareability (its grace period is over)


@dataclass(frozen=True)
class World:
    teams: tuple[str | None, ...]  # one per member
    active: tuple[bool, ...]
    orgs: int
    person_org: tuple[int | None, ...]  # one per person
    reports_to: tuple[int | None, ...]
    rels: tuple[RelSpec, ...]
    sharing: Sharing


@st.composite
def worlds(draw: st.DrawFn) -> World:
    n_members = draw(st.integers(2, 5))
    n_people = draw(st.integers(1, 6))
    orgs = draw(st.integers(1, 2))
    teams = tuple(draw(st.sampled_from((*TEAMS, None))) for _ in range(n_members))
    active = tuple(draw(st.booleans()) or i == 0 for i in range(n_members))
    person_org = tuple(draw(st.sampled_from((*range(orgs), None))) for _ in range(n_people))
    reports_to = tuple(draw(st.sampled_from((None, *range(i)))) for i in range(n_people))
    pairs = draw(
        st.lists(
            st.tuples(st.integers(0, n_members - 1), st.integers(0, n_people - 1)),
            max_size=12,
            unique=True,
        )
    )
    rels = tuple(
        RelSpec(
            mi,
            pi,
            draw(st.sampled_from(SHARES)),
            draw(st.booleans()),
            draw(st.sampled_from((None, 1, 3, 5))),
            draw(st.sampled_from((None, 1.2, 2.5, 4.6))),
            draw(st.sampled_from(tuple(DISCOVERED))),
            draw(st.booleans()),
        )
        for mi, pi in pairs
    )
    sharing = Sharing(
        default=draw(st.sampled_from(("private", "discoverable", "shared"))),
        scope=draw(st.sampled_from(("team", "company"))),
        pilot_teams=sorted(draw(st.sets(st.sampled_from(TEAMS), max_size=2))),
        grace_days=draw(st.sampled_from((0, 7))),
    )
    return World(teams, active, orgs, person_org, reports_to, rels, sharing)


def rel_id(r: RelSpec) -> int:
    return 1000 + r.member * 100 + r.person  # fixed ids: the same in every copy of the world


@dataclass(frozen=True)
class Mask:
    """What to rewrite in a copy of the world: the notes of these relationships, the phones and
    second emails of these people."""

    rels: frozenset[int] = frozenset()
    people: frozenset[int] = frozenset()


@contextmanager
def store(world: World, keep: Any = None, mask: Mask = Mask()) -> Iterator[Session]:
    """The world in a fresh in-memory store; `keep(rel)` drops the relationships it refuses."""
    engine = make_engine("sqlite://")
    m.Base.metadata.create_all(engine)
    with Session(engine) as s:
        for i, team in enumerate(world.teams):
            s.add(
                m.Member(
                    id=i + 1,
                    email=f"m{i}@us.example",
                    name=f"M{i}",
                    team=team,
                    active=world.active[i],
                )
            )
        for k in range(world.orgs):
            s.add(m.Org(id=k + 1, name=f"Org {k}"))
            s.add(m.OrgDomain(domain=f"org{k}.example", org_id=k + 1))
        s.flush()
        for i, org in enumerate(world.person_org):
            boss = world.reports_to[i]
            secret = "-changed" if i in mask.people else ""
            s.add(
                m.Person(
                    id=i + 1,
                    name=f"P{i}",
                    name_key=f"p{i}",
                    phone=f"PHONE{i}{secret}",
                    org_id=None if org is None else org + 1,
                    reports_to_id=None if boss is None else boss + 1,
                )
            )
            s.flush()
            s.add(m.PersonEmail(email=f"p{i}@x.example", person_id=i + 1))
            s.add(m.PersonEmail(email=f"p{i}.alt{secret}@y.example", person_id=i + 1))
        for r in world.rels:
            if keep is None or keep(r):
                secret = "-changed" if rel_id(r) in mask.rels else ""
                s.add(
                    m.Relationship(
                        id=rel_id(r),
                        member_id=r.member + 1,
                        person_id=r.person + 1,
                        shareability=r.share,
                        exclusive=r.exclusive,
                        rating=r.rating,
                        score=r.score,
                        notes=f"NOTE{rel_id(r)}{secret}",
                        discovered_at=DISCOVERED[r.discovered],
                        chosen_at=NOW if r.chosen else None,
                    )
                )
        s.flush()
        yield s
    engine.dispose()


def level_of(world: World, r: RelSpec, viewer: int | None) -> Visibility:
    """The Python rule on the spec (viewer None: the CRM audience)."""
    holder = m.Member(id=r.member + 1, team=world.teams[r.member])
    rel = m.Relationship(
        member_id=r.member + 1,
        shareability=r.share,
        discovered_at=DISCOVERED[r.discovered],
        chosen_at=NOW if r.chosen else None,
    )
    who = CRM_AUDIENCE if viewer is None else m.Member(id=viewer + 1, team=world.teams[viewer])
    return visibility(holder, rel, who, world.sharing)


def queries(world: World) -> list[str]:
    return [f"p{i}@x.example" for i in range(len(world.person_org))] + [
        f"org{k}.example" for k in range(world.orgs)
    ]


def answer(s: Session, viewer: int, query: str, sharing: Sharing) -> Any:
    """The full answer and the one cut to the strongest person (the ranked SQL path)."""
    member = s.get(m.Member, viewer + 1)
    assert member is not None
    try:
        return [who_knows(s, member, query, sharing, audit=False, limit=n) for n in (None, 1)]
    except UsageError as exc:
        return f"refused: {exc}"


def viewers(world: World) -> list[int]:
    return [i for i, active in enumerate(world.active) if active]


def _mask(world: World, v: int) -> Mask:
    """Everything `v` has no FULL view of: notes of those relationships, contact details of the
    people `v` sees no relationship with in full."""
    full = [r for r in world.rels if level_of(world, r, v) == Visibility.FULL]
    return Mask(
        rels=frozenset(rel_id(r) for r in world.rels if r not in full),
        people=frozenset(range(len(world.person_org))) - {r.person for r in full},
    )


def _no_secret_leaks(text: str, world: World, v: int) -> None:
    for r in world.rels:
        if level_of(world, r, v) != Visibility.FULL:
            assert f"NOTE{rel_id(r)}" not in text
    full_people = {r.person for r in world.rels if level_of(world, r, v) == Visibility.FULL}
    for i in range(len(world.person_org)):
        if i not in full_people:
            assert f"PHONE{i}" not in text and f"p{i}.alt" not in text


def _final_world(s: Session, world: World) -> World:
    """The world after the `rate` calls changed some shareabilities (and ended their wait)."""
    now = {r.id: r for r in s.scalars(select(m.Relationship))}
    return replace(
        world,
        rels=tuple(
            replace(
                r, share=now[rel_id(r)].shareability, chosen=now[rel_id(r)].chosen_at is not None
            )
            for r in world.rels
        ),
    )
