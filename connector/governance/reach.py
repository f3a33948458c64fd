"""Counting what the one visibility rule lets a viewer see of many people, without redacting each
relationship, in the store (the SQL rule, aggregated: only counts and ids leave it): who-knows ranks
an org's people (`ranked_people`; what is shown of a person is read again through
`visible_relationships`); the CRM's account fields count who is known (`known_counts`); a plan
counts coverage and risk over every stakeholder (`reach_in`) and reads and redacts only the ones
it draws (`visible_rows`, `redacted`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Numeric, Select, bindparam, cast, func, or_, select
from sqlalchemy.orm import Session

from connector.core.config import Sharing
from connector.governance.viewers import Viewer, ViewerParams, params_of, prepared
from connector.governance.visibility import HIDDEN, is_viewer_sql, visibility_sql
from connector.store.models import Member, Person, Relationship


def strength_sql() -> ColumnElement[Any]:
    """`effective_strength` in SQL, 0 for none: the rating, else the score rounded (SQL's round
    goes half away from zero, the same as half up on scores, which are never negative)."""
    return func.coalesce(Relationship.rating, func.round(cast(Relationship.score, Numeric)), 0)


def _per_person(
    viewer: Viewer | ViewerParams,
    sharing: Sharing,
    person_ids: Any,
    now: datetime | None,
    *measures: Any,
) -> Select[Any]:
    """Per person of `person_ids` (ids or a subquery of ids) with a relationship `viewer` may
    see at `now`: these aggregates of those relationships (the SQL rule, in the store)."""
    level = visibility_sql(viewer, sharing, now=now)
    ids = person_ids if isinstance(person_ids, Select) else list(person_ids)
    return (
        select(Relationship.person_id, *measures)
        .join(Member, Member.id == Relationship.member_id)
        .where(Relationship.person_id.in_(ids), level > int(HIDDEN))
        .where(or_(Member.active, is_viewer_sql(viewer)))
        .group_by(Relationship.person_id)
    )


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
    q = _per_person(viewer, sharing, person_ids, now, func.max(strength_sql()))
    best = sorted(
        session.connection().execute(q).all(),
        key=lambda r: (-int(r[1] or 0), names.get(r[0], ""), r[0]),
    )
    return [pid for pid, _ in best]


def known_counts(
    session: Session,
    viewer: Viewer,
    sharing: Sharing,
    person_ids: Iterable[int] | Any,
    now: datetime | None = None,
) -> dict[int, int]:
    """Per person of `person_ids` (ids or a subquery of ids) with a relationship `viewer` may
    see at `now`: how many colleagues know them (a member holds at most one relationship with a
    person), counted in the store."""
    q = _per_person(viewer, sharing, person_ids, now, func.count())
    return {pid: int(n) for pid, n in session.connection().execute(q).all()}


class Reach(NamedTuple):
    """What the viewer may see of a person's relationships, without their details."""

    members: int  # colleagues the viewer may see knowing the person
    strength: int | None  # the strongest of those relationships (effective strength)


def live_person() -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """A person neither deleted nor merged away."""
    return (Person.deleted_at.is_(None), Person.merged_into_id.is_(None))


def people_of(org_id: Any, *columns: Any) -> Select[Any]:
    """An account's live people: these columns of them; `org_id` a value or a bind parameter."""
    return select(*columns).where(Person.org_id == org_id, *live_person())


def people_in(org_ids: list[int], *columns: Any) -> Select[Any]:
    """These accounts' live people: these columns of them."""
    return select(*columns).where(Person.org_id.in_(org_ids), *live_person())


def reach_in(
    session: Session, viewer: Viewer, sharing: Sharing, org_id: int, now: datetime
) -> dict[int, Reach]:
    """Per live person of the account with a relationship `viewer` may see at `now`: how many
    colleagues, how strong; counted in the store, as `ranked_people` ranks, so only the counts
    leave it (a member holds at most one relationship with a person: the rows counted are the
    colleagues). What is shown of the people a reader draws is read through `visible_rows` and
    `redacted`."""

    def build(v: ViewerParams) -> Select[Any]:
        people = people_of(bindparam("org_id"), Person.id)
        return _per_person(v, sharing, people, None, func.count(), func.max(strength_sql()))

    q = prepared("reach_in", viewer, sharing, build)
    params = {**params_of(viewer, sharing, now), "org_id": org_id}
    return {
        pid: Reach(int(n), int(best) if best else None)
        for pid, n, best in session.connection().execute(q, params).all()
    }
