"""The computed relationship score (1-5) from a relationship's signals, and the effective strength.

The formula and its rationale are in docs/scoring.md; the weights come from `Config.scoring`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.config import Scoring
from connector.store.bulk import bulk_update
from connector.store.models import Relationship, utcnow

ACTIVITY_KINDS = ("call", "email", "meeting", "task")
DEAL_STATUS_FACTOR = {"open": 1.0, "won": 1.0, "lost": 0.5}
DEAL_ROLE_CAP = 2.0  # at most this many deal roles' worth (times the deal_role weight)
DISAGREEMENT = 2  # rating and rounded score this far apart are both shown


@dataclass(frozen=True)
class Activity:
    at: datetime
    kind: str


@dataclass(frozen=True)
class DealRole:
    opportunity_id: str
    role: str | None
    status: str  # open | won | lost


@dataclass(frozen=True)
class Signals:
    """The typed form of `Relationship.signals`, the JSON dict the ingest code fills."""

    address_book: bool = False
    contact_owner: bool = False
    activities: tuple[Activity, ...] = ()
    deal_roles: tuple[DealRole, ...] = field(default=())

    def is_empty(self) -> bool:
        return not (self.address_book or self.contact_owner or self.activities or self.deal_roles)

    def last_activity_at(self) -> datetime | None:
        return max((a.at for a in self.activities), default=None)

    def to_json(self) -> dict[str, Any]:
        return {
            "address_book": self.address_book,
            "contact_owner": self.contact_owner,
            "activities": [{"at": a.at.isoformat(), "kind": a.kind} for a in self.activities],
            "deal_roles": [
                {"opportunity_id": d.opportunity_id, "role": d.role, "status": d.status}
                for d in self.deal_roles
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Signals:
        """Read the stored dict; malformed entries are skipped rather than failing the score."""
        data = data or {}
        return cls(
            address_book=data.get("address_book") is True,
            contact_owner=data.get("contact_owner") is True,
            activities=tuple(_activities(data.get("activities"))),
            deal_roles=tuple(_deal_roles(data.get("deal_roles"))),
        )


def _parse_at(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _activities(items: Any) -> Iterable[Activity]:
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        at = _parse_at(item.get("at"))
        kind = item.get("kind")
        if at is not None and kind in ACTIVITY_KINDS:
            yield Activity(at=at, kind=kind)


def _deal_roles(items: Any) -> Iterable[DealRole]:
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or item.get("opportunity_id") is None:
            continue
        status = item.get("status", "open")
        if status in DEAL_STATUS_FACTOR:
            role = item.get("role")
            yield DealRole(str(item["opportunity_id"]), str(role) if role else None, status)


def compute_score(signals: Signals, scoring: Scoring, now: datetime) -> float | None:
    """1.0-5.0 from the signals, or None when there is no signal at all (no evidence)."""
    if signals.is_empty():
        return None
    raw = scoring.address_book * signals.address_book
    raw += scoring.contact_owner * signals.contact_owner
    decayed = sum(
        0.5 ** (max(0.0, (now - a.at).total_seconds()) / 86400 / scoring.half_life_days)
        for a in signals.activities
    )
    raw += min(scoring.activity_cap, scoring.activity * decayed)
    # one deal counts once, whatever roles the person holds on it
    per_deal: dict[str, float] = {}
    for d in signals.deal_roles:
        per_deal[d.opportunity_id] = max(
            per_deal.get(d.opportunity_id, 0.0), DEAL_STATUS_FACTOR[d.status]
        )
    raw += scoring.deal_role * min(DEAL_ROLE_CAP, sum(per_deal.values()))
    return round(min(5.0, 1.0 + raw), 3)


def round_half_up(value: float) -> int:
    """2.5 -> 3 (Python's round() would give 2)."""
    return math.floor(value + 0.5)


class Strength(NamedTuple):
    effective: int | None  # the rating where there is one, else the rounded score
    rating: int | None
    score: int | None  # rounded
    disagreement: bool  # both exist and differ by DISAGREEMENT or more


def effective_strength(rating: int | None, score: float | None) -> int | None:
    """The rating where there is one, else the rounded score (`strength(...).effective`)."""
    if rating is not None:
        return rating
    return None if score is None else round_half_up(score)


def strength(rating: int | None, score: float | None) -> Strength:
    rounded = None if score is None else round_half_up(score)
    effective = effective_strength(rating, score)
    disagree = rating is not None and rounded is not None and abs(rating - rounded) >= DISAGREEMENT
    return Strength(effective, rating, rounded, disagree)


def recompute_scores(
    session: Session,
    scoring: Scoring,
    now: datetime,
    relationship_ids: Iterable[int] | None = None,
    batch: int = 5000,
) -> int:
    """Recompute `score` (and `last_interaction_at` from the activities) of every relationship, or
    of the given ones, in keyset-paged batches; only changed rows are written, in one executemany
    per batch. Returns how many."""
    wanted = sorted(set(relationship_ids)) if relationship_ids is not None else None
    changed = 0
    last_id, done = 0, 0
    session.flush()  # pending ORM changes first: the batches are read and written in Core
    conn = session.connection()
    while True:
        q = select(
            Relationship.id,
            Relationship.signals,
            Relationship.score,
            Relationship.last_interaction_at,
        ).where(Relationship.id > last_id)
        if wanted is not None:
            chunk = wanted[done : done + batch]
            if not chunk:
                break
            done += len(chunk)
            q = q.where(Relationship.id.in_(chunk))
        rows = conn.execute(q.order_by(Relationship.id).limit(batch)).all()
        if not rows:
            break
        last_id = rows[-1].id
        updates = [u for u in (_score_update(r, scoring, now) for r in rows) if u is not None]
        if updates:
            stamp = utcnow()
            bulk_update(session, Relationship, [u | {"updated_at": stamp} for u in updates])
            changed += len(updates)
    return changed


def scored(
    signals: Mapping[str, Any] | None, last: datetime | None, scoring: Scoring, now: datetime
) -> tuple[float | None, datetime | None]:
    """(score, last interaction) of a relationship with these stored signals: the score now, and
    `last` or the latest activity, whichever is later. What a relationship's row holds once its
    signals are written (ingest scores as it writes) or re-scored (`recompute_scores`)."""
    typed = Signals.from_json(signals)
    latest = typed.last_activity_at()
    if latest is not None and (last is None or latest > last):
        last = latest
    return compute_score(typed, scoring, now), last


def _score_update(row: Any, scoring: Scoring, now: datetime) -> dict[str, Any] | None:
    score, new_last = scored(row.signals, row.last_interaction_at, scoring, now)
    current_last = row.last_interaction_at
    same_score = (score is None and row.score is None) or (
        score is not None and row.score is not None and abs(score - row.score) < 1e-9
    )
    if same_score and new_last == current_last:
        return None
    return {"id": row.id, "score": score, "last_interaction_at": new_last}
