"""Invitation campaigns for the CRMs: what the outbox should hold of them (docs/writeback.md
"Campaigns").

Per CRM that Carnet writes contacts to, a campaign that is open, closed or done is one outbox row
(field set "campaign": a Salesforce Campaign, a HubSpot contact list; found again by its marker
before it is made) and one row per accepted guest with a live link to a contact there (field set
"member": a CampaignMember, a list membership). A guest no longer accepted keeps its row, turned
into a removal, until the CRM confirms it gone: only members Carnet added are ever removed.

A member's status is Carnet's ("Nominated" while the campaign is open, "Invited" after) unless
the CRM holds one further on (Attended, or any value of its own), read back into
`Nomination.crm_status`: that one is kept, never overwritten.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.records_campaigns import (
    MEMBER_STATUSES,
    CampaignRecord,
    MemberWrite,
    campaign_marker,
)
from connector.store.models import Outbox, Person, Relationship, SourceLink
from connector.store.models_campaigns import Campaign, Nomination
from connector.writeback.desired import Desired, live_links, written_objects
from connector.writeback.outbox import changed
from mappings.schema import Mapping

CAMPAIGN, MEMBER = "campaign", "member"  # the outbox field sets
CAMPAIGN_OBJECTS = {"salesforce": "Campaign", "hubspot": "lists"}
MEMBER_OBJECTS = {"salesforce": "CampaignMember", "hubspot": "list_memberships"}
KEEPS_STATUS = frozenset({"salesforce"})  # a HubSpot list holds membership only
WRITTEN_STATES = ("open", "closed", "done")
CRM_STATES = {"open": "Planned", "closed": "In Progress", "done": "Completed"}
LISTED = "Listed"  # what crm_status says of a guest in a CRM that keeps no member status
REMOVED = {"member": False, "status": None}

Guests = dict[int, dict[str, list[Nomination]]]  # campaign id -> CRM contact id -> nominations


def contact_object(mapping: Mapping) -> str | None:
    """The CRM object Carnet writes people to (Contact, contacts); None: no campaign goes there."""
    return next((o for o in written_objects(mapping) if mapping.objects[o].kind == "person"), None)


def member_key(campaign_id: int, contact: str) -> str:
    return f"{campaign_id}:{contact}"


def split_key(external_id: str) -> tuple[int, str]:
    """A member row's (campaign id, CRM contact id)."""
    campaign, contact = external_id.split(":", 1)
    return int(campaign), contact


# -- desired state --------------------------------------------------------------------------------


def desired_campaigns(session: Session, source: str, mapping: Mapping) -> Iterator[Desired]:
    """Every written campaign's row, its guests' member rows, and removals of former guests."""
    objects = _objects(source, mapping)
    if objects is None:
        return
    camp_obj, member_obj, contacts = objects
    campaigns = list(
        session.scalars(
            select(Campaign).where(Campaign.state.in_(WRITTEN_STATES)).order_by(Campaign.id)
        )
    )
    if not campaigns:
        return
    guests = accepted_guests(session, source, contacts, [c.id for c in campaigns])
    wanted: set[str] = set()
    for c in campaigns:
        yield Desired(camp_obj, str(c.id), CAMPAIGN, campaign_values(source, c))
        for contact, noms in guests.get(c.id, {}).items():
            wanted.add(member_key(c.id, contact))
            yield Desired(
                member_obj, member_key(c.id, contact), MEMBER, member_values(source, c, noms)
            )
    written = {c.id for c in campaigns}
    yield from _removals(session, source, member_obj, written, wanted)


def _objects(source: str, mapping: Mapping) -> tuple[str, str, str] | None:
    contacts = contact_object(mapping)
    if source not in CAMPAIGN_OBJECTS or contacts is None:
        return None
    return CAMPAIGN_OBJECTS[source], MEMBER_OBJECTS[source], contacts


def _removals(
    session: Session, source: str, member_obj: str, campaigns: set[int], wanted: set[str]
) -> Iterator[Desired]:
    """A member row no longer wanted, of a campaign still written, becomes a removal until it is
    done (a row whose add was never confirmed too: a push may have died after the CRM made it)."""
    q = select(Outbox.external_id, Outbox.desired, Outbox.status).where(
        Outbox.source == source, Outbox.field_set == MEMBER
    )
    for external_id, doc, status in session.execute(q.order_by(Outbox.id)):
        if external_id in wanted or split_key(external_id)[0] not in campaigns:
            continue
        if status == "done" and (doc or {}).get("values") == REMOVED:
            continue  # removed: the row goes with this refresh
        yield Desired(member_obj, external_id, MEMBER, dict(REMOVED))


def campaign_values(source: str, c: Campaign) -> dict[str, Any]:
    """The campaign as the CRM holds it: a Salesforce Campaign's fields; a HubSpot list's name
    (the list holds nothing else of it)."""
    if source not in KEEPS_STATUS:
        return {"name": c.name[:80]}
    marker = campaign_marker(c.id)
    return {
        "name": c.name[:80],
        "description": f"{c.purpose}\n\n{marker}" if c.purpose else marker,
        "status": CRM_STATES[c.state],
        "starts_on": c.starts_on.isoformat() if c.starts_on else None,
        "ends_on": c.ends_on.isoformat() if c.ends_on else None,
    }


def member_values(source: str, c: Campaign, nominations: list[Nomination]) -> dict[str, Any]:
    """An accepted guest: a member, with Carnet's status unless the CRM's is further on."""
    if source not in KEEPS_STATUS:
        return {"member": True, "status": None}
    ours = "Nominated" if c.state == "open" else "Invited"
    held = next(
        (s for n in nominations if (s := (n.crm_status or {}).get(source)) is not None), None
    )
    return {"member": True, "status": kept_status(held, ours)}


def kept_status(held: str | None, ours: str) -> str:
    """The CRM's status when it is ours or further on (Attended, or a value of its own: never
    overwritten); ours when the CRM holds none or an earlier one of ours."""
    if held is None or held not in MEMBER_STATUSES:
        return held or ours
    return held if MEMBER_STATUSES.index(held) >= MEMBER_STATUSES.index(ours) else ours


def accepted_guests(
    session: Session, source: str, contacts: str, campaign_ids: Iterable[int]
) -> Guests:
    """Each campaign's accepted guests that have a live contact in `source` (the oldest link of
    a person linked twice), with their accepted nominations (two reps may have put them forward)."""
    q = (
        select(Nomination, Relationship.person_id)
        .join(Relationship, Relationship.id == Nomination.relationship_id)
        .join(Person, Person.id == Relationship.person_id)
        .where(
            Nomination.campaign_id.in_(list(campaign_ids)),
            Nomination.status == "accepted",
            Person.deleted_at.is_(None),
            Person.merged_into_id.is_(None),
        )
        .order_by(Nomination.id)
    )
    by_person: dict[int, dict[int, list[Nomination]]] = {}
    for nomination, person_id in session.execute(q):
        by_person.setdefault(nomination.campaign_id, {}).setdefault(person_id, []).append(
            nomination
        )
    people = {p for persons in by_person.values() for p in persons}
    link: dict[int, str] = {}
    for start in range(0, len(people), 5000):
        chunk = sorted(people)[start : start + 5000]
        q2 = live_links(source, contacts, "person").where(SourceLink.entity_id.in_(chunk))
        for person_id, external_id in session.execute(q2.order_by(SourceLink.id)):
            link.setdefault(int(person_id), external_id)
    return {
        cid: {link[p]: noms for p, noms in persons.items() if p in link}
        for cid, persons in by_person.items()
    }


# -- rows -> the adapters' records ---------------------------------------------------------------


def campaign_record(row: Outbox) -> CampaignRecord:
    values = row.desired["values"]
    cid = int(row.external_id)
    marker = campaign_marker(cid)
    return CampaignRecord(
        key=str(row.id),
        campaign_id=cid,
        ref=row.desired.get("ref"),
        marker=marker,
        name=values["name"],
        description=values.get("description", marker),
        status=values.get("status", ""),
        starts_on=_date(values.get("starts_on")),
        ends_on=_date(values.get("ends_on")),
    )


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def member_write(row: Outbox, campaign_ref: str) -> MemberWrite:
    values = row.desired["values"]
    return MemberWrite(
        key=str(row.id),
        campaign_ref=campaign_ref,
        contact=split_key(row.external_id)[1],
        ref=row.desired.get("ref"),
        status=values["status"],
        remove=not values["member"],
    )


def preview_campaigns(rows: list[Outbox]) -> list[dict[str, Any]]:
    """What a push would write of campaigns and their members, as `outbox.preview` lists fields."""
    out = []
    for row in rows:
        doc = row.desired
        values, base = doc["values"], doc.get("base") or {}
        if row.field_set == CAMPAIGN and not doc.get("ref"):
            out.append(_change(row, "(campaign)", "create (or adopt) campaign", values["name"]))
        elif row.field_set == CAMPAIGN:
            for name, new in changed(values, doc.get("base")).items():
                out.append(_change(row, name, base.get(name), new))
        else:
            out.append(_change(row, "(member)", _member_word(base), _member_word(values)))
    return out


def _member_word(values: dict[str, Any]) -> str | None:
    if not values:
        return None  # not known
    if not values.get("member"):
        return "not a member"
    return values.get("status") or "member"


def _change(row: Outbox, name: str, old: Any, new: Any) -> dict[str, Any]:
    return {"object": row.object, "id": row.external_id, "field": name, "old": old, "new": new}
