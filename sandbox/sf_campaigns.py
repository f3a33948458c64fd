"""The rules between the Salesforce stand-in's Campaign, CampaignMemberStatus and CampaignMember
(their fields are in sf_schema), applied by sf_write around every create, update and delete.

As in Salesforce: a new campaign gets two member statuses, "Sent" (the default) and "Responded";
each campaign has its own statuses, one of them the default (making another the default takes it
from the first), their labels and sort orders unique within the campaign. A member is a contact
(or a lead) of one campaign, at most once ("Already a campaign member."), holding one of that
campaign's statuses (its default when none is given); its HasResponded follows the status.
A status that is the default, or that members hold, cannot be deleted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .sf_ids import normalize_id as norm_id
from .sf_validate import RecordError

if TYPE_CHECKING:
    from .sf_store import Record, Store

# what a new campaign starts with: (Label, IsDefault, HasResponded)
FIRST_STATUSES = (("Sent", True, False), ("Responded", False, True))
ALREADY_MEMBER = "Already a campaign member."


def prepare(store: Store, obj: str, values: Record, current: Record | None) -> Record:
    """Check `values` (already valid field by field) against the campaign rules; the values
    Salesforce adds to them (defaults, derived fields). `current`: the record updated, if any."""
    if obj == "CampaignMemberStatus":
        return _status_values(store, values, current)
    if obj == "CampaignMember":
        return _member_values(store, values, current)
    return {}


def after_write(store: Store, obj: str, rec: Record, by: str, created: bool) -> None:
    """What a write sets off: a new campaign's first statuses; a new default status."""
    if obj == "Campaign" and created:
        for order, (label, default, responded) in enumerate(FIRST_STATUSES, start=1):
            row = {"CampaignId": rec["Id"], "Label": label, "SortOrder": order}
            row |= {"IsDefault": default, "HasResponded": responded}
            store.insert("CampaignMemberStatus", row, by)
    if obj == "CampaignMemberStatus" and rec["IsDefault"]:
        for other in _statuses(store, rec["CampaignId"]):
            if other["Id"] != rec["Id"] and other["IsDefault"]:
                store.update("CampaignMemberStatus", other["Id"], {"IsDefault": False}, by)


def check_delete(store: Store, obj: str, rid: str) -> None:
    """Salesforce keeps a campaign's default status, and any status its members hold."""
    if obj != "CampaignMemberStatus":
        return
    status = store.tables[obj][rid]
    held = any(
        m["CampaignId"] == status["CampaignId"] and m["Status"] == status["Label"]
        for m in store.rows("CampaignMember")
    )
    if status["IsDefault"] or held:
        why = "the default status" if status["IsDefault"] else "a status campaign members hold"
        raise RecordError("DELETE_FAILED", f"You can't delete {why}: {status['Label']}")


# -- member statuses ----------------------------------------------------------------------------
def _statuses(store: Store, campaign: Any) -> list[Record]:
    cid = norm_id(campaign)
    return [r for r in store.rows("CampaignMemberStatus") if r["CampaignId"] == cid]


def _status_values(store: Store, values: Record, current: Record | None) -> Record:
    campaign = current["CampaignId"] if current else values.get("CampaignId")
    others = [r for r in _statuses(store, campaign) if not current or r["Id"] != current["Id"]]
    label = values.get("Label")
    for row in others:
        if label is not None and str(row["Label"]).casefold() == str(label).casefold():
            raise RecordError("DUPLICATE_VALUE", _duplicate("Label", row["Id"]), ["Label"])
    order = values.get("SortOrder")
    for row in others:
        if order is not None and row["SortOrder"] == order:
            raise RecordError("DUPLICATE_VALUE", _duplicate("SortOrder", row["Id"]), ["SortOrder"])
    if current is None and order is None:  # the next free place at the end of the list
        return {"SortOrder": max((r["SortOrder"] or 0 for r in others), default=0) + 1}
    return {}


def _duplicate(field: str, record_id: str) -> str:
    return f"duplicate value found: {field} duplicates value on record with id: {record_id}"


# -- members ------------------------------------------------------------------------------------
def _member_values(store: Store, values: Record, current: Record | None) -> Record:
    extra: Record = {}
    if current is None:
        _check_new_member(store, values)
        if values.get("ContactId") and values.get("LeadId"):  # Salesforce keeps the contact
            extra["LeadId"] = None
    elif "Status" not in values:
        return extra
    campaign = current["CampaignId"] if current else norm_id(values["CampaignId"])
    statuses = _statuses(store, campaign)
    wanted = values.get("Status")
    if wanted is None:  # the campaign's default status
        row = next((r for r in statuses if r["IsDefault"]), None)
        extra["Status"] = row["Label"] if row else None
    else:
        row = next((r for r in statuses if r["Label"] == wanted), None)
        if row is None:
            raise RecordError(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"Status: bad value for restricted picklist field: {wanted}",
                ["Status"],
            )
    return extra | {"HasResponded": bool(row and row["HasResponded"])}


def _check_new_member(store: Store, values: Record) -> None:
    contact, lead = norm_id(values.get("ContactId")), norm_id(values.get("LeadId"))
    if contact is None and lead is None:
        raise RecordError(
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [ContactId, LeadId]",
            ["ContactId", "LeadId"],
        )
    campaign = norm_id(values["CampaignId"])
    for member in store.rows("CampaignMember"):
        if member["CampaignId"] != campaign:
            continue
        if (contact and member["ContactId"] == contact) or (lead and member["LeadId"] == lead):
            raise RecordError("DUPLICATE_VALUE", ALREADY_MEMBER, [])
