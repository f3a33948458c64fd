"""Account plans: the stakeholders of an org with who of ours knows them (through the visibility
rule), coverage by level and country, single-threaded risk, strategy and actions (edits: plan_edit).

The answer is one JSON-ready dict that `render` draws as Markdown, HTML or an SVG map.
Without a viewer it is the CRM audience's view: what may be written into a CRM note.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Select, bindparam, select, text
from sqlalchemy.orm import Session

from connector.core.config import Sharing
from connector.governance.audit import ShownRel, record_shown
from connector.governance.reach import Reach, people_of, reach_in
from connector.governance.viewers import CRM_AUDIENCE, Viewer, ViewerParams, params_of, prepared
from connector.governance.visibility import (
    FULL,
    Visibility,
    VisibleRel,
    judged,
    visibility_sql,
    visible_query,
    visible_relationships,
)
from connector.governance.whoknows import resolve_org
from connector.store.models import (
    HAS_ACTIVITIES,
    LEVELS,
    ContactRole,
    Member,
    Opportunity,
    Org,
    OrgDomain,
    Person,
    Relationship,
)
from connector.store.models_plans import AccountPlan, PlanAction, Stakeholder

KEY_LEVELS = ("c_level", "vp", "director")
STRONG = 3  # "known well": effective strength 3 or more
MAX_ACTIONS = 50


class PersonRow(NamedTuple):
    id: int
    name: str
    title: str | None
    level: str
    country: str | None
    reports_to_id: int | None


def is_key(level: str, stance: str) -> bool:
    """A key stakeholder: director level and above, or anyone with a stance set."""
    return level in KEY_LEVELS or stance != "unknown"


# an account's live people, and its domains: the same statements for every account
_PEOPLE = people_of(
    bindparam("org_id"), Person.id, Person.name, Person.title, Person.level, Person.country,
    Person.reports_to_id,
).order_by(Person.id)  # fmt: skip
_DOMAINS = (
    select(OrgDomain.domain)
    .where(OrgDomain.org_id == bindparam("org_id"))
    .order_by(OrgDomain.domain)
)


def org_people(session: Session, org_id: int) -> list[PersonRow]:
    rows = session.connection().execute(_PEOPLE, {"org_id": org_id}).all()
    return list(map(PersonRow._make, rows))


class Mark(NamedTuple):
    """What a plan says of a stakeholder."""

    stance: str
    influence: int | None
    role: str | None


# the plan's marks and the decision roles on live deals, of an account's people: the same
# statements for every account
_MARKS = (
    select(Stakeholder.person_id, Stakeholder.stance, Stakeholder.influence, Stakeholder.role)
    .join(AccountPlan)
    .where(AccountPlan.org_id == bindparam("org_id"))
)
_DEAL_ROLES = (
    select(ContactRole.person_id, ContactRole.role)
    .join(Opportunity, Opportunity.id == ContactRole.opportunity_id)
    .where(Opportunity.org_id == bindparam("org_id"), Opportunity.deleted_at.is_(None))
    .where(ContactRole.role.is_not(None))
)


def stakeholder_rows(session: Session, org_id: int) -> dict[int, Mark]:
    rows = session.connection().execute(_MARKS, {"org_id": org_id}).all()
    return {pid: Mark(stance, influence, role) for pid, stance, influence, role in rows}


def known_by_person(rels: Iterable[VisibleRel]) -> dict[int, list[VisibleRel]]:
    out: dict[int, list[VisibleRel]] = defaultdict(list)
    for v in rels:
        out[v.person_id].append(v)
    return out


# -- showing -------------------------------------------------------------------------------------


def show_plan(
    session: Session,
    query: str | Org,
    viewer: Member | None,
    sharing: Sharing,
    audit: bool = True,
    detail: Detail | None = None,
) -> dict[str, Any]:
    """`carnet plan show ORG [--as EMAIL]`: the plan as `viewer` (None: the CRM audience) may see
    it (ORG: a query, or the org itself, as the web names it). A member's view is audited like a
    who-knows answer. With `detail`, only the stakeholders it picks carry who knows them (see
    `build_plan`)."""
    org = query if isinstance(query, Org) else resolve_org(session, query)
    doc, shown = build_plan(session, org, viewer or CRM_AUDIENCE, sharing, detail)
    if audit and viewer is not None:
        record_shown(
            session, viewer, "plan show", query if isinstance(query, str) else org.name, shown
        )
        session.flush()
    return doc


# which stakeholders a reader draws in detail, given them all (known_by still empty)
Detail = Callable[[list[dict[str, Any]]], Iterable[int]]


class _Seen(NamedTuple):
    """A relationship the plan showed only through its CRM activities."""

    id: int
    level: Visibility
    yours: bool


def build_plan(
    session: Session, org: Org, viewer: Viewer, sharing: Sharing, detail: Detail | None = None
) -> tuple[dict[str, Any], list[ShownRel]]:
    """The plan and the relationships it shows. Coverage, strength and single-threaded risk count
    every stakeholder's relationships in the store (`reach_in`); who knows a stakeholder is read
    and redacted for every one, or with `detail` only for the ones it picks (a page drawing a few
    of a large account's people)."""
    session.flush()  # what this session changed is read below through its connection
    people = org_people(session, org.id)
    marks = stakeholder_rows(session, org.id)
    roles = _deal_roles(session, org.id)
    in_org = {p.id for p in people}
    now = datetime.now(UTC)
    reach = reach_in(session, viewer, sharing, org.id, now)
    stakeholders = [
        _stakeholder(p, marks.get(p.id), roles.get(p.id, []), reach.get(p.id), in_org)
        for p in people
    ]
    # who knows whom, redacted: for every stakeholder, or only for those `detail` picks
    wanted = sorted(reach if detail is None else set(detail(stakeholders)) & set(reach))
    rels = visible_relationships(session, viewer, sharing, wanted, now, notes=False)  # not shown
    by_person = known_by_person(rels)
    for s in stakeholders:
        s["known_by"] = [_known(v) for v in by_person.get(s["id"], [])]
    names = {p.id: p.name for p in people}
    activities, via = crm_activities(session, org.id, names, viewer, sharing, now)
    plan = session.scalar(select(AccountPlan).where(AccountPlan.org_id == org.id))
    doc = {
        "org": _org_json(session, org),
        "audience": "crm" if viewer is CRM_AUDIENCE else getattr(viewer, "email", None),
        "strategy": plan.strategy if plan else None,
        "objectives": plan.objectives if plan else None,
        "updated_at": plan.updated_at.isoformat() if plan else None,
        "stakeholders": stakeholders,
        "roots": [s["id"] for s in stakeholders if s["reports_to_id"] is None],
        "coverage": coverage(stakeholders),
        "single_threaded": [s["id"] for s in stakeholders if s["single_threaded"]],
        "actions": _merge_actions(_actions(session, plan) if plan else [], activities),
    }
    shown_ids = {v.id for v in rels}
    return doc, [*rels, *(v for v in via if v.id not in shown_ids)]


def _org_json(session: Session, org: Org) -> dict[str, Any]:
    domains = session.connection().execute(_DOMAINS, {"org_id": org.id}).scalars().all()
    return {"id": org.id, "name": org.name, "country": org.country, "domains": list(domains)}


def _deal_roles(session: Session, org_id: int) -> dict[int, list[str]]:
    """Contact roles the org's people hold on the org's live deals: a default decision role."""
    out: dict[int, set[str]] = defaultdict(set)
    for pid, role in session.connection().execute(_DEAL_ROLES, {"org_id": org_id}).all():
        out[pid].add(str(role))
    return {pid: sorted(r) for pid, r in out.items()}


def _stakeholder(
    p: PersonRow,
    mark: Mark | None,
    deal_roles: list[str],
    reach: Reach | None,
    in_org: set[int],
) -> dict[str, Any]:
    stance = mark.stance if mark else "unknown"
    key = is_key(p.level, stance)
    return {
        "id": p.id,
        "name": p.name,
        "title": p.title,
        "level": p.level,
        "country": p.country,
        "reports_to_id": p.reports_to_id if p.reports_to_id in in_org else None,
        "stance": stance,
        "influence": mark.influence if mark else None,
        "role": (mark.role if mark and mark.role else None) or ", ".join(deal_roles) or None,
        "key": key,
        "known": reach.members if reach else 0,  # colleagues the reader may see knowing them
        "strength": reach.strength if reach else None,
        "single_threaded": key and reach is not None and reach.members == 1,
        "known_by": [],
    }


def _known(v: VisibleRel) -> dict[str, Any]:
    return {
        "member": {"name": v.member_name, "email": v.member_email, "team": v.member_team},
        "yours": v.yours,
        "visibility": v.level.name.lower(),
        "strength": v.strength,
    }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def coverage(stakeholders: list[dict[str, Any]]) -> dict[str, Any]:
    """People and people known (by anyone visible), per level and per country; key stakeholders
    known at all and known well (strength >= 3)."""
    by_level: dict[str, list[int]] = {}
    by_country: dict[str | None, list[int]] = {}
    for s in stakeholders:
        known = 1 if s["known"] else 0
        for table, k in ((by_level, s["level"]), (by_country, s["country"])):
            cell = table.setdefault(k, [0, 0])
            cell[0] += 1
            cell[1] += known
    key = [s for s in stakeholders if s["key"]]
    strong = [s for s in key if (s["strength"] or 0) >= STRONG]
    return {
        "people": len(stakeholders),
        "known": sum(1 for s in stakeholders if s["known"]),
        "by_level": [
            {"level": lv, "people": n, "known": k, "share": _share(k, n)}
            for lv in LEVELS
            if lv in by_level
            for n, k in [by_level[lv]]
        ],
        "by_country": [
            {"country": c, "people": n, "known": k, "share": _share(k, n)}
            for c, (n, k) in sorted(by_country.items(), key=lambda i: (i[0] is None, i[0] or ""))
        ],
        "key": len(key),
        "key_known": sum(1 for s in key if s["known"]),
        "key_known_strong": len(strong),
        "key_strong_share": _share(len(strong), len(key)),
    }


def _actions(session: Session, plan: AccountPlan) -> list[dict[str, Any]]:
    q = (
        select(PlanAction, Member.name, Member.email)
        .outerjoin(Member, Member.id == PlanAction.member_id)
        .where(PlanAction.plan_id == plan.id)
        .order_by(PlanAction.at.desc(), PlanAction.id.desc())
        .limit(MAX_ACTIONS)
    )
    return [
        {
            "text": a.text,
            "at": a.at.isoformat(),
            "by": {"name": name, "email": email} if email else None,
            "source": a.source,
        }
        for a, name, email in session.execute(q)
    ]


def activities_query(
    dialect: str,
    people: Select[Any],
    viewer: Viewer | ViewerParams,
    sharing: Sharing,
    now: datetime | None,
) -> Select[Any]:
    """`visible_query`'s rows of `people` (ids) that `viewer` sees in FULL at `now` and that
    hold CRM activities, with their signals last: through the partial index
    ix_relationship_activities, whose predicate (HAS_ACTIVITIES) the query repeats in the
    store's SQL."""
    predicate = HAS_ACTIVITIES.get(dialect)
    return (
        visible_query(viewer, sharing, people, now)
        .add_columns(Relationship.signals)
        .where(
            text(predicate)
            if predicate
            else Relationship.signals["activities"].as_string().is_not(None)
        )
        .where(visibility_sql(viewer, sharing, now=now) == int(Visibility.FULL))
    )


def crm_activities(
    session: Session,
    org_id: int,
    names: dict[int, str],
    viewer: Viewer,
    sharing: Sharing,
    now: datetime,
) -> tuple[list[dict[str, Any]], list[_Seen]]:
    """CRM activities (calls, meetings, emails, tasks ingest keeps in a relationship's signals) with
    the account's live people, as actions: only from the relationships the
    viewer sees in FULL, as both forms of the rule judge them (activity details are not part of a
    discoverable relationship). Found through the partial index of the relationships that hold
    activities. One action per CRM activity; and the relationships they came from, for the
    audit."""
    grouped: dict[tuple[str, str], dict[str, Any]] = {}
    seen: dict[int, _Seen] = {}
    me = getattr(viewer, "id", None)
    dialect = session.get_bind().dialect.name

    def build(v: ViewerParams) -> Select[Any]:
        return activities_query(
            dialect, people_of(bindparam("org_id"), Person.id), v, sharing, None
        )

    q = prepared(f"crm_activities {dialect}", viewer, sharing, build)
    params = {**params_of(viewer, sharing, now), "org_id": org_id}
    rows = session.connection().execute(q, params).all()
    for r, level in zip(rows, judged(rows, viewer, sharing), strict=True):
        if level != FULL:
            continue
        for a in (r.signals or {}).get("activities") or []:
            if not isinstance(a, dict) or not a.get("at") or not a.get("id"):
                continue
            key = (str(a.get("source")), str(a["id"]))
            g = grouped.setdefault(
                key,
                {
                    "kind": a.get("kind") or "task",
                    "at": str(a["at"]),
                    "people": set(),
                    "by": {"name": r.name, "email": r.email},
                },
            )
            g["people"].add(names.get(r.person_id, "?"))
            seen[r.id] = _Seen(r.id, Visibility.FULL, r.member_id == me)
    actions = [
        {
            "text": f"{g['kind']} with {', '.join(sorted(g['people']))}",
            "at": g["at"],
            "by": g["by"],
            "source": source,
        }
        for (source, _), g in grouped.items()
    ]
    return actions, list(seen.values())


def _merge_actions(*lists: list[dict[str, Any]]) -> list[dict[str, Any]]:
    merged = [a for actions in lists for a in actions]
    merged.sort(key=lambda a: a["at"], reverse=True)
    return merged[:MAX_ACTIONS]
