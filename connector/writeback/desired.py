"""The CRM values Carnet wants written: per linked contact, account and opportunity, the outbound
mapping's fields filled from the overlay, read only through the one visibility rule (CRM audience).

Values are kept canonical (JSON: numbers rounded to the field's scale, text cut to its length,
datetimes as UTC ISO strings), so the same overlay always gives the same hash, and what a pull saw
in the CRM can be compared with them (`canonical`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.config import Sharing
from connector.core.web_config import Web
from connector.governance.authority import OWNED
from connector.governance.reach import known_counts
from connector.governance.viewers import CRM_AUDIENCE
from connector.governance.visibility import VisibleRel, visible_relationships
from connector.plans.network import people_in, stances_of
from connector.plans.plan import is_key
from connector.store.bulk import among
from connector.store.models import Member, Org, Person, ReferralCredit, Relationship, SourceLink
from mappings.schema import Mapping, OutField, ValueRule
from mappings.vocabulary import OUTBOUND_VALUES

FIELDS = "fields"  # the outbox field set of an object's outbound fields
TEXT_MAX = {"salesforce": 255, "hubspot": 65_536}
DEFAULT_SCALE = 2
LINK = "carnet_link"  # the outbound value of a record's link to its page in Carnet
LINK_PATHS = {"person": "people", "org": "orgs"}  # the web app's permalinks (connector.web.pages)
WANTED_IN_SQL = 20_000  # more records than this are picked from all the links, not in the query
LINKS_AT_ONCE = 2000  # links whose desired values are derived together


@dataclass(frozen=True)
class Desired:
    object: str
    external_id: str
    field_set: str
    values: dict[str, Any]  # canonical JSON values by CRM field
    # what a pull saw in the CRM of fields beyond the outbound ones (a refused edit), and when
    crm_seen: dict[str, Any] | None = None
    crm_seen_at: datetime | None = None


def sort_of(kind: str, spec: OutField) -> str:
    """number, text, bool, datetime or date: how a field's value is compared and written."""
    if spec.type in ("Date", "date"):
        return "date"
    return OUTBOUND_VALUES[kind][spec.value]


def live_links(source: str, obj: str, kind: str) -> Any:
    return select(SourceLink.entity_id, SourceLink.external_id).where(
        SourceLink.source == source,
        SourceLink.object == obj,
        SourceLink.entity == kind,
        SourceLink.entity_id.is_not(None),
        SourceLink.deleted_at.is_(None),
        SourceLink.merged_into.is_(None),
    )


def desired_fields(
    session: Session,
    source: str,
    mapping: Mapping,
    sharing: Sharing,
    web_url: str | None = None,
    only: dict[str, set[str]] | None = None,
) -> Iterator[Desired]:
    """Every linked record's outbound fields, object by object of the outbound mapping; with
    them, on a record where a CRM user's edit of its owner's own fields was refused, those
    fields' agreed values (the edit is undone). `web_url`: the web app's address, for the link
    fields (None: they are left alone). `only`: just these records (object -> external ids).
    The links are read and their overlay values derived LINKS_AT_ONCE at a time: what is held
    does not grow with the store."""
    for obj in written_objects(mapping):
        fields = {
            n: f for n, f in mapping.outbound_fields(obj).items() if web_url or f.value != LINK
        }
        kind = mapping.objects[obj].kind
        wanted = None if only is None else only.get(obj, set())
        reverts = refused_edits(session, source, mapping, obj, wanted)
        for links in _links(session, source, obj, kind, wanted):
            ids = [int(eid) for eid, _ in links]
            overlay = VALUES[kind](session, sharing, ids) if fields else {}
            for entity_id, external_id in links:
                have = overlay.get(int(entity_id), {}) | _link(web_url, kind, int(entity_id))
                values = {
                    name: canonical(sort_of(kind, spec), have.get(spec.value), source, spec)
                    for name, spec in fields.items()
                }
                undo = reverts.get(external_id)
                if undo is None:
                    if values:
                        yield Desired(obj, external_id, FIELDS, values)
                    continue
                yield Desired(obj, external_id, FIELDS, values | undo[0], undo[1], undo[2])


def _links(
    session: Session, source: str, obj: str, kind: str, wanted: set[str] | None
) -> Iterator[list[Any]]:
    """(entity id, external id) of the live links of `obj` (of the `wanted` records), in the
    links' order, LINKS_AT_ONCE at most in each list (read page by page: on PostgreSQL a result
    is fetched whole)."""
    if wanted is not None and not wanted:
        return
    q = live_links(source, obj, kind).add_columns(SourceLink.id).order_by(SourceLink.id)
    in_sql = wanted is not None and len(wanted) <= WANTED_IN_SQL
    if in_sql:
        q = q.where(among(session, SourceLink.external_id, wanted or ()))
    after = 0
    while True:
        page = session.execute(q.where(SourceLink.id > after).limit(LINKS_AT_ONCE)).all()
        if not page:
            return
        after = page[-1][2]
        links = [(eid, ext) for eid, ext, _ in page if in_sql or wanted is None or ext in wanted]
        if links:
            yield links


def web_address(web: Web | None) -> str | None:
    """The web app's address when the config gives one: without it, there is no page to link."""
    return web.base_url if web is not None and "base_url" in web.model_fields_set else None


def _link(web_url: str | None, kind: str, entity_id: int) -> dict[str, str]:
    """A person's or an organisation's page in Carnet: it says nothing of relationships."""
    path = LINK_PATHS.get(kind)
    return {LINK: f"{web_url}/{path}/{entity_id}"} if web_url and path else {}


def written_objects(mapping: Mapping) -> list[str]:
    """The mapped objects Carnet writes fields of: its outbound ones, and those whose records
    carry their owner's own fields (written only to undo a refused edit)."""
    out = [o for o, f in mapping.outbound.objects.items() if o in mapping.objects and f]
    return out + [o for o in mapping.objects if o not in out and owned_specs(mapping, o)]


# -- the owner's own fields: written back only to undo a refused CRM edit -------------------------


def _owned_rules(mapping: Mapping, obj: str) -> dict[str, tuple[str, ValueRule]]:
    """CRM field -> (value, rule) of the fields a person record carries as its owner's own view
    (the mapping's `rating` and `shareability`, each read from one field)."""
    om = mapping.objects.get(obj)
    if om is None or om.kind != "person":
        return {}
    found = ((name, om.values.get(name)) for name in OWNED)
    return {r.from_: (n, r) for n, r in found if r is not None and isinstance(r.from_, str)}


def owned_specs(mapping: Mapping, obj: str) -> dict[str, tuple[str, OutField]]:
    """CRM field -> (sort, spec) of those fields, as a write treats them."""
    out: dict[str, tuple[str, OutField]] = {}
    for crm, (name, _rule) in _owned_rules(mapping, obj).items():
        sort, kind = ("number", "Number") if name == "rating" else ("text", "Text")
        out[crm] = (sort, OutField(value=name, type=kind, label=name, scale=0))
    return out


Undo = tuple[dict[str, Any], dict[str, Any], datetime | None]


def refused_edits(
    session: Session, source: str, mapping: Mapping, obj: str, wanted: set[str] | None = None
) -> dict[str, Undo]:
    """external id -> (the agreed values to write back, the refused values the CRM holds, when
    a pull last saw them), for the records of `obj` holding a refused edit (their link says);
    of the `wanted` ones only, when given (a refresh of what changed reads no other link)."""
    rules = _owned_rules(mapping, obj)
    if not rules or wanted == set():
        return {}
    specs = owned_specs(mapping, obj)
    q = select(SourceLink.external_id, SourceLink.applied).where(
        SourceLink.source == source,
        SourceLink.object == obj,
        SourceLink.deleted_at.is_(None),
        SourceLink.applied["refused"].as_string().is_not(None),
    )
    keys = sorted(wanted or ())
    found = (
        session.execute(q).all()
        if wanted is None
        else [
            row
            for at in range(0, len(keys), LINKS_AT_ONCE)
            for row in session.execute(
                q.where(among(session, SourceLink.external_id, keys[at : at + LINKS_AT_ONCE]))
            )
        ]
    )
    out = {}
    for external_id, applied in found:
        refused = applied.get("refused") or {}
        agreed, held = {}, {}
        for crm, (name, rule) in rules.items():
            if name in refused:
                sort, spec = specs[crm]
                agreed[crm] = canonical(sort, _crm_word(rule, applied.get(name)), source, spec)
                held[crm] = canonical(sort, refused[name], source, spec)
        if agreed:
            when = applied.get("refused_at")
            out[external_id] = (agreed, held, datetime.fromisoformat(when) if when else None)
    return out


def _crm_word(rule: ValueRule, value: Any) -> Any:
    """An overlay value as the CRM field spells it (a `choices` rule maps CRM words to ours)."""
    if isinstance(rule.choices, dict) and value is not None:
        return next((crm for crm, ours in rule.choices.items() if ours == value), value)
    return value


# -- overlay values per kind ------------------------------------------------------------------


def person_values(session: Session, sharing: Sharing, ids: list[int]) -> dict[int, dict[str, Any]]:
    """strongest_strength, known_by, relationship_owner, last_interaction of each person, from
    the relationships the CRM audience may see (strongest first)."""
    by_person: dict[int, list[VisibleRel]] = {}
    rels: list[VisibleRel] = []
    for start in range(0, len(ids), 5000):
        rels += visible_relationships(session, CRM_AUDIENCE, sharing, ids[start : start + 5000])
    for v in rels:
        by_person.setdefault(v.person_id, []).append(v)
    owners = _owner_ids(session, [v.id for v in rels])
    out = {}
    for pid, seen in by_person.items():
        lasts = [v.last_interaction_at for v in seen if v.last_interaction_at is not None]
        owner = next((v.member_name for v in seen if v.id in owners), None)
        out[pid] = {
            "strongest_strength": max((v.strength or 0 for v in seen), default=0) or None,
            "known_by": "; ".join(
                f"{v.member_name} ({v.strength})" if v.strength else v.member_name for v in seen
            ),
            "relationship_owner": owner,
            "last_interaction": max(lasts) if lasts else None,
        }
    return out


def _owner_ids(session: Session, rel_ids: list[int]) -> set[int]:
    """Of these (visible) relationships, the ones whose member owns the relationship."""
    found: set[int] = set()
    for start in range(0, len(rel_ids), 5000):
        chunk = rel_ids[start : start + 5000]
        q = select(Relationship.id).where(Relationship.id.in_(chunk), Relationship.is_owner)
        found.update(session.scalars(q))
    return found


def org_values(session: Session, sharing: Sharing, ids: list[int]) -> dict[int, dict[str, Any]]:
    """coverage (percent of the org's live people a colleague the CRM may see knows, as a plan
    counts it), single_threaded (a key person only one of them knows): counted in the store
    through the one rule (`known_counts`); only the counts leave it."""
    out = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        tally = {
            oid: [0, 0, False] for oid in session.scalars(select(Org.id).where(Org.id.in_(chunk)))
        }
        people = session.execute(people_in(chunk, Person.id, Person.org_id, Person.level)).all()
        known = known_counts(session, CRM_AUDIENCE, sharing, people_in(chunk, Person.id))
        stances = stances_of(session, chunk)
        for pid, oid, level in people:
            acc, n = tally.get(oid), known.get(pid, 0)
            if acc is None:
                continue
            acc[0] += 1
            acc[1] += n > 0
            acc[2] = acc[2] or (n == 1 and is_key(level, stances.get(pid, "unknown")))
        for oid, (count, known_people, single) in tally.items():
            out[oid] = {
                "coverage": round(100.0 * known_people / count, 1) if count else None,
                "single_threaded": bool(single),
            }
    return out


def opportunity_values(
    session: Session, sharing: Sharing, ids: list[int]
) -> dict[int, dict[str, Any]]:
    """referrer, credit_amount, credit_percent from the pending and earned referral credits."""
    q = (
        select(ReferralCredit, Member.name)
        .join(Member, Member.id == ReferralCredit.referrer_id)
        .where(
            ReferralCredit.status.in_(("pending", "earned")),
            among(session, ReferralCredit.opportunity_id, ids),
        )
        .order_by(ReferralCredit.opportunity_id, ReferralCredit.id)
    )
    out: dict[int, dict[str, Any]] = {}
    for credit, name in session.execute(q):
        doc = out.setdefault(
            credit.opportunity_id, {"referrer": [], "credit_amount": None, "credit_percent": 0.0}
        )
        doc["referrer"].append(name)
        if credit.amount is not None:
            doc["credit_amount"] = (doc["credit_amount"] or 0.0) + credit.amount
        doc["credit_percent"] += credit.percent
    for doc in out.values():
        doc["referrer"] = "; ".join(doc["referrer"])
    return out


VALUES = {"person": person_values, "org": org_values, "opportunity": opportunity_values}


# -- canonical values -----------------------------------------------------------------------------


def canonical(sort: str, value: Any, source: str, spec: OutField) -> Any:
    """A value (from the overlay, or as a pull saw it in the CRM) in the one form it is hashed
    and compared in; None for no value (a Salesforce checkbox has none: false)."""
    if sort == "bool":
        return _bool(value)
    if value is None or value == "":
        return None
    if sort == "number":
        return _number(value, spec.scale if spec.scale is not None else DEFAULT_SCALE)
    if sort == "datetime":
        when = _datetime(value)
        return when.isoformat(timespec="milliseconds").replace("+00:00", "Z") if when else None
    if sort == "date":
        when = _datetime(value)
        return when.date().isoformat() if when else None
    text = str(value).strip()
    limit = spec.length or TEXT_MAX.get(source, 255)
    return text[:limit] or None


def crm_value(sort: str, value: Any) -> Any:
    """A canonical value as the adapters take it (datetimes and dates as objects)."""
    if value is None:
        return None
    if sort == "datetime":
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if sort == "date":
        return date.fromisoformat(str(value))
    return value


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def _number(value: Any, scale: int) -> int | float | None:
    try:
        number = round(float(value), scale)
    except (TypeError, ValueError):
        return None
    return int(number) if number == int(number) else number


def _datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
        when = datetime.fromtimestamp(int(value) / 1000, UTC)
    else:
        text = str(value).strip().replace("Z", "+00:00")
        if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":  # +0000 -> +00:00
            text = f"{text[:-2]}:{text[-2:]}"
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)
