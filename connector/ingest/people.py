"""Ingest of persons (CRM contacts) and address-book entries: one person per human, each page
resolved against the store at once (connector.ingest.identity). Members: connector.ingest.members.

Values from a CRM overwrite (a missing value never erases one); an address-book entry only fills
what the CRMs left empty, so the result does not depend on which source came first; a person no
CRM knows takes the address book's values as they change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.errors import RecordError
from connector.core.normalise import clean_text, name_key, norm_emails, org_name_key
from connector.governance.authority import OWNED, CrmRecord, Judgement, crm_editors, judge, settle
from connector.ingest.batch import Batch, Staged, to_country
from connector.ingest.identity import (
    Decision,
    Matcher,
    decide,
    email_domains,
    load_known_keys,
    load_person_keys,
)
from connector.ingest.members import CRM_SOURCES, full_name, merge_values
from connector.ingest.signals import add_evidence, remove_evidence
from connector.plans.plan_edit import apply_crm_stakeholder
from connector.store.bulk import bulk_insert
from connector.store.models import (
    LEVELS,
    IdentityIssue,
    Org,
    Person,
    PersonEmail,
    SourceLink,
    SyncState,
)
from mappings.records import MappedRecord

# -- persons and address-book entries ------------------------------------------------------------


@dataclass
class _Prepared:
    rec: MappedRecord
    emails: list[str]
    fields: dict[str, Any]
    key: str
    member_id: int | None = None
    person_id: int = 0


def ingest_people(batch: Batch, recs: list[MappedRecord]) -> None:
    """CRM contacts and address-book entries: one person per human, matched by link, then any
    email, then (name, org); several candidates make an IdentityIssue and a separate person."""
    ab = batch.kind == "address_book"
    companies = _orgs_by_name(batch.session, recs) if ab else {}
    prepared = [p for p in (_prepare(batch, r, ab, companies) for r in recs) if p is not None]
    matcher = Matcher()
    load_person_keys(
        batch.session,
        matcher,
        {e for p in prepared for e in p.emails},
        {p.key for p in prepared if p.fields.get("org_id")},
    )
    if ab:
        members = {p.member_id for p in prepared if p.member_id}
        load_known_keys(batch.session, matcher, members, {p.key for p in prepared})
    people = _People(batch, matcher, prepared)
    for p in prepared:
        people.decide(p, fill_only=ab or batch.source not in CRM_SOURCES)
    people.write()
    for p in prepared:
        p.person_id = matcher.alias.get(p.person_id, p.person_id)
    batch.rels.load(pairs=_pairs(batch, prepared, ab))
    editors = {} if ab else crm_editors(batch.session, batch.source, _editors(prepared))
    rated: list[tuple[_Prepared, dict[str, Any]]] = []
    verdicts: list[tuple[_Prepared, int, Judgement]] = []
    for p in prepared:
        applied = _signal(batch, p, "address_book" if ab else "contact_owner")
        if not ab:
            verdicts += _judged(batch, p, applied, editors)
        batch.stage(p.rec, p.person_id, applied, batch.unresolved(p.rec))
        rated.append((p, applied))
    batch.rels.flush()
    if not ab:
        _apply_ratings(batch, verdicts, editors)
        _apply_stakeholders(batch, rated)
        batch.session.flush()  # governance's ORM changes, before any Core read of them


def _orgs_by_name(session: Session, recs: list[MappedRecord]) -> dict[str, int]:
    """Address books name companies: the org of that exact normalised name, when just one."""
    keys = {org_name_key(r.values.get("company")) for r in recs} - {""}
    if not keys:
        return {}
    found: dict[str, list[int]] = {}
    for oid, key in (
        session.connection()
        .execute(
            select(Org.id, Org.name_key).where(
                Org.name_key.in_(sorted(keys)),
                Org.deleted_at.is_(None),
                Org.merged_into_id.is_(None),
            )
        )
        .all()
    ):
        found.setdefault(key, []).append(oid)
    return {k: ids[0] for k, ids in found.items() if len(ids) == 1}


def _prepare(
    batch: Batch, rec: MappedRecord, ab: bool, companies: dict[str, int]
) -> _Prepared | None:
    v = rec.values
    emails, bad = norm_emails(v.get("emails"))
    first, last, name = full_name(v)
    if ab:
        org_id = companies.get(org_name_key(v.get("company")))
        member_id = batch.ref(rec, "member")
        if member_id is None:
            batch.counts.skip(rec.external_id, "address-book entry of an unknown mailbox")
            return None
    else:
        org_id, member_id = batch.ref(rec, "org"), None
    if not emails and not (name and org_id):
        why = f"invalid email {bad[0]!r}" if bad else "no email"
        batch.counts.skip(rec.external_id, "no valid email, and no name and org", f"{why}, no org")
        return None
    level = v.get("level")
    fields = {
        "first_name": first,
        "last_name": last,
        "name": name or emails[0],
        "title": clean_text(v.get("title"), 400),
        "level": level if level in LEVELS else None,
        "country": to_country(v.get("country")),
        "phone": clean_text(v.get("phone"), 100),
        "org_id": org_id,
        "reports_to_id": None if ab else batch.ref(rec, "reports_to"),
    }
    return _Prepared(rec, emails, fields, name_key(str(fields["name"])), member_id)


def _crm_known(batch: Batch, ids: Iterable[int]) -> set[int]:
    """The people among `ids` that a live CRM record is linked to."""
    if not ids:
        return set()
    q = select(SourceLink.entity_id).where(
        SourceLink.entity == "person",
        SourceLink.entity_id.in_(sorted(ids)),
        SourceLink.source.in_(CRM_SOURCES),
        SourceLink.deleted_at.is_(None),
    )
    return {i for i in batch.session.connection().execute(q).scalars() if i is not None}


_HOW = {"name": "name and org", "known": "name among the mailbox owner's people"}
_PERSON_COLS = (
    "first_name", "last_name", "name", "name_key", "title", "level", "country", "phone",
    "org_id", "reports_to_id", "deleted_at",
)  # fmt: skip


class _People(Staged):
    """The people a page decides about, with the email and (name, org) keys kept in step."""

    def __init__(self, batch: Batch, matcher: Matcher, prepared: list[_Prepared]):
        ids = {link.entity_id or 0 for link in batch.links.values() if link.entity == "person"}
        ids |= matcher.find("email", [e for p in prepared for e in p.emails])
        ids |= matcher.find("name", [(p.key, p.fields["org_id"]) for p in prepared])
        ids |= matcher.find("known", [(p.key, p.member_id) for p in prepared])
        super().__init__(batch, Person, _PERSON_COLS, ids)
        self.crm_known = set() if batch.source in CRM_SOURCES else _crm_known(batch, self.before)
        self.m = matcher
        self.domains = email_domains(batch.session, self.before)
        self.claims: dict[str, int] = {}
        self.issues: list[dict[str, Any]] = []

    def decide(self, p: _Prepared, fill_only: bool) -> None:
        link = self.batch.links.get(p.rec.external_id)
        linked = link.entity_id if link and link.entity == "person" else None
        org = p.fields["org_id"]
        keys: list[tuple[str, Sequence[Any]]] = [
            ("email", p.emails),
            ("name", [(p.key, org)] if org else []),
            ("known", [(p.key, p.member_id)] if p.member_id else []),
        ]
        mine = {e.rsplit("@", 1)[-1] for e in p.emails}

        def namesake(kind: str, candidate: int) -> bool:
            """Another address at the same domain: another mailbox, so another person."""
            return kind != "email" and bool(mine & self.domains.get(candidate, set()))

        d = decide(self.m, linked, keys, namesake) or Decision(self.m.new_id(), "new")
        if d.ambiguous:
            self.issues.append(self._issue(p, d))
        pid = p.person_id = d.entity_id
        cur = self.current(pid, {"level": "unknown"})
        if cur.get("org_id"):
            self.m.remove("name", (cur.get("name_key"), cur["org_id"]), pid)
        new = merge_values(cur, p.fields, fill_only and pid in self.crm_known)
        new["deleted_at"] = None
        new["name_key"] = name_key(str(new["name"]))
        self.state[pid] = new
        if new.get("org_id"):
            self.m.add("name", (new["name_key"], new["org_id"]), pid)
        if p.member_id:  # this mailbox's owner now knows them (a refiled entry finds them)
            self.m.add("known", (new["name_key"], p.member_id), pid)
        for email in p.emails:
            if not self.m.claimed("email", email):
                self.m.add("email", email, pid)
                self.claims[email] = pid
                self.domains.setdefault(pid, set()).add(email.rsplit("@", 1)[-1])

    def _issue(self, p: _Prepared, d: Decision) -> dict[str, Any]:
        how = _HOW.get(d.how, d.how)
        return {
            "reason": f"several people match by {how}; kept as a separate person",
            "source": self.batch.source,
            "object": self.batch.object,
            "external_id": p.rec.external_id,
            "candidates": d.ambiguous,
            "created_at": self.batch.now,
            "resolved": False,
        }

    def write(self, alias: dict[int, int] | None = None) -> None:
        super().write(self.m.alias)
        alias = self.m.alias
        session = self.batch.session
        if self.claims:
            rows = [{"email": e, "person_id": alias.get(p, p)} for e, p in self.claims.items()]
            bulk_insert(session, PersonEmail, rows)
        for issue in self.issues:
            issue["candidates"] = [alias.get(c, c) for c in issue["candidates"]]
        if self.issues:
            bulk_insert(session, IdentityIssue, self.issues)


def _editors(prepared: list[_Prepared]) -> list[str]:
    return [str(p.rec.values["modified_by"]) for p in prepared if p.rec.values.get("modified_by")]


def _judged(
    batch: Batch, p: _Prepared, applied: dict[str, Any], editors: dict[str, int]
) -> list[tuple[_Prepared, int, Judgement]]:
    """A contact's rating / shareability fields are its owner's own view: judged against what
    its link holds as agreed (governance decides, connector.governance.authority). The link
    keeps the agreed values, and any refused ones for the next push to undo. A new owner
    starts with nothing agreed: the fields were the previous owner's."""
    owner = applied.get("owner")
    link = batch.links.get(p.rec.external_id)
    before = link.applied if link and link.live else {}
    if owner is None:  # no holder known (yet): nothing to judge, nothing to undo
        return []
    same = before.get("owner") == owner
    agreed = {k: before[k] for k in OWNED if same and before.get(k) is not None}
    refused = dict(before.get("refused") or {}) if same else {}
    seen = {k: _rating(p.rec.values.get(k)) for k in OWNED}
    editor = editors.get(str(p.rec.values.get("modified_by") or ""))
    verdict = judge(seen, agreed, refused, by_holder=editor == owner)
    for k in OWNED:
        applied.pop(k, None)
    applied.update({k: v for k, v in verdict.agreed.items() if v is not None})
    if verdict.refused:
        applied["refused"] = verdict.refused
        applied["refused_at"] = batch.now.isoformat()
    if not (verdict.accepted or verdict.new_refusals or verdict.errors):
        return []
    return [(p, owner, verdict)]


def _apply_ratings(
    batch: Batch, verdicts: list[tuple[_Prepared, int, Judgement]], editors: dict[str, int]
) -> None:
    """The owner's own changes to their relationship, and the audit of refused ones."""
    run = _run(batch) if verdicts else None
    for p, owner, verdict in verdicts:
        for problem in verdict.errors:
            batch.counts.skip(p.rec.external_id, "rating not applied", problem)
        editor = p.rec.values.get("modified_by")
        rec = CrmRecord(batch.source, batch.object, p.rec.external_id, editor, run)
        editor_id = editors.get(str(editor or ""))
        settle(batch.session, rec, owner, p.person_id, verdict, editor_id)


def _run(batch: Batch) -> str | None:
    """The sync run that pulled this page: its (source, object) start, when a sync runs it."""
    started = batch.session.scalar(
        select(SyncState.last_started_at).where(
            SyncState.source == batch.source, SyncState.object == batch.object
        )
    )
    return started.isoformat() if started else None


def _apply_stakeholders(batch: Batch, rated: list[tuple[_Prepared, dict[str, Any]]]) -> None:
    """A contact's stance / influence fields (set by a rep inside the CRM) go to the account
    plan when they changed since the last pull; an unchanged record never undoes a CLI edit."""
    for p, applied in rated:
        if not ({"stance", "influence"} & applied.keys()):
            continue
        link = batch.links.get(p.rec.external_id)
        before = link.applied if link and link.live else {}
        now = (applied.get("stance"), applied.get("influence"))
        if now == (before.get("stance"), before.get("influence")) or now == (None, None):
            continue
        try:
            apply_crm_stakeholder(batch.session, p.person_id, now[0], _rating(now[1]), batch.source)
        except RecordError as exc:
            batch.counts.skip(p.rec.external_id, "stance not applied", str(exc))


def _rating(value: Any) -> Any:
    """'4' and 4.0 are 4; anything else goes to governance as it is (and is refused there)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    return int(number) if number.is_integer() else value


def _pairs(batch: Batch, prepared: list[_Prepared], ab: bool) -> set[tuple[int, int]]:
    """The (member, person) relationships the page's evidence may touch, before and after."""
    out: set[tuple[int, int]] = set()
    for p in prepared:
        member = p.member_id if ab else batch.ref(p.rec, "owner")
        if member:
            out.add((member, p.person_id))
        link = batch.links.get(p.rec.external_id)
        old = link.applied.get("member" if ab else "owner") if link and link.live else None
        if old and link:
            out.add((old, link.entity_id or p.person_id))
    return out


def _signal(batch: Batch, p: _Prepared, flag: str) -> dict[str, Any]:
    """Evidence on the (member, person) relationship: the entry's mailbox owner, or the contact's
    owner; moved when the owner changes. Returns what the link applied, for the next change."""
    link, pid = batch.links.get(p.rec.external_id), p.person_id
    before = link.applied if link and link.live else {}
    name = "member" if flag == "address_book" else "owner"
    member = p.member_id if flag == "address_book" else batch.ref(p.rec, "owner")
    key = batch.key(p.rec)
    old = before.get(name)
    old_person = link.entity_id if link and link.entity_id else pid
    if old and (old != member or old_person != pid):
        rel = batch.rels.get(old, old_person)
        if remove_evidence(rel.signals, flag, key):
            batch.rels.changed(rel)
    if member:
        rel = batch.rels.get(member, pid)
        if add_evidence(rel.signals, flag, key):
            batch.rels.changed(rel)
    applied: dict[str, Any] = {name: member}
    for value in ("stance", "influence"):  # rating, shareability: judged (`_judged`)
        if value in p.rec.values:
            applied[value] = p.rec.values[value]
    return applied
