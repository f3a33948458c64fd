"""Ingest of members (CRM users, HubSpot owners, mailboxes), matched by email, and the rules of
values every ingest of people follows (connector.ingest.people takes them from here).

Values from a CRM overwrite (a missing value never erases one); a mailbox only fills what the
CRMs left empty, so the result does not depend on which source came first.
"""

from __future__ import annotations

from typing import Any

from connector.core.normalise import clean_text, norm_email
from connector.ingest.batch import Batch, Staged, to_bool, to_country
from connector.ingest.identity import Decision, Matcher, decide, load_member_keys
from connector.store.models import Member
from mappings.records import MappedRecord

CRM_SOURCES = ("salesforce", "hubspot")
SOURCE_ID_COLUMN = {
    "salesforce": "salesforce_user_id",
    "hubspot": "hubspot_owner_id",
    "exchange": "mailbox_id",
}


def merge_values(
    current: dict[str, Any], values: dict[str, Any], fill_only: bool
) -> dict[str, Any]:
    """`values` over `current`: None never erases; with fill_only, only empty fields are set."""
    out = dict(current)
    for name, value in values.items():
        if value is None or (fill_only and current.get(name) not in (None, "unknown")):
            continue
        out[name] = value
    return out


def full_name(values: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    first = clean_text(values.get("first_name"), 400)
    last = clean_text(values.get("last_name"), 400)
    name = clean_text(values.get("name"), 800) or clean_text(
        " ".join(filter(None, [first, last])), 800
    )
    return first, last, name


# -- members -------------------------------------------------------------------------------------

# the CRM's user id where it is not the record's own id (HubSpot owners name their user): a CRM
# edit is traced to its member by it (connector.governance.authority)
USER_ID_COLUMN = {"hubspot": "hubspot_user_id"}
_MEMBER_COLS = (
    "email", "name", "team", "country", "title", "active", "manager_id",
    *SOURCE_ID_COLUMN.values(), *USER_ID_COLUMN.values(),
)  # fmt: skip


def ingest_members(batch: Batch, recs: list[MappedRecord]) -> None:
    """CRM users, HubSpot owners and mailboxes become one member each, matched by email."""
    matcher = Matcher()
    emails = {r.external_id: norm_email(r.values.get("email")) for r in recs}
    load_member_keys(batch.session, matcher, {e for e in emails.values() if e})
    linked = {ext: link.entity_id for ext, link in batch.links.items() if link.entity == "member"}
    known = {i for i in linked.values() if i} | matcher.find("email", emails.values())
    rows = Staged(batch, Member, _MEMBER_COLS, known)
    chosen: list[tuple[MappedRecord, int]] = []
    for rec in recs:
        email = emails[rec.external_id]
        d = decide(matcher, linked.get(rec.external_id), [("email", [email] if email else [])])
        if d is None:
            if email is None:
                batch.counts.skip(rec.external_id, "member without a valid email")
                continue
            d = Decision(matcher.new_id(), "new")
        cur = rows.current(d.entity_id, {"email": email, "active": True})
        rows.state[d.entity_id] = _member_values(batch, rec, cur, email, matcher, d.entity_id)
        chosen.append((rec, d.entity_id))
    rows.write(matcher.alias)
    for rec, mid in chosen:
        manager = rec.refs.get("manager")
        applied = {"manager": manager[1]} if manager else None
        batch.stage(rec, matcher.alias.get(mid, mid), applied, batch.unresolved(rec))


def _manager_id(batch: Batch, rec: MappedRecord, current: int | None, mid: int) -> int | None:
    """Who the member reports to, as this record says: its `manager` (None until that user is
    ingested: the link keeps it pending); a record whose link carried a manager and now carries
    none clears it; a source that maps no manager (HubSpot, mailboxes) leaves it as it is."""
    if rec.refs.get("manager"):
        found = batch.ref(rec, "manager")
        return None if found == mid else found
    link = batch.links.get(rec.external_id)
    return None if link and (link.applied or {}).get("manager") else current


def _member_values(
    batch: Batch, rec: MappedRecord, cur: dict[str, Any], email: str | None, m: Matcher, mid: int
) -> dict[str, Any]:
    v = rec.values
    fields = {
        "name": full_name(v)[2],
        "team": clean_text(v.get("team"), 200),
        "country": to_country(v.get("country")),
        "title": clean_text(v.get("title"), 400),
        "active": to_bool(v["active"], True) if "active" in v else None,
    }
    crm = batch.source in CRM_SOURCES
    out = merge_values(cur, fields, fill_only=not crm)
    out[SOURCE_ID_COLUMN.get(batch.source, "mailbox_id")] = rec.external_id[:100]
    out["manager_id"] = _manager_id(batch, rec, cur.get("manager_id"), mid)
    if batch.source in USER_ID_COLUMN and v.get("user_id") not in (None, ""):
        out[USER_ID_COLUMN[batch.source]] = str(v["user_id"])[:40]
    if email and email != out.get("email") and not m.claimed("email", email):
        out["email"] = email if crm or not out.get("email") else out["email"]
    m.add("email", out.get("email"), mid)
    out["name"] = out.get("name") or out.get("email")
    return out
