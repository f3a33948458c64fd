"""Which records a write-back refresh must derive again: those whose inputs changed since the
source's last refresh, and their dependants.

A CRM record's Carnet fields depend on: its link (what a pull saw, a refused edit, deleted or
repointed); for a contact, the relationships of its person and their members (and time: a
relationship's grace period ends); for an account, its people (their level, whether they are
live), their relationships and the account plan's stances; for an opportunity, its referral
credits and their referrers. Relationships and people are compared with what the last refresh
saw of them (the refresh_rel and refresh_person tables: each one's person or org, and a signature
of the columns the fields are drawn from), so any change to them is found however it was written,
and a relationship that moved or went, or a person that moved, has the person or org it left
derived again too. The rest (links, members, orgs, plans, credits) is found from the rows'
`updated_at` since the refresh's mark (indexed where the tables are large: 0012).

Those comparisons read every relationship and person, and the outbox rows whose link went every
outbox row. On SQLite the store counts every write to relationships and people, and every link
deleted or re-keyed (connector.store.models_refresh): when the count is the one the source's
last refresh kept, and every trigger that counts is in place, there is nothing to compare; a
sync with nothing changed then reads only what its indexes find.

The mark is the source's "(push)" sync_state row: when the last refresh read the overlay (the
push's start, `last_started_at`) and, as its cursor, a key of what every record depends on at once
(the mapping, the sharing settings, the web address). Without a mark, with another key, or on a
--full sync, everything is derived, as before. The mark, the refreshed rows and what the
refresh saw are committed together. A write stamped before the mark but committed after the
refresh read (another process's transaction in flight across a refresh's start) is not seen
until that record changes again or a --full sync runs (the nightly one does).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, cast, delete, func, insert, literal, or_, select, text
from sqlalchemy.orm import Session

from connector.core.config import Sharing
from connector.store.bulk import among
from connector.store.models import (
    Member,
    Opportunity,
    Org,
    Outbox,
    Person,
    ReferralCredit,
    Relationship,
    SourceLink,
    SyncState,
)
from connector.store.models_plans import AccountPlan
from connector.store.models_refresh import COUNTED, LIVE, ChangeCount, RefreshPerson, RefreshRel
from connector.writeback.desired import FIELDS, written_objects
from mappings.schema import Mapping

PUSH_STATE = "(push)"  # sync_state.object of a source's last push; its cursor holds the mark
# bumped when what a desired row depends on changes: the next refresh derives everything
INPUTS_VERSION = 1
GRACE_MARGIN = timedelta(minutes=1)  # around a grace period's end: derived again, to be sure
CHUNK = 5000


@dataclass
class Changed:
    """What changed since the mark: entity ids per kind, and links as (object, external id)."""

    people: set[int] = field(default_factory=set)
    orgs: set[int] = field(default_factory=set)
    opportunities: set[int] = field(default_factory=set)
    links: set[tuple[str, str]] = field(default_factory=set)
    unwritten: bool = False  # nothing written that the last refresh's view must be compared with

    def of(self, kind: str) -> set[int]:
        return {"person": self.people, "org": self.orgs, "opportunity": self.opportunities}.get(
            kind, set()
        )


def inputs_key(mapping: Mapping, sharing: Sharing, web_url: str | None) -> str:
    """What every desired row depends on at once: another key, and all are derived again."""
    doc = {
        "version": INPUTS_VERSION,
        "mapping": mapping.model_dump(mode="json"),
        "sharing": sharing.model_dump(mode="json"),
        "web_url": web_url,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def _state(session: Session, source: str) -> SyncState | None:
    q = select(SyncState).where(SyncState.source == source, SyncState.object == PUSH_STATE)
    return session.scalar(q)


def last_mark(session: Session, source: str, key: str) -> datetime | None:
    """When the source's last refresh read the overlay, if it was made with this key."""
    state = _state(session, source)
    if state is None or state.cursor != key:
        return None
    return state.last_started_at


def save_mark(session: Session, source: str, key: str, at: datetime) -> None:
    """The mark of a refresh that read the overlay at `at`: the push's start (kept as such)."""
    state = _state(session, source)
    if state is None:  # the push's own state follows (a push stopped by an error leaves this)
        state = SyncState(source=source, object=PUSH_STATE, last_finished_at=at)
        session.add(state)
    state.cursor, state.last_started_at = key, at
    _keep_count(session, source)


def _seen(source: str) -> str:
    """The change_count row of the writes a source's last refresh saw."""
    return f"refresh:{source}"


def _keep_count(session: Session, source: str) -> None:
    """Keep the store's count of writes as this refresh saw it (none on PostgreSQL)."""
    live = session.scalar(select(ChangeCount.n).where(ChangeCount.name == LIVE))
    if live is None:
        return
    seen = session.get(ChangeCount, _seen(source))
    if seen is None:
        session.add(ChangeCount(name=_seen(source), n=live))
    else:
        seen.n = live


def unwritten(session: Session, source: str) -> bool:
    """Whether no relationship nor person was written, nor link deleted or re-keyed, since the
    source's last refresh: the store's count of those writes is the one that refresh kept, and
    every trigger that counts is in place (a migration that rebuilds a table drops them). False
    without a count."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        return False
    triggers = set(conn.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))
    if not set(COUNTED) <= triggers:
        return False
    q = select(ChangeCount.name, ChangeCount.n).where(ChangeCount.name.in_([LIVE, _seen(source)]))
    counts = {name: n for name, n in conn.execute(q)}
    return LIVE in counts and counts.get(_seen(source)) == counts[LIVE]


# -- what changed ---------------------------------------------------------------------------------


def changed_since(
    session: Session, source: str, since: datetime, now: datetime, sharing: Sharing
) -> Changed:
    """The records of `source` to derive again: changed since `since`, and their dependants."""
    out = Changed(unwritten=unwritten(session, source))
    conn = session.connection()
    out.people = _people(session, source, since, now, sharing, out.unwritten)
    orgs = set(conn.scalars(select(Org.id).where(Org.updated_at >= since)))
    orgs |= set(conn.scalars(select(AccountPlan.org_id).where(AccountPlan.updated_at >= since)))
    for chunk in _chunks(out.people):
        q = select(Person.org_id).where(Person.id.in_(chunk), Person.org_id.is_not(None))
        orgs |= set(conn.scalars(q))
        q = select(RefreshPerson.org_id).where(
            RefreshPerson.source == source,
            RefreshPerson.id.in_(chunk),
            RefreshPerson.org_id.is_not(None),
        )
        orgs |= set(conn.scalars(q))
    out.orgs = {int(o) for o in orgs}
    credits = select(ReferralCredit.opportunity_id).join(
        Member, Member.id == ReferralCredit.referrer_id
    )
    out.opportunities = set(
        conn.scalars(
            credits.where((ReferralCredit.updated_at >= since) | (Member.updated_at >= since))
        )
    ) | set(conn.scalars(select(Opportunity.id).where(Opportunity.updated_at >= since)))
    links = select(SourceLink.object, SourceLink.external_id).where(
        SourceLink.source == source, SourceLink.updated_at >= since
    )
    out.links = {(obj, ext) for obj, ext in conn.execute(links)}
    return out


def _people(
    session: Session, source: str, since: datetime, now: datetime, sharing: Sharing, same: bool
) -> set[int]:
    """People whose relationships, members or own row changed, whose relationship's grace
    period ended, or who gained or lost a relationship or moved org since the last refresh."""
    conn = session.connection()
    rel = Relationship
    found = set(conn.scalars(select(rel.person_id).where(rel.updated_at >= since)))
    members = select(Member.id).where(Member.updated_at >= since)  # few: their relationships
    found |= set(conn.scalars(select(rel.person_id).where(rel.member_id.in_(members))))
    if sharing.grace_days:  # waiting at the mark, maybe visible now
        grace = timedelta(days=sharing.grace_days)
        found |= set(
            conn.scalars(
                select(rel.person_id).where(
                    rel.chosen_at.is_(None),
                    rel.discovered_at > since - grace - GRACE_MARGIN,
                    rel.discovered_at <= now - grace + GRACE_MARGIN,
                )
            )
        )
    found |= set(conn.scalars(select(Person.id).where(Person.updated_at >= since)))
    if same:  # each is as the last refresh saw it
        return {int(p) for p in found}
    return {int(p) for p in found | _compared(session, source)}


def _compared(session: Session, source: str) -> set[int]:
    """People whose relationships or own row differ from what the last refresh saw."""
    conn = session.connection()
    rel, seen = Relationship, RefreshRel
    found: set[int] = set()
    moved = select(seen.person_id, rel.person_id).join(rel, rel.id == seen.id)
    moved = moved.where(
        seen.source == source, or_(seen.person_id != rel.person_id, seen.sig != rel_sig())
    )
    for before, after in conn.execute(moved):
        found |= {before, after}
    gone = select(seen.person_id).where(seen.source == source).where(~_exists(rel.id, seen.id))
    found |= set(conn.scalars(gone))
    new = select(rel.person_id).where(~_exists(seen.id, rel.id, seen.source == source))
    found |= set(conn.scalars(new))
    sp = RefreshPerson
    org_moved = select(sp.id).join(Person, Person.id == sp.id)
    org_moved = org_moved.where(
        sp.source == source, or_(sp.org_id.is_distinct_from(Person.org_id), sp.sig != person_sig())
    )
    found |= set(conn.scalars(org_moved))
    found |= set(conn.scalars(select(sp.id).where(sp.source == source, ~_exists(Person.id, sp.id))))
    found |= set(
        conn.scalars(select(Person.id).where(~_exists(sp.id, Person.id, sp.source == source)))
    )
    return found


def _signature(*columns: Any) -> Any:
    """The columns' values as one text, in SQL (compared with what the last refresh saw)."""
    parts = [func.coalesce(cast(c, String), "~") for c in columns]
    out: Any = parts[0]
    for part in parts[1:]:
        out = out + "|" + part
    return out


def rel_sig() -> Any:
    """What a relationship gives the CRM fields besides its person: holder, visibility, strength,
    ownership, last interaction."""
    r = Relationship
    return _signature(
        r.member_id, r.shareability, r.rating, r.score, r.is_owner, r.exclusive,
        r.last_interaction_at, r.discovered_at, r.chosen_at,
    )  # fmt: skip


def person_sig() -> Any:
    """What a person gives its org's fields besides the org: level, whether it is live."""
    return _signature(Person.level, Person.deleted_at, Person.merged_into_id)


def _exists(column: Any, equals: Any, *also: Any) -> Any:
    """EXISTS (a row of `column`'s table whose `column` is `equals`, and `also`)."""
    return select(literal(1)).where(column == equals, *also).exists()


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    ordered = sorted(ids)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


# -- what this refresh saw ------------------------------------------------------------------------


def remember(session: Session, source: str, changed: Changed | None) -> None:
    """Keep, for the next refresh, which person each relationship and which org each person
    belongs to now: all of them (`changed` None, a full refresh) or those of changed people (a
    relationship that moved or went is one of them: its person before, and after, changed)."""
    conn = session.connection()
    if changed is None:
        conn.execute(delete(RefreshRel).where(RefreshRel.source == source))
        conn.execute(delete(RefreshPerson).where(RefreshPerson.source == source))
        _copy(session, RefreshRel, source, Relationship.id, Relationship.person_id, rel_sig())
        _copy(session, RefreshPerson, source, Person.id, Person.org_id, person_sig())
        return
    chunks = list(_chunks(changed.people))
    for chunk in chunks:  # every old row first: a moved relationship's may be in another chunk
        conn.execute(
            delete(RefreshRel).where(
                RefreshRel.source == source, among(session, RefreshRel.person_id, chunk)
            )
        )
        conn.execute(
            delete(RefreshPerson).where(
                RefreshPerson.source == source, among(session, RefreshPerson.id, chunk)
            )
        )
    for chunk in chunks:
        rels = among(session, Relationship.person_id, chunk)
        rel_cols = (Relationship.id, Relationship.person_id, rel_sig())
        _copy(session, RefreshRel, source, *rel_cols, rels)
        people = among(session, Person.id, chunk)
        _copy(session, RefreshPerson, source, Person.id, Person.org_id, person_sig(), people)


def _copy(
    session: Session, model: Any, source: str, key: Any, parent: Any, sig: Any, where: Any = None
) -> None:
    """INSERT INTO model (source, id, parent, sig) SELECT source, key, parent, sig [WHERE where]."""
    q = select(literal(source), key, parent, sig)
    if where is not None:
        q = q.where(where)
    names = ["source", "id", "person_id" if model is RefreshRel else "org_id", "sig"]
    session.connection().execute(insert(model).from_select(names, q))


# -- which rows -----------------------------------------------------------------------------------


def scope_of(
    session: Session, source: str, mapping: Mapping, changed: Changed
) -> dict[str, set[str]]:
    """object -> external ids of the field rows to derive again: the changed links, every link
    of a changed entity, and the rows whose link is gone altogether."""
    conn = session.connection()
    out: dict[str, set[str]] = {}
    for obj in written_objects(mapping):
        kind = mapping.objects[obj].kind
        wanted = out.setdefault(obj, set())
        wanted.update(ext for o, ext in changed.links if o == obj)
        for chunk in _chunks(changed.of(kind)):
            q = select(SourceLink.external_id).where(
                SourceLink.source == source,
                SourceLink.object == obj,
                SourceLink.entity == kind,
                among(session, SourceLink.entity_id, chunk),
            )
            wanted.update(conn.scalars(q))
    if changed.unwritten:  # no link went since the last refresh, which dropped the orphans
        return out
    link = select(literal(1)).where(
        SourceLink.source == Outbox.source,
        SourceLink.object == Outbox.object,
        SourceLink.external_id == Outbox.external_id,
    )
    orphans = select(Outbox.object, Outbox.external_id).where(
        Outbox.source == source, Outbox.field_set == FIELDS, ~link.exists()
    )
    for obj, ext in conn.execute(orphans):
        out.setdefault(obj, set()).add(ext)
    return out
