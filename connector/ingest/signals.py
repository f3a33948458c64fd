"""Relationships made from what the sources show: address-book entries, contact ownership,
activities and contact roles on a member's own deals, kept in `Relationship.signals` for scoring.

`signals` holds, besides the flags `connector.governance.scoring` reads, the keys of the source
records behind each flag, so removing one record's evidence never removes another's:
    address_book, address_book_entries: ["exchange:contacts:<id>", ...]
    contact_owner, owner_of: ["salesforce:Contact:<id>", ...]
    activities: [{"at", "kind", "source", "id"}, ...] (the newest 50), activity_count
    deal_roles: [{"opportunity_id", "role", "status"}, ...]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from connector.core.config import Scoring
from connector.governance.scoring import scored
from connector.store.bulk import among, bulk_update, insert_ids, rows_at_once
from connector.store.models import ContactRole, Intro, Opportunity, Relationship

MAX_ACTIVITIES = 50
FLAGS = {"address_book": "address_book_entries", "contact_owner": "owner_of"}


def link_key(source: str, obj: str, external_id: str) -> str:
    return f"{source}:{obj}:{external_id}"


# -- pure operations on a signals dict -----------------------------------------------------------


def add_evidence(signals: dict[str, Any], flag: str, key: str) -> bool:
    """Record that the source record `key` shows `flag` (address_book / contact_owner)."""
    keys = signals.get(FLAGS[flag]) or []
    if key in keys:
        return False
    signals[FLAGS[flag]] = sorted([*keys, key])
    signals[flag] = True
    return True


def remove_evidence(signals: dict[str, Any], flag: str, key: str) -> bool:
    keys = signals.get(FLAGS[flag]) or []
    if key not in keys:
        return False
    rest = [k for k in keys if k != key]
    if rest:
        signals[FLAGS[flag]] = rest
    else:
        signals.pop(FLAGS[flag], None)
        signals.pop(flag, None)
    return True


def _activity_order(entry: dict[str, Any]) -> tuple[str, str, str]:
    return (str(entry.get("at") or ""), str(entry.get("source")), str(entry.get("id")))


def put_activity(signals: dict[str, Any], entry: dict[str, Any], new: bool) -> None:
    """Add or replace the activity (source, id); `new` when this relationship did not count it."""
    put_activities(signals, [entry], int(new))


def put_activities(signals: dict[str, Any], entries: list[dict[str, Any]], added: int) -> None:
    """Add or replace several activities (distinct (source, id)s) at once; `added` of them are
    new to this relationship's count."""
    idents = {(e["source"], e["id"]) for e in entries}
    kept = [
        a for a in signals.get("activities") or [] if (a.get("source"), a.get("id")) not in idents
    ]
    kept += entries
    kept.sort(key=_activity_order, reverse=True)
    signals["activities"] = kept[:MAX_ACTIVITIES]
    if added:
        signals["activity_count"] = int(signals.get("activity_count") or 0) + added


def drop_activity(signals: dict[str, Any], source: str, ext_id: str) -> None:
    acts = signals.get("activities") or []
    kept = [a for a in acts if (a.get("source"), a.get("id")) != (source, ext_id)]
    count = max(0, int(signals.get("activity_count") or 0) - 1)
    if kept:
        signals["activities"] = kept
    else:
        signals.pop("activities", None)
    if count:
        signals["activity_count"] = count
    else:
        signals.pop("activity_count", None)
        signals.pop("activities", None)


def combine(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The union of two relationships' signals (a merge); activity_count is the caller's."""
    out: dict[str, Any] = {}
    for flag, keys in FLAGS.items():
        union = sorted(set(a.get(keys) or []) | set(b.get(keys) or []))
        if union:
            out[keys], out[flag] = union, True
    acts = {(x.get("source"), x.get("id")): x for x in (b.get("activities") or [])}
    acts.update({(x.get("source"), x.get("id")): x for x in (a.get("activities") or [])})
    if acts:
        out["activities"] = sorted(acts.values(), key=_activity_order, reverse=True)
        out["activities"] = out["activities"][:MAX_ACTIVITIES]
    roles = {(r.get("opportunity_id"), r.get("role")): r for r in (b.get("deal_roles") or [])}
    roles.update({(r.get("opportunity_id"), r.get("role")): r for r in (a.get("deal_roles") or [])})
    if roles:
        out["deal_roles"] = sorted(
            roles.values(), key=lambda r: (r["opportunity_id"], r["role"] or "")
        )
    return out


def combined_count(a: dict[str, Any], b: dict[str, Any]) -> int:
    """Activities of two merged relationships, those listed on both counted once."""
    ids = {(x.get("source"), x.get("id")) for x in a.get("activities") or []}
    both = sum((x.get("source"), x.get("id")) in ids for x in b.get("activities") or [])
    return int(a.get("activity_count") or 0) + int(b.get("activity_count") or 0) - both


def has_signal(signals: dict[str, Any]) -> bool:
    return bool(
        signals.get("address_book")
        or signals.get("contact_owner")
        or signals.get("activities")
        or signals.get("activity_count")
        or signals.get("deal_roles")
    )


# -- the relationships of one batch --------------------------------------------------------------


@dataclass
class Rel:
    id: int | None
    member_id: int
    person_id: int
    signals: dict[str, Any]
    last_interaction_at: datetime | None = None
    dirty: bool = False


@dataclass
class Rels:
    """The relationships a batch reads and changes, loaded in bulk and written back in bulk. With
    `scoring` (a sync's), each is written with the score of the signals written, and `scored`
    holds their ids: the sync need not re-score them."""

    session: Session
    now: datetime
    scoring: Scoring | None = None
    pairs: dict[tuple[int, int], Rel] = field(default_factory=dict)
    by_id: dict[int, Rel] = field(default_factory=dict)
    people: set[int] = field(default_factory=set)  # whose relationships are all read
    known: set[tuple[int, int]] = field(default_factory=set)  # pairs read (found or not)
    touched: set[int] = field(default_factory=set)
    scored: set[int] = field(default_factory=set)

    def load(
        self,
        person_ids: Iterable[int] = (),
        rel_ids: Iterable[int] = (),
        pairs: Iterable[tuple[int, int]] = (),
    ) -> None:
        """Read relationships: every one of these people, these ids, these (member, person)."""
        people = set(person_ids) - self.people
        ids = set(rel_ids) - set(self.by_id)
        wanted = {p for p in pairs if p not in self.pairs and p[1] not in self.people}
        if people:
            self._read(among(self.session, Relationship.person_id, people))
            self.people |= people
        if ids:
            self._read(among(self.session, Relationship.id, ids))
        if wanted:  # by person (indexed), then the signals of the wanted pairs only
            cols = (Relationship.id, Relationship.member_id, Relationship.person_id)
            where = among(self.session, Relationship.person_id, {p for _, p in wanted})
            found = [
                i for i, mid, pid in rows_at_once(self.session, cols, where) if (mid, pid) in wanted
            ]
            if found:
                self._read(among(self.session, Relationship.id, found))
            self.known |= wanted

    def _read(self, where: Any) -> None:
        cols = (
            Relationship.id,
            Relationship.member_id,
            Relationship.person_id,
            Relationship.signals,
            Relationship.last_interaction_at,
        )
        for rid, member, person, signals, last in (
            self.session.connection().execute(select(*cols).where(where)).all()
        ):
            if rid not in self.by_id:
                rel = Rel(rid, member, person, dict(signals or {}), last)
                self.pairs[(member, person)] = self.by_id[rid] = rel

    def get(self, member_id: int, person_id: int) -> Rel:
        """The relationship, made (in memory until `flush`) when there is none."""
        pair = (member_id, person_id)
        rel = self.pairs.get(pair)
        if rel is None:
            if person_id not in self.people and pair not in self.known:
                self.load(pairs=[pair])
                rel = self.pairs.get(pair)
            if rel is None:
                rel = self.pairs[pair] = Rel(None, member_id, person_id, {}, dirty=True)
        return rel

    def changed(self, rel: Rel, at: str | None = None) -> None:
        """Mark it for writing; `at`, an activity's ISO time, may be its latest interaction."""
        rel.dirty = True
        if at:
            last = datetime.fromisoformat(at)
            if rel.last_interaction_at is None or last > rel.last_interaction_at:
                rel.last_interaction_at = last

    def flush(self) -> None:
        """Insert the new relationships that hold a signal, update the changed ones, delete the
        ones no signal, rating, note or introduction keeps any more."""
        new = [r for r in self.pairs.values() if r.id is None and has_signal(r.signals)]
        if new:
            ids = insert_ids(self.session, Relationship, [self._row(r, True) for r in new])
            for rel, rid in zip(new, ids, strict=True):
                rel.id, rel.dirty = rid, False
                self.by_id[rid] = rel
        dirty = [r for r in self.pairs.values() if r.id is not None and r.dirty]
        if dirty:
            bulk_update(self.session, Relationship, [self._row(r) for r in dirty])
        for rel in (*new, *dirty):
            rel.dirty = False
            assert rel.id is not None
            self.touched.add(rel.id)
            if self.scoring is not None:
                self.scored.add(rel.id)
        prune(self.session, [r.id for r in dirty if r.id is not None and not has_signal(r.signals)])

    def _row(self, rel: Rel, created: bool = False) -> dict[str, Any]:
        row: dict[str, Any] = {
            "signals": rel.signals,
            "is_owner": bool(rel.signals.get("contact_owner")),
            "last_interaction_at": rel.last_interaction_at,
            "updated_at": self.now,
        }
        if self.scoring is not None:
            score, last = scored(rel.signals, rel.last_interaction_at, self.scoring, self.now)
            rel.last_interaction_at = last
            row.update(score=score, last_interaction_at=last)
        if created:  # a sync discovered it: it waits for its holder's choice (grace period)
            row.update(member_id=rel.member_id, person_id=rel.person_id, created_at=self.now)
            row["discovered_at"] = self.now
        else:
            row["id"] = rel.id
        return row


def prune(session: Session, rel_ids: list[int]) -> None:
    """Delete those of these relationships that nothing keeps: no signal (checked by the caller),
    no rating, no notes, no introduction brokered through them."""
    if not rel_ids:
        return
    rows = (
        session.connection()
        .execute(
            select(Relationship.id, Relationship.member_id, Relationship.person_id).where(
                Relationship.id.in_(sorted(rel_ids)),
                Relationship.rating.is_(None),
                Relationship.notes.is_(None),
            )
        )
        .all()
    )
    if not rows:
        return
    kept = set(
        session.connection()
        .execute(
            select(Intro.broker_id, Intro.person_id).where(
                Intro.person_id.in_({r.person_id for r in rows})
            )
        )
        .all()
    )
    gone = [r.id for r in rows if (r.member_id, r.person_id) not in kept]
    if gone:
        session.execute(delete(Relationship).where(Relationship.id.in_(gone)))


def refresh_deal_roles(rels: Rels, person_ids: Iterable[int]) -> None:
    """Set deal_roles on every relationship of these people from the contact roles on live deals,
    each on the relationship of the deal's owner (made when missing)."""
    people = sorted(set(person_ids))
    if not people:
        return
    rels.load(people)
    wanted: dict[tuple[int, int], list[dict[str, Any]]] = {}
    rows = (
        rels.session.connection()
        .execute(
            select(
                ContactRole.person_id,
                Opportunity.owner_id,
                Opportunity.id,
                ContactRole.role,
                Opportunity.status,
            )
            .join(Opportunity, Opportunity.id == ContactRole.opportunity_id)
            .where(
                ContactRole.person_id.in_(people),
                Opportunity.deleted_at.is_(None),
                Opportunity.owner_id.is_not(None),
            )
        )
        .all()
    )
    for person_id, owner_id, opp_id, role, status in rows:
        if owner_id is None:
            continue
        entry = {"opportunity_id": str(opp_id), "role": role, "status": status}
        wanted.setdefault((owner_id, person_id), []).append(entry)
    for rel in list(rels.pairs.values()):
        stale = rel.person_id in people and (rel.member_id, rel.person_id) not in wanted
        if stale and rel.signals.pop("deal_roles", None) is not None:
            rels.changed(rel)
    for (member_id, person_id), roles in wanted.items():
        roles.sort(key=lambda r: (int(r["opportunity_id"]), r["role"] or ""))
        rel = rels.get(member_id, person_id)
        if rel.signals.get("deal_roles") != roles:
            rel.signals["deal_roles"] = roles
            rels.changed(rel)
