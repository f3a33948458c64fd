"""Ingest of accounts and deals: orgs (matched by link, domain, then exact name), opportunities,
their contact roles, and activities, which are kept as signals on relationships, not as rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from connector.core.normalise import clean_text, norm_domains, org_name_key
from connector.ingest.batch import (
    Batch,
    Staged,
    to_bool,
    to_country,
    to_date,
    to_datetime,
    to_float,
    unlinked,
)
from connector.ingest.identity import Decision, Matcher, decide, load_org_keys, person_roots
from connector.ingest.signals import drop_activity, put_activities, refresh_deal_roles
from connector.store.bulk import bulk_insert
from connector.store.models import ContactRole, IdentityIssue, Opportunity, Org, OrgDomain
from mappings.records import MappedRecord

ACTIVITY_KINDS = ("call", "email", "meeting", "task")
STATUSES = ("open", "won", "lost")
_ORG_COLS = ("name", "name_key", "country", "industry", "parent_id", "deleted_at")


# -- orgs ----------------------------------------------------------------------------------------


def ingest_orgs(batch: Batch, recs: list[MappedRecord]) -> None:
    prepared: list[tuple[MappedRecord, dict[str, Any], list[str]]] = []
    for rec in recs:
        domains = norm_domains(rec.values.get("domains"))
        name = clean_text(rec.values.get("name"), 400) or (domains[0] if domains else None)
        if not name:
            batch.counts.skip(rec.external_id, "org without a name")
            continue
        fields = {
            "name": name,
            "name_key": org_name_key(name),
            "country": to_country(rec.values.get("country")),
            "industry": clean_text(rec.values.get("industry"), 200),
            "parent_id": batch.ref(rec, "parent"),
        }
        prepared.append((rec, fields, domains))
    m = Matcher()
    load_org_keys(
        batch.session,
        m,
        {d for *_, ds in prepared for d in ds},
        {f["name_key"] for _, f, _ in prepared},
    )
    linked = {ext: link.entity_id for ext, link in batch.links.items() if link.entity == "org"}
    ids = {i or 0 for i in linked.values()} | m.find(
        "domain", [d for *_, ds in prepared for d in ds]
    )
    orgs = Staged(
        batch, Org, _ORG_COLS, ids | m.find("name", [f["name_key"] for _, f, _ in prepared])
    )
    claims: dict[str, int] = {}
    issues: list[dict[str, Any]] = []
    chosen: list[tuple[MappedRecord, int]] = []
    for rec, fields, domains in prepared:
        keys: list[tuple[str, Sequence[Any]]] = [
            ("domain", domains),
            ("name", [fields["name_key"]]),
        ]
        d = decide(m, linked.get(rec.external_id), keys) or Decision(m.new_id(), "new")
        if d.ambiguous:
            issues.append(_issue(batch, rec, d))
        cur = orgs.current(d.entity_id, {})
        m.remove("name", cur.get("name_key"), d.entity_id)
        orgs.state[d.entity_id] = {**cur, **{k: v for k, v in fields.items() if v is not None}}
        orgs.state[d.entity_id]["deleted_at"] = None
        m.add("name", orgs.state[d.entity_id]["name_key"], d.entity_id)
        for domain in domains:
            if not m.claimed("domain", domain):
                m.add("domain", domain, d.entity_id)
                claims[domain] = d.entity_id
        chosen.append((rec, d.entity_id))
    orgs.write(m.alias)
    if claims:
        rows = [{"domain": dom, "org_id": m.alias.get(o, o)} for dom, o in claims.items()]
        bulk_insert(batch.session, OrgDomain, rows)
    for issue in issues:
        issue["candidates"] = [m.alias.get(c, c) for c in issue["candidates"]]
    if issues:
        bulk_insert(batch.session, IdentityIssue, issues)
    for rec, oid in chosen:
        batch.stage(rec, m.alias.get(oid, oid), None, batch.unresolved(rec))


def _issue(batch: Batch, rec: MappedRecord, d: Decision) -> dict[str, Any]:
    return {
        "source": batch.source,
        "object": batch.object,
        "external_id": rec.external_id,
        "reason": "several orgs have this name; kept as a separate org",
        "candidates": d.ambiguous,
        "created_at": batch.now,
        "resolved": False,
    }


# -- opportunities and contact roles -------------------------------------------------------------

_OPP_COLS = (
    "name", "amount", "currency", "stage", "status", "close_date", "crm_created_at", "org_id",
    "owner_id", "deleted_at",
)  # fmt: skip


def ingest_opportunities(batch: Batch, recs: list[MappedRecord]) -> None:
    linked = {e: k.entity_id for e, k in batch.links.items() if k.entity == "opportunity"}
    opps = Staged(batch, Opportunity, _OPP_COLS, {i or 0 for i in linked.values()})
    placeholders = iter(range(-1, -len(recs) - 2, -1))
    chosen: list[tuple[MappedRecord, int]] = []
    for rec in recs:
        oid = linked.get(rec.external_id) or next(placeholders)
        cur = opps.current(oid, {"status": "open"})
        new = {**cur, **{k: v for k, v in _opp_fields(batch, rec).items() if v is not None}}
        opps.state[oid] = new | {"deleted_at": None}
        chosen.append((rec, oid))
    alias: dict[int, int] = {}
    opps.write(alias)
    changed = [
        alias.get(i, i)
        for i, s in opps.state.items()
        if i < 0 or any(s.get(c) != opps.before.get(i, {}).get(c) for c in ("status", "owner_id"))
    ]
    people = people_on(batch.session, changed)
    wanted: dict[int, set[int]] = {}
    partial: set[int] = set()
    for rec, oid in chosen:
        oid = alias.get(oid, oid)
        pending = batch.unresolved(rec) or {}
        for name, (obj, exts) in rec.many_refs.items():
            found = [batch.targets.get((obj, str(e))) for e in exts if e]
            wanted.setdefault(oid, set()).update(f[1] for f in found if f and f[0] == "person")
            missing = sorted(str(e) for e, f in zip(exts, found, strict=False) if not f)
            if missing:
                pending[name] = [obj, missing]
                partial.add(oid)
        batch.stage(rec, oid, None, pending or None)
    people |= sync_roles(batch.session, wanted, partial)
    refresh_deal_roles(batch.rels, people)


def _opp_fields(batch: Batch, rec: MappedRecord) -> dict[str, Any]:
    v = rec.values
    status = str(v.get("status") or "").strip().lower()
    currency = str(v.get("currency") or "").strip().upper()
    return {
        "name": clean_text(v.get("name"), 400) or rec.external_id,
        "amount": to_float(v.get("amount")),
        "currency": currency if len(currency) == 3 else None,
        "stage": clean_text(v.get("stage"), 200),
        "status": status if status in STATUSES else None,
        "close_date": to_date(v.get("close_date")),
        "crm_created_at": to_datetime(v.get("created_at")),
        "org_id": batch.ref(rec, "org"),
        "owner_id": batch.ref(rec, "owner"),
    }


def people_on(session: Session, opp_ids: Iterable[int]) -> set[int]:
    """The people with a contact role on any of these deals."""
    ids = sorted(set(opp_ids))
    if not ids:
        return set()
    q = select(ContactRole.person_id).where(ContactRole.opportunity_id.in_(ids))
    return set(session.connection().scalars(q))


def sync_roles(session: Session, wanted: dict[int, set[int]], partial: set[int]) -> set[int]:
    """Deals' associated contacts (HubSpot) are their contact roles: add the missing ones, and,
    when every associated contact is known, drop those no longer associated. Returns the people
    whose roles changed."""
    if not wanted:
        return set()
    have: dict[int, dict[int, int]] = {}
    q = select(ContactRole.id, ContactRole.opportunity_id, ContactRole.person_id).where(
        ContactRole.opportunity_id.in_(sorted(wanted))
    )
    for rid, opp, person in session.connection().execute(q).all():
        have.setdefault(opp, {})[person] = rid
    add = [
        {"opportunity_id": opp, "person_id": p, "is_primary": False}
        for opp, people in wanted.items()
        for p in sorted(people - have.get(opp, {}).keys())
    ]
    drop = {
        rid: p
        for opp, people in have.items()
        if opp not in partial
        for p, rid in people.items()
        if p not in wanted[opp]
    }
    if add:
        bulk_insert(session, ContactRole, add)
    if drop:
        session.execute(delete(ContactRole).where(ContactRole.id.in_(sorted(drop))))
    return {r["person_id"] for r in add} | set(drop.values())


def ingest_contact_roles(batch: Batch, recs: list[MappedRecord]) -> None:
    """Salesforce OpportunityContactRole: one row per (opportunity, person)."""
    valid: list[tuple[MappedRecord, int, int]] = []
    for rec in recs:
        opp, person = batch.ref(rec, "opportunity"), batch.ref(rec, "person")
        if opp is None or person is None:
            what = "opportunity" if opp is None else "person"
            batch.counts.skip(rec.external_id, f"contact role of an unknown {what}")
            continue
        valid.append((rec, opp, person))
    pairs: dict[tuple[int, int], int] = {}
    if valid:
        q = select(ContactRole.id, ContactRole.opportunity_id, ContactRole.person_id).where(
            ContactRole.opportunity_id.in_(sorted({o for _, o, _ in valid}))
        )
        pairs = {(o, p): i for i, o, p in batch.session.connection().execute(q).all()}
    roles = Staged(
        batch,
        ContactRole,
        ("opportunity_id", "person_id", "role", "is_primary"),
        set(pairs.values()),
    )
    placeholders = iter(range(-1, -len(valid) - 2, -1))
    chosen: list[tuple[MappedRecord, int]] = []
    people: set[int] = set()
    orphans: set[int] = set()
    for rec, opp, person in valid:
        rid = pairs.get((opp, person)) or next(placeholders)
        pairs[(opp, person)] = rid
        fields = {
            "role": clean_text(rec.values.get("role"), 100),
            "is_primary": to_bool(rec.values.get("is_primary")),
        }
        roles.state[rid] = roles.current(rid, {"opportunity_id": opp, "person_id": person}) | fields
        link = batch.links.get(rec.external_id)
        if link and link.live and link.entity_id and link.entity_id != rid:
            orphans.add(link.entity_id)
        chosen.append((rec, rid))
        people.add(person)
    alias: dict[int, int] = {}
    roles.write(alias)
    for rec, rid in chosen:
        batch.stage(rec, alias.get(rid, rid))
    batch.after.append(partial(_drop_orphan_roles, role_ids=orphans, people=people))


def _drop_orphan_roles(batch: Batch, role_ids: set[int], people: set[int]) -> None:
    """Delete contact-role rows no live link points at any more; refresh the deal signals."""
    dead = unlinked(batch.session, "contact_role", role_ids)
    if dead:
        q = select(ContactRole.person_id).where(ContactRole.id.in_(sorted(dead)))
        people |= set(batch.session.connection().scalars(q))
        batch.session.execute(delete(ContactRole).where(ContactRole.id.in_(sorted(dead))))
    refresh_deal_roles(batch.rels, people)


# -- activities ----------------------------------------------------------------------------------


def ingest_activities(batch: Batch, recs: list[MappedRecord]) -> None:
    """A call, email, meeting or task becomes an entry in the signals of each (member, person)
    relationship it involves; the link remembers which, so a change or deletion moves it."""
    valid: list[tuple[MappedRecord, int | None, list[int]]] = []
    for rec in recs:
        member, people, unknown = batch.ref(rec, "member"), *_activity_people(batch, rec)
        if member is None or (unknown and not people):
            what = "member" if member is None else "person"
            batch.counts.skip(rec.external_id, f"activity of an unknown {what}", unknown or None)
            continue
        valid.append((rec, member, people))
    before = {
        r.external_id: batch.links[r.external_id].applied
        for r, *_ in valid
        if r.external_id in batch.links and batch.links[r.external_id].deleted_at is None
    }
    old_pairs = activity_pairs(batch.session, before.values())
    wanted = {(m, p) for _, m, ps in valid for p in ps if m} | {x for ps in old_pairs for x in ps}
    batch.rels.load(pairs=wanted)
    chosen = []
    puts: dict[tuple[int, int], tuple[list[dict[str, Any]], list[int]]] = {}
    for (rec, member, people), old in zip(valid, _olds(valid, before, old_pairs), strict=True):
        entry = activity_entry(batch, rec)
        new = {(member, p) for p in people if member}
        for pair in old - new:
            rel = batch.rels.get(*pair)
            drop_activity(rel.signals, batch.source, rec.external_id)
            batch.rels.changed(rel)
        for pair in new:
            entries, added = puts.setdefault(pair, ([], [0]))
            entries.append(entry)
            added[0] += pair not in old
        chosen.append((rec, member, sorted(people)))
    _put_all(batch, puts)
    batch.rels.flush()
    for rec, member, people in chosen:
        first = batch.rels.pairs.get((member or 0, people[0])) if people else None
        batch.stage(rec, first.id if first else None, {"member": member, "persons": people})


def _put_all(
    batch: Batch, puts: dict[tuple[int, int], tuple[list[dict[str, Any]], list[int]]]
) -> None:
    """The page's activities into each relationship's signals, one merge per relationship."""
    for pair, (entries, added) in puts.items():
        rel = batch.rels.get(*pair)
        put_activities(rel.signals, entries, added[0])
        latest = max(
            (e["at"] for e in entries if e["at"]), default=None, key=datetime.fromisoformat
        )
        batch.rels.changed(rel, latest)


def _activity_people(batch: Batch, rec: MappedRecord) -> tuple[list[int], str]:
    """The known people an activity involves, and the ids of those not known (if any)."""
    wanted = [rec.refs["person"]] if rec.refs.get("person") else []
    for obj, exts in rec.many_refs.values():
        wanted += [(obj, str(e)) for e in exts if e]
    people: list[int] = []
    unknown: list[str] = []
    for obj, ext in wanted:
        found = batch.targets.get((obj, str(ext)))
        if found and found[0] == "person":
            people.append(found[1])
        else:
            unknown.append(str(ext))
    return sorted(set(people)), ", ".join(unknown)


def _olds(
    valid: list[Any], before: dict[str, dict[str, Any]], pairs: list[set[tuple[int, int]]]
) -> list[set[tuple[int, int]]]:
    by_ext = dict(zip(before, pairs, strict=True))
    return [by_ext.get(rec.external_id, set()) for rec, *_ in valid]


def activity_pairs(
    session: Session, applied: Iterable[dict[str, Any]]
) -> list[set[tuple[int, int]]]:
    """The (member, person) pairs activities were applied to, people followed through merges."""
    applied = list(applied)
    roots = person_roots(session, {p for a in applied for p in a.get("persons") or []})
    return [
        {(a["member"], roots.get(p, p)) for p in a.get("persons") or []}
        if a.get("member")
        else set()
        for a in applied
    ]


def activity_entry(batch: Batch, rec: MappedRecord) -> dict[str, Any]:
    at = to_datetime(rec.values.get("at")) or to_datetime(rec.modstamp)
    kind = str(rec.values.get("kind") or "").strip().lower()
    return {
        "at": at.isoformat() if at else None,
        "kind": kind if kind in ACTIVITY_KINDS else "task",
        "source": batch.source,
        "id": rec.external_id,
    }
