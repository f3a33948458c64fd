"""Network quality for a team, and its weekly snapshot: the figures a manager reads (coverage of
the accounts the team works, single-threaded accounts, relationships by strength) and their trend.

A team's figures count what the team shares with itself: the relationships a colleague in the
team who holds none of them may see, through the one visibility rule (`TeamReader`). So no private
relationship, and nothing still in its grace period, counts in any of them, and this week's figures
and the stored weeks count the same things. Per account the figures are `carnet network`'s
(connector/plans/network.py), as that colleague sees the account.

`take_snapshot` stores one row per team and one per account the team works, once per ISO week
(a second call in the same week changes nothing); `carnet run` calls `take_weekly_snapshot` after
each scheduled sync.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from connector.core.config import Sharing
from connector.governance.hierarchy import has_reports, hierarchy_managers, hierarchy_team
from connector.governance.reach import people_in
from connector.governance.visibility import VisibleRel, visible_relationships
from connector.plans.network import accounts_report, members_report
from connector.store.app import App
from connector.store.db import transaction
from connector.store.models import Member, Org, Person, Relationship, utcnow
from connector.store.models_snapshot import TEAM_SCOPE, NetworkSnapshot

NOBODY = -1  # no member has this id, so the team reader holds no relationship
TREND_WEEKS = 12
SHOWN_ACCOUNTS = 25  # the riskiest accounts listed on the manager's page
COUNTS = (
    "accounts",
    "single_threaded_accounts",
    "people",
    "known",
    "key",
    "key_known",
    "key_known_strong",
    "single_threaded",
    "relationships",
)


class TeamReader(NamedTuple):
    """A colleague in `team` holding no relationship: the viewer whose view is what the team's
    members share with their team (the rule hides private ones from everyone but the holder)."""

    id: int
    team: str | None


class TeamScope(NamedTuple):
    """Whose relationships make a team's figures and who reads them: a team named by
    `member.team` (`holders` None: its members), or a manager and their reports in the CRM's
    hierarchy, read as a colleague of the manager's own team holding none (`TeamReader`): so
    the figures count nothing the manager could not see through the one rule anyway."""

    key: str  # the snapshot rows' team: the team's name, or "reports:<manager's member id>"
    reader_team: str | None
    holders: tuple[int, ...] | None = None


def hierarchy_scope(session: Session, manager: Member) -> TeamScope:
    ids = tuple(m.id for m in hierarchy_team(session, manager))
    return TeamScope(f"reports:{manager.id}", manager.team, ids)


def iso_week(at: datetime) -> str:
    year, week, _ = at.astimezone(UTC).isocalendar()
    return f"{year}-W{week:02d}"


def teams(session: Session) -> list[str]:
    """The teams of the active members."""
    q = select(Member.team).where(Member.active, Member.team.is_not(None)).distinct()
    return sorted(str(t) for t in session.scalars(q))


def strength_counts(rels: list[VisibleRel]) -> dict[str, int]:
    counts = {str(n): 0 for n in range(1, 6)} | {"none": 0}
    for v in rels:
        counts[str(v.strength) if v.strength else "none"] += 1
    return counts


def _worked_orgs(session: Session, own: list[VisibleRel]) -> list[Org]:
    """The live accounts of the people the team's members visibly know."""
    ids = sorted({v.person_id for v in own})
    org_ids: set[int] = set()
    for i in range(0, len(ids), 500):
        q = select(Person.org_id).where(Person.id.in_(ids[i : i + 500]), Person.org_id.is_not(None))
        org_ids.update(o for o in session.scalars(q.distinct()) if o is not None)
    live = select(Org).where(
        Org.id.in_(sorted(org_ids)), Org.deleted_at.is_(None), Org.merged_into_id.is_(None)
    )
    return list(session.scalars(live.order_by(Org.name, Org.id))) if org_ids else []


def _org_of(session: Session, org_ids: list[int]) -> dict[int, int]:
    if not org_ids:
        return {}
    q = select(Person.id, Person.org_id).where(Person.org_id.in_(org_ids))
    return {pid: oid for pid, oid in session.execute(q) if oid is not None}


def team_figures(
    session: Session, sharing: Sharing, team: str | TeamScope, now: datetime | None = None
) -> dict[str, Any]:
    """The team's figures and one entry per account it works, as its `TeamReader` sees them."""
    scope = team if isinstance(team, TeamScope) else TeamScope(team, team)
    reader = TeamReader(NOBODY, scope.reader_team)
    rel, holder = aliased(Relationship), aliased(Member)  # aliases: a subquery of its own
    held = select(rel.person_id).join(holder, holder.id == rel.member_id)
    if scope.holders is None:
        held = held.where(holder.team == scope.reader_team)
    else:
        held = held.where(holder.id.in_(scope.holders))
    seen = visible_relationships(session, reader, sharing, held, now)
    if scope.holders is None:
        own = [v for v in seen if v.member_team == scope.reader_team]
    else:
        holders = set(scope.holders)
        own = [v for v in seen if v.member_id in holders]
    orgs = _worked_orgs(session, own)
    org_ids = [o.id for o in orgs]
    people = people_in(org_ids, Person.id)
    rels = visible_relationships(session, reader, sharing, people, now) if orgs else []
    at_org: dict[int, list[VisibleRel]] = {o: [] for o in org_ids}
    org_of = _org_of(session, org_ids)
    for v in rels:
        at_org[org_of[v.person_id]].append(v)
    accounts = [
        _account_figures(a, at_org[a["org"]["id"]])
        for a in accounts_report(session, reader, sharing, orgs, rels)
    ]
    figures = {k: sum(a[k] for a in accounts) for k in COUNTS if k != "relationships"}
    figures |= {"relationships": len(own), "strength": strength_counts(own)}
    return {"team": scope.key, "figures": with_shares(figures), "accounts": accounts}


def _account_figures(report: dict[str, Any], rels: list[VisibleRel]) -> dict[str, Any]:
    single = len(report["single_threaded"])
    return with_shares(
        {
            "org": report["org"],
            "accounts": 1,
            "single_threaded_accounts": 1 if single else 0,
            "people": report["people"],
            "known": report["known"],
            "key": report["key"],
            "key_known": report["key_known"],
            "key_known_strong": report["key_known_strong"],
            "single_threaded": single,
            "single_threaded_people": report["single_threaded"],
            "relationships": len(rels),
            "strength": strength_counts(rels),
        }
    )


def with_shares(figures: dict[str, Any]) -> dict[str, Any]:
    """Adds the shares a reader compares week to week: people known, key people known well."""
    people, key = figures["people"], figures["key"]
    return figures | {
        "known_share": round(figures["known"] / people, 3) if people else None,
        "key_strong_share": round(figures["key_known_strong"] / key, 3) if key else None,
    }


# -- the weekly snapshot -------------------------------------------------------------------------


def take_snapshot(
    session: Session, sharing: Sharing, now: datetime | None = None, hierarchy: bool = False
) -> dict[str, Any]:
    """This ISO week's rows, unless the week has them already (then nothing changes). With
    `hierarchy` (`web.managers: [crm]`), also one team per manager in the CRM's hierarchy."""
    now = now or utcnow()
    week = iso_week(now)
    done = select(func.count()).select_from(NetworkSnapshot).where(NetworkSnapshot.week == week)
    if session.scalar(done):
        return {"week": week, "taken": False, "teams": 0, "rows": 0}
    rows: list[NetworkSnapshot] = []
    names: list[str | TeamScope] = [*teams(session)]
    if hierarchy:
        names += [hierarchy_scope(session, m) for m in hierarchy_managers(session)]
    for scope in names:
        doc = team_figures(session, sharing, scope, now)
        team = doc["team"]
        rows.append(_row(team, TEAM_SCOPE, week, None, now, doc["figures"]))
        rows += [
            _row(team, f"org:{a['org']['id']}", week, a["org"]["id"], now, a)
            for a in doc["accounts"]
        ]
    session.add_all(rows)
    session.flush()
    return {"week": week, "taken": True, "teams": len(names), "rows": len(rows)}


def _row(
    team: str, scope: str, week: str, org_id: int | None, now: datetime, fig: dict[str, Any]
) -> NetworkSnapshot:
    counts = {k: int(fig[k]) for k in COUNTS}
    return NetworkSnapshot(
        team=team,
        scope=scope,
        week=week,
        org_id=org_id,
        taken_at=now,
        strength=dict(fig["strength"]),
        **counts,
    )


def take_weekly_snapshot(app: App, now: datetime | None = None) -> dict[str, Any] | None:
    """`take_snapshot` in a transaction of its own, for the scheduler after a sync; None when
    another worker stored this week's rows at the same moment (the unique key refused ours)."""
    try:
        web = app.config.web
        with transaction(app.sessions) as session:
            return take_snapshot(
                session, app.config.sharing, now, bool(web and web.managers_from_crm)
            )
    except IntegrityError:
        return None


def trend(session: Session, team: str, weeks: int = TREND_WEEKS) -> list[dict[str, Any]]:
    """The team's stored weeks, oldest first (at most `weeks`)."""
    q = (
        select(NetworkSnapshot)
        .where(NetworkSnapshot.team == team, NetworkSnapshot.scope == TEAM_SCOPE)
        .order_by(NetworkSnapshot.week.desc())
        .limit(weeks)
    )
    rows = list(session.scalars(q))[::-1]
    return [
        with_shares(
            {"week": r.week, "live": False, "strength": dict(r.strength)}
            | {k: getattr(r, k) for k in COUNTS}
        )
        for r in rows
    ]


# -- the manager's page --------------------------------------------------------------------------


def team_quality(
    session: Session,
    sharing: Sharing,
    manager: Member,
    now: datetime | None = None,
    hierarchy: bool = False,
) -> dict[str, Any]:
    """Network quality of the manager's team: this week's figures (live), the riskiest accounts,
    each member's network as the manager may see it (`carnet network --member`), the trend.
    With `hierarchy` and reports in the CRM's hierarchy, the team is the manager and their
    reports (`hierarchy_scope`); otherwise the members of the manager's `team`."""
    now = now or utcnow()
    team = manager.team
    if hierarchy and has_reports(session, manager.id):
        scope = hierarchy_scope(session, manager)
        label: str | None = f"{manager.name} and their reports"
        members = hierarchy_team(session, manager)
    elif team is None:
        return {"team": None, "week": iso_week(now), "figures": None, "accounts": [],
                "accounts_total": 0, "members": [], "trend": []}  # fmt: skip
    else:
        scope, label = TeamScope(team, team), team
        q = select(Member).where(Member.active, Member.team == team).order_by(Member.name)
        members = list(session.scalars(q))
    doc = team_figures(session, sharing, scope, now)
    risky = sorted(doc["accounts"], key=_risk)
    live = {"week": iso_week(now), "live": True} | doc["figures"]
    return {
        "team": label,
        "week": iso_week(now),
        "figures": doc["figures"],
        "accounts": risky[:SHOWN_ACCOUNTS],
        "accounts_total": len(risky),
        "members": members_report(session, manager, sharing, members) if members else [],
        "trend": [*trend(session, scope.key), live],
    }


def _risk(a: dict[str, Any]) -> tuple[int, float, str]:
    """Most single-threaded key people first, then the least known well, then by name."""
    share = a["key_strong_share"] if a["key_strong_share"] is not None else 1.0
    return (-a["single_threaded"], share, str(a["org"]["name"]))
