"""Counting what the one visibility rule lets a viewer see of many people, without reading each
relationship in detail: who-knows ranks an org's people in the store (`ranked_people`); a plan
counts coverage and risk over every stakeholder and reads in detail only those it draws
(`visible_reach`). What is shown of a person is read again through `visible_relationships`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Numeric, Select, cast, func, or_, select
from sqlalchemy.orm import Session

from connector.core.config import Sharing
from connector.governance.scoring import strength
from connector.governance.visibility import (
    FULL,
    HIDDEN,
    Viewer,
    is_viewer_sql,
    judged,
    visibility_sql,
    visible_query,
)
from connector.store.models import Member, Relationship


def ranked_people(
    session: Session,
    viewer: Viewer,
    sharing: Sharing,
    person_ids: Iterable[int] | Any,
    names: Mapping[int, str],
    now: datetime | None = None,
) -> list[int]:
    """The people (of `person_ids`, whose `names` the caller has) with at least one relationship
    `viewer` may see, strongest first, then by name: the same SQL rule, aggregated in the store.
    Only ids leave it; what is shown of each person is read again through
    `visible_relationships`."""
    level = visibility_sql(viewer, sharing, now=now)
    strength_sql = func.coalesce(
        Relationship.rating, func.round(cast(Relationship.score, Numeric)), 0
    )
    ids = person_ids if isinstance(person_ids, Select) else list(person_ids)
    q = (
        select(Relationship.person_id, func.max(strength_sql))
        .join(Member, Member.id == Relationship.member_id)
        .where(Relationship.person_id.in_(ids), level > int(HIDDEN))
        .where(or_(Member.active, is_viewer_sql(viewer)))
        .group_by(Relationship.person_id)
    )
    best = sorted(
        session.connection().execute(q), key=lambda r: (-int(r[1] or 0), names.get(r[0], ""), r[0])
    )
    return [pid for pid, _ in best]


class Reach(NamedTuple):
    """What the viewer may see of a person's relationships, without their details."""

    members: int  # colleagues the viewer may see knowing the person
    strength: int | None  # the strongest of those relationships (effective strength)
    full: tuple[int, ...]  # the ids of those the viewer sees in full


def visible_reach(
    session: Session,
    viewer: Viewer,
    sharing: Sharing,
    person_ids: Iterable[int] | Any,
    now: datetime | None = None,
) -> dict[int, Reach]:
    """Per person (of `person_ids`) with a relationship `viewer` may see: how many colleagues,
    how strong, which in full — the rows `visible_relationships` would give, judged by the same
    two forms of the rule, counted rather than read in detail (coverage, risk, what to draw)."""
    now = now or datetime.now(UTC)
    q = visible_query(viewer, sharing, person_ids, now, last=False)
    rows = session.connection().execute(q).all()
    members: dict[int, set[int]] = {}
    best: dict[int, int] = {}
    full: dict[int, list[int]] = {}
    for r, lv in zip(rows, judged(rows, viewer, sharing), strict=True):
        if lv == HIDDEN:
            continue
        pid = r[1]
        members.setdefault(pid, set()).add(r[2])
        s = strength(r[4], r[5]).effective or 0
        best[pid] = max(best.get(pid, 0), s)
        if lv == FULL:
            full.setdefault(pid, []).append(r[0])
    return {
        pid: Reach(len(m), best[pid] or None, tuple(sorted(full.get(pid, ()))))
        for pid, m in members.items()
    }
