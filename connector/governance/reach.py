"""Counting what the one visibility rule lets a viewer see of many people, without redacting each
relationship: who-knows ranks an org's people in the store (`ranked_people`; what is shown of a
person is read again through `visible_relationships`); a plan reads its account's relationships
once (`visible_rows`), counts coverage and risk over every stakeholder (`reach_of`) and redacts
only those it draws (`redacted`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Numeric, Select, cast, func, or_, select
from sqlalchemy.orm import Session

from connector.core.config import Sharing
from connector.governance.scoring import effective_strength
from connector.governance.visibility import (
    FULL,
    HIDDEN,
    Judged,
    Viewer,
    is_viewer_sql,
    visibility_sql,
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


def reach_of(seen: Judged) -> dict[int, Reach]:
    """Per person with a relationship the viewer may see (of `visible_rows`' rows): how many
    colleagues, how strong, which in full; what `visible_relationships` would give of the same
    rows, counted rather than redacted (coverage, risk, what to draw)."""
    members: dict[int, set[int]] = defaultdict(set)
    best: dict[int, int] = defaultdict(int)
    full: dict[int, list[int]] = defaultdict(list)
    for r, lv in zip(*seen, strict=True):
        if lv == HIDDEN:
            continue
        rid, pid, mid, _, rating, score = r[:6]
        members[pid].add(mid)
        s = effective_strength(rating, score) or 0
        if s > best[pid]:
            best[pid] = s
        if lv == FULL:
            full[pid].append(rid)
    return {
        pid: Reach(len(m), best[pid] or None, tuple(sorted(full.get(pid, ()))))
        for pid, m in members.items()
    }
