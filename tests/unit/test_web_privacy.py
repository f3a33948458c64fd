"""Property test: over random worlds (members, teams, roles, people and their levels, orgs,
relationships, shareabilities, scope, pilot teams), every page and API answer the web app gives
each member shows no relationship the visibility rule hides from that member: not its id, not its
notes; an account plan (page, map, every export, API) names exactly the visible (person, member)
pairs and no colleague whose only ties there are hidden; network quality counts exactly what the
manager, and the team, may see; a campaign's nominations (and their notes) show only to their
nominator and, while it is open, to its owner (after that, as far as visibility allows). The app
runs on uvicorn in a thread on a SQLite store; each member is signed in with a session opened in
the store (with the roles drawn for them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from connector.core.config import Sharing
from connector.core.errors import UsageError
from connector.governance import campaigns
from connector.governance.visibility import Visibility, visibility
from connector.plans.snapshot import TeamReader, take_snapshot
from connector.store.db import make_engine, session_factory
from connector.store.migrate import upgrade
from connector.store.models import Base
from connector.web.tokens import open_session
from tests import governance_world as w
from tests.e2e.web_support import Client, free_port, served

SHARES = (None, "private", "discoverable", "shared")
TEAMS = ("red", "blue", None)
ROLES = (frozenset(), frozenset({"manager"}), frozenset({"admin"}), frozenset({"admin", "manager"}))
PERSON_LEVELS = ("c_level", "director", "staff", "unknown")
EXPORTS = ("md", "html", "svg", "json")
CAMPAIGN_ENDS = ("open", "closed", "done")


@dataclass(frozen=True)
class World:
    teams: tuple[str | None, ...]
    roles: tuple[frozenset[str], ...]  # per member
    orgs: tuple[int | None, ...]  # per person
    levels: tuple[str, ...]  # per person
    rels: tuple[tuple[int, int, str | None, bool, int | None], ...]
    sharing: Sharing
    # a campaign: its owner, the state it ends in, the relationships nominated (and accepted?)
    campaign: tuple[int, str, tuple[tuple[int, bool], ...]] = (0, "open", ())


@st.composite
def worlds(draw: st.DrawFn) -> World:
    n_members, n_people = draw(st.integers(2, 4)), draw(st.integers(1, 4))
    teams = tuple(draw(st.sampled_from(TEAMS)) for _ in range(n_members))
    roles = tuple(draw(st.sampled_from(ROLES)) for _ in range(n_members))
    orgs = tuple(draw(st.sampled_from((0, 1, None))) for _ in range(n_people))
    levels = tuple(draw(st.sampled_from(PERSON_LEVELS)) for _ in range(n_people))
    pairs = draw(st.sets(st.tuples(st.integers(0, n_members - 1), st.integers(0, n_people - 1))))
    rels = tuple(
        (mi, pi, draw(st.sampled_from(SHARES)), draw(st.booleans()),
         draw(st.one_of(st.none(), st.integers(1, 5))))
        for mi, pi in sorted(pairs)
    )  # fmt: skip
    sharing = Sharing(
        default=draw(st.sampled_from(("private", "discoverable", "shared"))),
        scope=draw(st.sampled_from(("team", "company"))),
        pilot_teams=draw(st.sampled_from(([], ["red"], ["red", "blue"]))),
    )
    noms = draw(st.sets(st.integers(0, len(rels) - 1))) if rels else set()
    campaign = (draw(st.integers(0, n_members - 1)), draw(st.sampled_from(CAMPAIGN_ENDS)),
                tuple((i, draw(st.booleans())) for i in sorted(noms)))  # fmt: skip
    return World(teams, roles, orgs, levels, rels, sharing, campaign)


@dataclass
class Served:
    folder: Path
    base_url: str


@pytest.fixture(scope="module")
def app_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("webprivacy")
    (folder / "secret").write_text("not-used-here\n", encoding="utf-8")
    engine = make_engine(f"sqlite:///{folder / 'carnet.db'}")
    upgrade(engine)
    engine.dispose()
    yield Served(folder, f"http://127.0.0.1:{free_port()}")


def write_config(folder: Path, base_url: str, sharing: Sharing) -> Path:
    path = w.write_config(folder, sharing)
    with path.open("a", encoding="utf-8") as out:
        out.write(
            "web:\n  oidc:\n    issuer: https://idp.invalid\n    client_id: carnet\n"
            f"    client_secret_file: secret\n  base_url: {base_url}\n"
        )
    return path


@dataclass
class Filled:
    members: list[Any]
    rels: list[Any]
    orgs: list[int]  # ids
    people_org: dict[int, int | None]  # person id -> org id
    queries: list[str]
    cookies: dict[str, str]  # member email -> session cookie
    campaign: int = 0
    nominated: tuple[Any, ...] = ()  # the relationships nominated to it


def fill(folder: Path, world: World) -> Filled:
    """The world in the store, each member signed in with their roles, this week's network
    snapshot taken (so the managers' trend has a stored week)."""
    engine = make_engine(f"sqlite:///{folder / 'carnet.db'}")
    try:
        with session_factory(engine)() as s, s.begin():
            for table in reversed(Base.metadata.sorted_tables):
                s.execute(delete(table))
        with session_factory(engine)() as s:
            members = [w.member(s, f"m{i}@us.example", t, f"Member{i}")
                       for i, t in enumerate(world.teams)]  # fmt: skip
            orgs = [w.org(s, f"Org{i}", (f"org{i}.example",)) for i in range(2)]
            people = [w.person(s, f"p{i}@org.example", orgs[o] if o is not None else None, f"P{i}")
                      for i, o in enumerate(world.orgs)]  # fmt: skip
            for person, level in zip(people, world.levels, strict=True):
                person.level = level
            rels = [w.rel(s, members[mi], people[pi], rating=r, share=sh, exclusive=ex)
                    for mi, pi, sh, ex, r in world.rels]  # fmt: skip
            for rel in rels:
                rel.notes = f"note{rel.id}zz"
            cookies = {m.email: open_session(s, m, set(world.roles[i]), 1)
                       for i, m in enumerate(members)}  # fmt: skip
            take_snapshot(s, world.sharing)
            campaign, nominated = make_campaign(s, world, members, rels)
            s.commit()
            queries = [*(f"p{i}@org.example" for i in range(len(people))), "Org0", "org1.example"]
            return Filled(members, rels, [o.id for o in orgs], {p.id: p.org_id for p in people},
                          queries, cookies, campaign, nominated)  # fmt: skip
    finally:
        engine.dispose()


def make_campaign(s: Any, world: World, members: list[Any], rels: list[Any]) -> tuple[int, Any]:
    """The world's campaign, through the service: its owner opens it, the holders nominate the
    drawn relationships (a note each), the owner accepts some, then moves it to the drawn state."""
    owner_i, state, noms = world.campaign
    owner, nominated = members[owner_i], []
    cid = campaigns.create_campaign(s, owner, name="Gala", capacity=20)["id"]
    campaigns.set_state(s, cid, owner, "open")
    for i, accept in noms:
        holder, email = members[world.rels[i][0]], f"p{world.rels[i][1]}@org.example"
        try:
            made = campaigns.nominate(s, cid, holder, email, world.sharing, f"plea{rels[i].id}qq")
        except UsageError:  # a colleague the holder can see holds them exclusively
            continue
        nominated.append(rels[i])
        if accept:
            campaigns.decide(s, cid, made["id"], owner, True)
    for target in CAMPAIGN_ENDS[1 : CAMPAIGN_ENDS.index(state) + 1]:
        campaigns.set_state(s, cid, owner, target)
    return cid, tuple(nominated)


def answers(
    base_url: str, cookie: str, filled: Filled, roles: frozenset[str]
) -> tuple[dict[str, str], dict[str, Any]]:
    """Every page (HTML, or the exported file) and every API answer the member can reach, by
    path; the role-gated ones answer 403 to a member without the role."""
    c = Client(base_url)
    c.cookies.set("carnet_session", cookie)
    plans = [f"/plans/{o}" for o in filled.orgs]
    pages = [
        "/network",
        "/intros",
        *[f"/who-knows?q={q}" for q in filled.queries],
        *plans,
        *[f"{p}/plan.{f}" for p in plans for f in EXPORTS],
        "/credits",
        "/plans?q=Org1",
        "/campaigns",
        f"/campaigns/{filled.campaign}",
    ]
    gated = {
        "/team": "manager",
        "/admin": "admin",
        "/admin/audit": "admin",
        "/admin/members": "admin",
        "/admin/mappings": "admin",
    }
    apis = [
        "/api/v1/network",
        "/api/v1/intros",
        "/api/v1/audit",
        "/api/v1/me",
        *[f"/api/v1/who-knows?q={q}" for q in filled.queries],
        *[f"/api/v1{p}" for p in plans],
        "/api/v1/credits",
        *[f"/api/v1{p}/export/{f}" for p in plans for f in EXPORTS],
        "/api/v1/campaigns",
        f"/api/v1/campaigns/{filled.campaign}",
    ]
    api_gated = {"/api/v1/team/network": "manager", "/api/v1/admin/audit": "admin",
                 "/api/v1/admin/members": "admin", "/api/v1/admin/status": "admin"}  # fmt: skip
    html: dict[str, str] = {}
    for p in [*pages, *gated]:
        resp = c.get(p, follow_redirects=True)
        want = 200 if gated.get(p) in (None, *roles) else 403
        assert resp.status_code == want, (p, resp.status_code)
        html[p] = resp.text
    docs: dict[str, Any] = {}
    for p in [*apis, *api_gated]:
        resp = c.get(p)
        want = (200, 400) if api_gated.get(p) in (None, *roles) else (403,)  # 400: no such org
        assert resp.status_code in want, (p, resp.status_code)
        ok = resp.headers["content-type"].startswith("application/json")
        docs[p] = resp.json() if ok else resp.text
    return html, docs


def rel_ids_in(doc: Any) -> set[int]:
    found: set[int] = set()
    if isinstance(doc, dict):
        if "relationship_id" in doc and doc["relationship_id"] is not None:
            found.add(int(doc["relationship_id"]))
        for key, value in doc.items():
            if key == "relationships" and isinstance(value, list):
                found |= {int(r["id"]) for r in value if isinstance(r, dict) and "id" in r}
            found |= rel_ids_in(value)
    elif isinstance(doc, list):
        for item in doc:
            found |= rel_ids_in(item)
    return found


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(world=worlds())
def test_no_page_or_api_answer_shows_a_hidden_relationship(app_folder: Served, world: World):
    config = write_config(app_folder.folder, app_folder.base_url, world.sharing)
    filled = fill(app_folder.folder, world)
    members, rels = filled.members, filled.rels
    by_id = {m.id: m for m in members}
    with served(config, app_folder.base_url):
        for i, viewer in enumerate(members):
            hidden = {r.id for r in rels
                      if visibility(by_id[r.member_id], r, viewer, world.sharing)
                      == Visibility.HIDDEN}  # fmt: skip
            owner_i, state, _ = world.campaign
            if viewer is members[owner_i] and state == "open":  # the campaign rule discloses
                hidden -= {r.id for r in filled.nominated}
            html, docs = answers(app_folder.base_url, filled.cookies[viewer.email], filled,
                                 world.roles[i])  # fmt: skip
            shown = {
                int(i)
                for page in html.values()
                for i in re.findall(r'data-rel="([\d ]+)"', page)
                for i in i.split()
            }
            shown |= rel_ids_in(list(docs.values()))  # fmt: skip
            assert not shown & hidden, (viewer.email, shown & hidden)
            text = "\n".join(html.values()) + json.dumps(docs)
            assert not [r for r in hidden if f"note{r}zz" in text]
            assert not [r.id for r in filled.nominated
                        if f"plea{r.id}qq" in text and r.member_id != viewer.id
                        and (viewer is not members[owner_i] or r.id in hidden)]  # fmt: skip
            mine = rel_ids_in(docs["/api/v1/network"])
            mine |= {int(i) for i in re.findall(r'data-rel="(\d+)"', html["/network"])}
            assert mine == {r.id for r in rels if r.member_id == viewer.id}
            for org in filled.orgs:
                check_plan(filled, world.sharing, viewer, org, html, docs)
            if "manager" in world.roles[i]:
                check_team(filled, world.sharing, viewer, docs["/api/v1/team/network"])


def visible_pairs(filled: Filled, sharing: Sharing, viewer: Any, org: int) -> set[tuple[int, str]]:
    """(person id, member email) of the relationships at `org` the viewer may see."""
    by_id = {m.id: m for m in filled.members}
    at_org = [r for r in filled.rels if filled.people_org[r.person_id] == org]
    return {
        (r.person_id, by_id[r.member_id].email)
        for r in at_org
        if visibility(by_id[r.member_id], r, viewer, sharing) != Visibility.HIDDEN
    }


def check_plan(filled: Filled, sharing: Sharing, viewer: Any, org: int,
               html: dict[str, str], docs: dict[str, Any]) -> None:  # fmt: skip
    """The plan names exactly the visible (person, member) pairs, in the API, on the page; and no
    colleague whose ties at the account are all hidden appears on the page, the map or a file."""
    pairs = visible_pairs(filled, sharing, viewer, org)
    for doc in (
        docs[f"/api/v1/plans/{org}"],
        json.loads(html[f"/plans/{org}/plan.json"]),
        docs[f"/api/v1/plans/{org}/export/json"],
    ):
        shown = {
            (s["id"], k["member"]["email"]) for s in doc["stakeholders"] for k in s["known_by"]
        }
        assert shown == pairs, (viewer.email, org, shown ^ pairs)
    page = html[f"/plans/{org}"]
    on_page = {(int(p), e) for p, e in re.findall(r'data-knows="(\d+):([^"]+)"', page)}
    assert on_page == pairs, (viewer.email, org, on_page ^ pairs)
    seen_members = {e for _, e in pairs}
    absent = [m.name for m in filled.members
              if m.id != viewer.id and m.email not in seen_members]  # fmt: skip
    files = [
        page,
        *(html[f"/plans/{org}/plan.{f}"] for f in EXPORTS),
        *(docs[f"/api/v1/plans/{org}/export/{f}"] for f in ("md", "html", "svg")),
    ]
    for text in files:
        assert not [n for n in absent if n in text], (viewer.email, org, absent)


def check_team(filled: Filled, sharing: Sharing, viewer: Any, doc: dict[str, Any]) -> None:
    """Each colleague's figures count what the manager may see; the team's (now, and the week
    stored by the snapshot) what a teammate holding none of them may see."""
    by_id = {m.id: m for m in filled.members}
    if viewer.team is None:
        assert doc["team"] is None and doc["members"] == []
        return
    for fig in doc["members"]:
        holder = next(m for m in filled.members if m.email == fig["member"]["email"])
        seen = [r for r in filled.rels if r.member_id == holder.id
                and visibility(holder, r, viewer, sharing) != Visibility.HIDDEN]  # fmt: skip
        assert fig["network_size"] == len(seen), (viewer.email, holder.email)
    mate = TeamReader(-1, viewer.team)
    team = [r for r in filled.rels if by_id[r.member_id].team == viewer.team
            and visibility(by_id[r.member_id], r, mate, sharing) != Visibility.HIDDEN]  # fmt: skip
    stored, live = doc["trend"][0], doc["trend"][-1]
    assert not stored["live"] and live["live"]
    assert stored["relationships"] == live["relationships"] == len(team)
