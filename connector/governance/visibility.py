"""The ONE visibility rule: who may see which relationship, and how much of it.

Every read path (who-knows, intros, plans, network reports, exports, CRM write-back, audit listings)
goes through `visibility()` or its SQL twin `visibility_sql()`; see docs/governance.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any, NamedTuple, Protocol, cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    and_,
    bindparam,
    case,
    false,
    func,
    literal,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.sqltypes import NullType

from connector.core.config import Sharing
from connector.governance.scoring import round_half_up, strength
from connector.governance.shown import last_interaction, notes_of, strongest_first
from connector.governance.viewers import (
    CrmAudience,
    HolderLike,
    Viewer,
    ViewerParams,
    grace_cutoff,
    is_crm,
    params_of,
    prepared,
)
from connector.store.models import Member, Relationship


class Visibility(IntEnum):
    HIDDEN = 0  # the viewer must not learn that the relationship exists
    DISCOVERABLE = 1  # that the holder knows the person and how well; no notes, details, signals
    FULL = 2  # everything, including notes and the person's contact details


class RelLike(Protocol):
    @property
    def member_id(self) -> int: ...
    @property
    def shareability(self) -> str | None: ...
    @property
    def discovered_at(self) -> datetime | None: ...
    @property
    def chosen_at(self) -> datetime | None: ...


def effective_shareability(shareability: str | None, sharing: Sharing) -> str:
    return shareability or sharing.default


def sharing_on(team: str | None, sharing: Sharing) -> bool:
    """Sharing is on for a holder's team unless a pilot list is set and leaves the team out."""
    return not sharing.pilot_teams or team in sharing.pilot_teams


def waiting(
    discovered_at: datetime | None, chosen_at: datetime | None, cutoff: datetime | None
) -> bool:
    """In its grace period: found by a sync less than `grace_days` ago, not chosen since."""
    return (
        cutoff is not None
        and chosen_at is None
        and discovered_at is not None
        and discovered_at > cutoff
    )


def _cutoff_sql(
    viewer: Viewer | ViewerParams, sharing: Sharing, now: datetime | None
) -> datetime | BindParameter[Any] | None:
    """The grace cutoff a statement compares with: its value, or for ViewerParams the parameter
    `grace_cutoff` (None either way without a grace period)."""
    if isinstance(viewer, ViewerParams):
        return bindparam("grace_cutoff") if sharing.grace_days else None
    return grace_cutoff(sharing, now)


def waiting_sql(rel: Any, cutoff: datetime | BindParameter[Any] | None) -> ColumnElement[bool]:
    """`waiting()` in SQL, NULL-safe (never NULL: a NULL would let a CASE fall through)."""
    if cutoff is None:
        return false()
    return and_(rel.chosen_at.is_(None), rel.discovered_at.is_not(None), rel.discovered_at > cutoff)


def publish_at(discovered_at: datetime, sharing: Sharing) -> datetime:
    """When a waiting relationship takes the default shareability, if its holder says nothing."""
    return discovered_at + timedelta(days=sharing.grace_days)


def visibility(
    holder: HolderLike,
    rel: RelLike,
    viewer: Viewer,
    sharing: Sharing,
    now: datetime | None = None,
) -> Visibility:
    """How much of `rel` (held by `holder`) `viewer` may see at `now` (default: now). The rule,
    in order: the holder sees all; private, a holder outside the pilot teams, or a relationship
    still in its grace period hides it from everyone else; the scope decides who else is in
    reach (team: same team; company: every member; the CRM audience only under company scope);
    within reach, shared is FULL, discoverable DISCOVERABLE."""
    if rel.member_id != holder.id:
        raise ValueError("the holder given is not the relationship's member")
    held = waiting(rel.discovered_at, rel.chosen_at, grace_cutoff(sharing, now))
    return _level(holder.id, holder.team, rel.shareability, held, viewer, sharing)


HIDDEN, DISCOVERABLE, FULL = Visibility.HIDDEN, Visibility.DISCOVERABLE, Visibility.FULL
_LEVELS = (HIDDEN, DISCOVERABLE, FULL)
_NAMES = {level: level.name.lower() for level in _LEVELS}


def _level(
    holder_id: int,
    holder_team: str | None,
    shareability: str | None,
    in_grace: bool,
    viewer: Viewer,
    sharing: Sharing,
) -> Visibility:
    crm = isinstance(viewer, CrmAudience)
    if not crm and viewer.id == holder_id:  # type: ignore[union-attr]
        return FULL
    share = effective_shareability(shareability, sharing)
    if share == "private" or in_grace or not sharing_on(holder_team, sharing):
        return HIDDEN
    if crm:
        in_reach = sharing.scope == "company"
    elif sharing.scope == "team":
        in_reach = holder_team is not None and viewer.team == holder_team  # type: ignore[union-attr]
    else:
        in_reach = True
    if not in_reach:
        return HIDDEN
    return FULL if share == "shared" else DISCOVERABLE


def visibility_sql(
    viewer: Viewer | ViewerParams,
    sharing: Sharing,
    rel: Any = Relationship,
    holder: Any = Member,
    now: datetime | None = None,
) -> ColumnElement[int]:
    """The same rule as `visibility()`, as a SQL expression giving 0, 1 or 2 per row, over the
    relationship `rel` joined to its holder `holder` (either may be an alias), at `now` (for
    ViewerParams: at the cutoff the statement is given)."""
    share = func.coalesce(rel.shareability, literal(sharing.default))
    in_grace = waiting_sql(rel, _cutoff_sql(viewer, sharing, now))
    # NULL-safe throughout: a NULL team must give false, never NULL (NOT NULL is NULL, and a NULL
    # condition would let the CASE fall through to a visible level)
    has_team = holder.team.is_not(None)
    pilot: ColumnElement[bool] = (
        and_(has_team, holder.team.in_(sharing.pilot_teams)) if sharing.pilot_teams else true()
    )
    if is_crm(viewer):
        in_reach: ColumnElement[bool] = true() if sharing.scope == "company" else false()
        is_holder: ColumnElement[bool] = false()
    else:
        member = cast("HolderLike | ViewerParams", viewer)
        is_holder = rel.member_id == member.id
        if sharing.scope == "company":
            in_reach = true()
        elif member.team is None:
            in_reach = false()
        else:
            in_reach = and_(has_team, holder.team == member.team)
    return case(
        (is_holder, int(Visibility.FULL)),
        (or_(share == "private", in_grace, ~pilot, ~in_reach), int(Visibility.HIDDEN)),
        (share == "shared", int(Visibility.FULL)),
        else_=int(Visibility.DISCOVERABLE),
    )


# -- the read path every feature uses ------------------------------------------------------------


class VisibleRel(NamedTuple):
    """One relationship as a viewer may see it; redacted fields are None."""

    id: int
    person_id: int
    member_id: int
    member_name: str
    member_email: str
    member_team: str | None
    level: Visibility
    yours: bool
    strength: int | None
    rating: int | None
    score: int | None
    disagreement: bool
    shareability: str
    exclusive: bool
    last_interaction_at: datetime | None  # FULL only (it comes from the signals)
    notes: str | None  # FULL only

    def to_json(self) -> dict[str, Any]:
        at = self.last_interaction_at
        return {
            "relationship_id": self.id,
            "member": {
                "name": self.member_name,
                "email": self.member_email,
                "team": self.member_team,
            },
            "yours": self.yours,
            "visibility": _NAMES[self.level],
            "strength": self.strength,
            "rating": self.rating,
            "score": self.score,
            "disagreement": self.disagreement,
            "shareability": self.shareability,
            "exclusive": self.exclusive,
            "last_interaction_at": at.isoformat() if at else None,
            "notes": self.notes,
        }


class Judged(NamedTuple):
    """`visible_query`'s rows, each with its level as both forms of the rule judge it."""

    rows: Sequence[Any]
    levels: list[Visibility]


def visible_rows(
    session: Session,
    viewer: Viewer,
    sharing: Sharing,
    person_ids: Iterable[int] | Any | None = None,
    now: datetime | None = None,
    holder_id: int | None = None,
) -> Judged:
    """The relationships `viewer` may see (of the given people: ids or a subquery of ids; of one
    holder's, with `holder_id`), read once and judged: SQL filters with `visibility_sql`, each
    row is then checked with `visibility()`, so the two forms of the rule guard each other. A
    reader that counts many and shows a few counts in the store (`reach.reach_in`) and reads and
    redacts here only the ones it shows (`redacted`)."""
    now = now or datetime.now(UTC)
    some, held = person_ids is not None, holder_id is not None
    params = params_of(viewer, sharing, now) | ({"holder_id": holder_id} if held else {})
    if isinstance(person_ids, Select):  # a subquery: a statement of its own, with its values
        q: Any = visible_query(viewer, sharing, person_ids, now)
        if held:
            q = q.where(Relationship.member_id == bindparam("holder_id"))
    else:
        if some:
            params["people"] = list(person_ids)  # type: ignore[arg-type]

        def build(v: ViewerParams) -> Any:
            people: Any = bindparam("people", expanding=True) if some else None
            q = visible_query(v, sharing, people, None)
            return q.where(Relationship.member_id == bindparam("holder_id")) if held else q

        q = prepared(f"visible_rows {some} {held}", viewer, sharing, build)
    rows = session.connection().execute(q, params).all()
    return Judged(rows, judged(rows, viewer, sharing))


def visible_relationships(
    session: Session,
    viewer: Viewer,
    sharing: Sharing,
    person_ids: Iterable[int] | Any | None = None,
    now: datetime | None = None,
    holder_id: int | None = None,
    notes: bool = True,
) -> list[VisibleRel]:
    """Every relationship `viewer` may see (see `visible_rows`), redacted to its level,
    strongest first. `notes=False`: for a reader that does not show them (left None, and not
    read)."""
    seen = visible_rows(session, viewer, sharing, person_ids, now, holder_id)
    return redacted(session, seen, viewer, sharing, notes=notes)


def redacted(
    session: Session,
    seen: Judged,
    viewer: Viewer,
    sharing: Sharing,
    notes: bool = True,
) -> list[VisibleRel]:
    """The rows of `seen` above HIDDEN, redacted to their level, strongest first; notes (with
    `notes`) read only for the ones seen in full."""
    rows, levels = seen
    viewer_id = None if isinstance(viewer, CrmAudience) else viewer.id
    # notes are read only where they will be shown in full; the last interaction, shown (and
    # sorted on) only there too, comes with the row
    full = [r[0] for r, lv in zip(rows, levels, strict=True) if lv == FULL] if notes else []
    extra = notes_of(session, full)
    when = last_interaction(session)
    strengths: dict[tuple[Any, Any], Any] = {}
    out: list[VisibleRel] = []
    for (rid, pid, mid, share, rating, score, excl, name, email, team, *_, at), lv in zip(
        rows, levels, strict=True
    ):
        if lv == HIDDEN:
            continue
        # a strength depends on the score only through its rounding: a few dozen keys, not a
        # computation per row
        key = (rating, None if score is None else round_half_up(score))
        s = strengths.get(key)
        if s is None:
            s = strengths[key] = strength(*key)
        last, note = (when(at), extra.get(rid)) if lv == FULL else (None, None)
        out.append(
            VisibleRel(rid, pid, mid, name, email, team, lv, mid == viewer_id, s.effective,
                       s.rating, s.score, s.disagreement, share or sharing.default, excl, last,
                       note)
        )  # fmt: skip
    strongest_first(out)
    return out


def judged(rows: Sequence[Any], viewer: Viewer, sharing: Sharing) -> list[Visibility]:
    """The level of each of `visible_query`'s rows. Both forms of the rule must agree (the
    property tests show they do); should they ever not, the stricter one wins. The rule looks at
    a row only through (is the viewer the holder, the holder's team, shareability, waiting, SQL's
    level): memoised on those, it runs once for each combination rather than once per row.
    Whether the row waits (`waiting`) is read with it, by `waiting_sql`."""
    viewer_id = None if isinstance(viewer, CrmAudience) else viewer.id
    rule: dict[tuple[Any, ...], Visibility] = {}
    levels = []
    for r in rows:
        key = (r[2] == viewer_id, r[9], r[3], bool(r[11]), r[10])
        lv = rule.get(key)
        if lv is None:
            lv = rule[key] = min(_level(r[2], r[9], r[3], key[3], viewer, sharing), _LEVELS[r[10]])
        levels.append(lv)
    return levels


def visible_query(
    viewer: Viewer | ViewerParams, sharing: Sharing, person_ids: Any, now: datetime | None
) -> Any:
    """The relationships (of the people, if given) at a level above HIDDEN, with their level and
    their last interaction; only the columns of ix_relationship_who_knows, so the rows come from
    the index alone."""
    level = visibility_sql(viewer, sharing, now=now)
    q = (
        select(
            Relationship.id,
            Relationship.person_id,
            Relationship.member_id,
            Relationship.shareability,
            Relationship.rating,
            Relationship.score,
            Relationship.exclusive,
            Member.name,
            Member.email,
            Member.team,
            level,
            # whether it waits for its holder's choice: a fact of the row, read in the store
            # (no dates to parse); the rule's two forms each judge with it
            waiting_sql(Relationship, _cutoff_sql(viewer, sharing, now)),
            # as the driver gives it: made a datetime (`last_interaction`) only where shown
            type_coerce(Relationship.last_interaction_at, NullType()),
        )
        .join(Member, Member.id == Relationship.member_id)
        .where(level > int(HIDDEN))
        .where(or_(Member.active, is_viewer_sql(viewer)))
    )
    if person_ids is not None:
        keep = isinstance(person_ids, Select | BindParameter)
        q = q.where(Relationship.person_id.in_(person_ids if keep else list(person_ids)))
    return q


def is_viewer_sql(viewer: Viewer | ViewerParams) -> ColumnElement[bool]:
    if is_crm(viewer):
        return false()
    return Member.id == cast("HolderLike | ViewerParams", viewer).id
