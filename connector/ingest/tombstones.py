"""Deleted and merged-away CRM records: tombstone their links, withdraw the evidence they gave,
retire entities no live link keeps, and merge a loser's person or org into the survivor's.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from connector.core.config import Scoring
from connector.governance.scoring import scored
from connector.ingest.batch import Batch, Link, unlinked
from connector.ingest.deals import activity_pairs
from connector.ingest.signals import (
    Rels,
    combine,
    combined_count,
    drop_activity,
    refresh_deal_roles,
    remove_evidence,
)
from connector.store.models import (
    ContactRole,
    Intro,
    Member,
    Opportunity,
    Org,
    OrgDomain,
    Person,
    PersonEmail,
    Relationship,
    SourceLink,
)
from connector.store.models_plans import AccountPlan, Stakeholder
from mappings.records import MappedRecord

RETIRED: dict[str, Any] = {"person": Person, "org": Org, "opportunity": Opportunity}


def tombstone(batch: Batch, recs: list[MappedRecord]) -> None:
    """Deleted records (and merged-away ones, which also wait for their survivor as a pending
    reference): the link is tombstoned, its evidence withdrawn, its entity retired if orphaned."""
    gone: dict[str, set[int]] = {}
    for rec in recs:
        link = batch.links.get(rec.external_id)
        pending = {"merged_into": [batch.object, rec.merged_into]} if rec.merged_into else None
        if link is None and pending is None:
            continue  # deleted before we ever saw it: nothing to undo, nothing to keep
        if link is not None and link.deleted_at is None:
            withdraw(batch, link)
            gone.setdefault(link.entity, set()).add(link.entity_id or 0)
        entity_id = link.entity_id if link else None
        batch.stage(rec, entity_id, None, pending, deleted=True)
    if gone:
        batch.after.append(partial(_retire_gone, gone=gone))


def withdraw(batch: Batch, link: Link) -> None:
    """Undo what a live link gave: contact ownership, an address-book entry, an activity."""
    key = f"{batch.source}:{batch.object}:{link.external_id}"
    rels, pid = batch.rels, link.entity_id or 0
    if link.entity == "person":
        for name, flag in (("owner", "contact_owner"), ("member", "address_book")):
            if link.applied.get(name):
                rel = rels.get(link.applied[name], pid)
                if remove_evidence(rel.signals, flag, key):
                    rels.changed(rel)
    elif link.entity == "activity":
        for pair in activity_pairs(batch.session, [link.applied])[0]:
            held = rels.get(*pair)
            drop_activity(held.signals, batch.source, link.external_id)
            rels.changed(held)


def _retire_gone(batch: Batch, gone: dict[str, set[int]]) -> None:
    retire(batch.session, batch.rels, gone, batch.now)


def retire(session: Session, rels: Rels, gone: dict[str, set[int]], now: datetime) -> None:
    """Entities whose last live link went: people, orgs and deals get deleted_at, members turn
    inactive, contact roles are deleted; deal signals follow."""
    people: set[int] = set()
    for entity, ids in gone.items():
        dead = sorted(unlinked(session, entity, ids))
        if not dead:
            continue
        if entity in RETIRED:
            model = RETIRED[entity]
            session.execute(
                update(model)
                .where(model.id.in_(dead), model.deleted_at.is_(None))
                .values(deleted_at=now)
            )
        elif entity == "member":
            session.execute(update(Member).where(Member.id.in_(dead)).values(active=False))
        elif entity == "contact_role":
            q = select(ContactRole.person_id).where(ContactRole.id.in_(dead))
            people |= set(session.connection().scalars(q))
            session.execute(delete(ContactRole).where(ContactRole.id.in_(dead)))
        if entity == "opportunity":
            q = select(ContactRole.person_id).where(ContactRole.opportunity_id.in_(dead))
            people |= set(session.connection().scalars(q))
    refresh_deal_roles(rels, people)


# -- merges --------------------------------------------------------------------------------------


def _root(session: Session, model: Any, entity_id: int) -> int:
    seen = {entity_id}
    while True:
        nxt = session.connection().scalar(select(model.merged_into_id).where(model.id == entity_id))
        if nxt is None or nxt in seen:
            return entity_id
        seen.add(nxt)
        entity_id = nxt


def merge(
    session: Session,
    entity: str,
    loser: int,
    survivor: int,
    now: datetime,
    scoring: Scoring | None = None,
) -> int:
    """Merge `loser` into `survivor` (person or org) as the CRM did; returns the survivor's id
    (after following earlier merges). Other entities are not merged: the link moves only. With
    `scoring`, combined relationships are written with their new score."""
    if entity not in ("person", "org"):
        return survivor
    model = Person if entity == "person" else Org
    loser, survivor = _root(session, model, loser), _root(session, model, survivor)
    if loser == survivor:
        return survivor
    _fill_from(session, model, loser, survivor)
    session.execute(
        update(SourceLink)
        .where(SourceLink.entity == entity, SourceLink.entity_id == loser)
        .values(entity_id=survivor)
    )
    if entity == "person":
        _merge_person(session, loser, survivor, now, scoring)
    else:
        _merge_org(session, loser, survivor)
    session.execute(
        update(model).where(model.id == loser).values(merged_into_id=survivor, deleted_at=now)
    )
    return survivor


def _fill_from(session: Session, model: Any, loser: int, survivor: int) -> None:
    """The survivor keeps its values and takes the loser's where it has none."""
    cols = [
        c
        for c in (
            "title",
            "phone",
            "country",
            "org_id",
            "industry",
            "first_name",
            "last_name",
            "reports_to_id",
            "parent_id",
        )
        if hasattr(model, c)
    ]
    rows = {
        r[0]: r[1:]
        for r in session.connection()
        .execute(
            select(model.id, *(getattr(model, c) for c in cols)).where(
                model.id.in_([loser, survivor])
            )
        )
        .all()
    }
    fill = {
        c: lv
        for c, lv, sv in zip(cols, rows[loser], rows[survivor], strict=True)
        if sv is None and lv is not None and lv != survivor
    }
    if fill:
        session.execute(update(model).where(model.id == survivor).values(**fill))


def _merge_person(
    session: Session, loser: int, survivor: int, now: datetime, scoring: Scoring | None
) -> None:
    session.execute(
        update(PersonEmail).where(PersonEmail.person_id == loser).values(person_id=survivor)
    )
    session.execute(
        update(Person).where(Person.reports_to_id == loser).values(reports_to_id=survivor)
    )
    session.execute(
        update(Person)
        .where(Person.id == survivor, Person.reports_to_id == survivor)
        .values(reports_to_id=None)
    )
    session.execute(update(Intro).where(Intro.person_id == loser).values(person_id=survivor))
    _repoint_unique(session, ContactRole, "opportunity_id", loser, survivor, "contact_role")
    _repoint_unique(session, Stakeholder, "plan_id", loser, survivor, None)
    _merge_relationships(session, loser, survivor, now, scoring)
    rels = Rels(session, now, scoring)
    refresh_deal_roles(rels, [survivor])
    rels.flush()


def _repoint_unique(
    session: Session, model: Any, other: str, loser: int, survivor: int, entity: str | None
) -> None:
    """Move the loser's rows of a table unique on (other, person_id) to the survivor; where the
    survivor has one already, keep the survivor's and point the loser's links at it."""
    col = getattr(model, other)
    rows = session.execute(select(col, model.id).where(model.person_id == survivor)).all()
    theirs: dict[Any, int] = {key: rid for key, rid in rows}
    for key, rid in (
        session.connection().execute(select(col, model.id).where(model.person_id == loser)).all()
    ):
        if key in theirs:
            if entity:
                session.execute(
                    update(SourceLink)
                    .where(SourceLink.entity == entity, SourceLink.entity_id == rid)
                    .values(entity_id=theirs[key])
                )
            session.execute(delete(model).where(model.id == rid))
        else:
            session.execute(update(model).where(model.id == rid).values(person_id=survivor))


def _merge_relationships(
    session: Session, loser: int, survivor: int, now: datetime, scoring: Scoring | None
) -> None:
    """Each of the loser's relationships moves to the survivor; where the member has one with
    the survivor already, the two are combined: the survivor's rating and sharing first, the
    union of the signals, the latest interaction."""
    cols = (
        Relationship.id,
        Relationship.member_id,
        Relationship.rating,
        Relationship.signals,
        Relationship.shareability,
        Relationship.exclusive,
        Relationship.notes,
        Relationship.last_interaction_at,
        Relationship.discovered_at,
        Relationship.chosen_at,
    )
    theirs = {
        r.member_id: r
        for r in session.connection()
        .execute(select(*cols).where(Relationship.person_id == survivor))
        .all()
    }
    for old in (
        session.connection().execute(select(*cols).where(Relationship.person_id == loser)).all()
    ):
        keep = theirs.get(old.member_id)
        if keep is None:
            session.execute(
                update(Relationship).where(Relationship.id == old.id).values(person_id=survivor)
            )
            continue
        session.execute(
            update(SourceLink)
            .where(SourceLink.entity == "activity", SourceLink.entity_id == old.id)
            .values(entity_id=keep.id)
        )
        signals = combine(keep.signals or {}, old.signals or {})
        count = combined_count(keep.signals or {}, old.signals or {})
        if count:
            signals["activity_count"] = count
        ats = [a for a in (keep.last_interaction_at, old.last_interaction_at) if a]
        notes = "\n\n".join(n for n in dict.fromkeys([keep.notes, old.notes]) if n) or None
        values: dict[str, Any] = {"last_interaction_at": max(ats) if ats else None}
        if scoring is not None:
            score, last = scored(signals, values["last_interaction_at"], scoring, now)
            values.update(score=score, last_interaction_at=last)
        session.execute(delete(Relationship).where(Relationship.id == old.id))
        session.execute(
            update(Relationship)
            .where(Relationship.id == keep.id)
            .values(
                rating=keep.rating if keep.rating is not None else old.rating,
                shareability=keep.shareability or old.shareability,
                exclusive=keep.exclusive or old.exclusive,
                discovered_at=_discovered(keep, old),
                chosen_at=keep.chosen_at or old.chosen_at,
                notes=notes,
                signals=signals,
                is_owner=bool(signals.get("contact_owner")),
                updated_at=now,
                **values,
            )
        )


def _discovered(*rels: Any) -> datetime | None:
    """Two relationships combined wait for a choice (grace period) only if both did: a
    publication, like a choice, carries over."""
    found = [r.discovered_at for r in rels]
    return None if None in found else min(found)


def _merge_org(session: Session, loser: int, survivor: int) -> None:
    session.execute(update(OrgDomain).where(OrgDomain.org_id == loser).values(org_id=survivor))
    session.execute(update(Person).where(Person.org_id == loser).values(org_id=survivor))
    session.execute(update(Opportunity).where(Opportunity.org_id == loser).values(org_id=survivor))
    session.execute(update(Org).where(Org.parent_id == loser).values(parent_id=survivor))
    session.execute(
        update(Org).where(Org.id == survivor, Org.parent_id == survivor).values(parent_id=None)
    )
    has_plan = session.connection().scalar(
        select(AccountPlan.id).where(AccountPlan.org_id == survivor)
    )
    if has_plan is None:
        session.execute(
            update(AccountPlan).where(AccountPlan.org_id == loser).values(org_id=survivor)
        )
