"""Invitation campaigns in Salesforce: a `Campaign` per Carnet campaign, with the member statuses
Carnet uses (CampaignMemberStatus), and its `CampaignMember`s (members.py writes them).

A campaign is found again by the marker its Description carries. Description is a long text
area, which SOQL cannot filter on, so the campaigns Carnet's own user created are read (a few
rows: Id and Description) and the markers looked for in them; a campaign a colleague cloned,
marker and all, is not Carnet's and is never adopted. Each campaign pushed is then made sure to
hold Nominated (the default), Invited and Attended (responded): statuses read first, the missing
ones created, so a push that died half-way finishes the job the next time.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from simple_salesforce.format import format_soql

from adapters.salesforce import members
from adapters.salesforce.client import Client
from adapters.salesforce.members import query
from adapters.salesforce.push import failed, push
from connector.core.errors import CarnetError, FatalError, UsageError
from connector.core.records import Write, WriteResult
from connector.core.records_campaigns import (
    MEMBER_STATUSES,
    CampaignRecord,
    MemberState,
    MemberWrite,
)

NAME_MAX = 80
DESCRIPTION_MAX = 32_000
IDS_PER_QUERY = 200  # ids in one `IN (...)`: keeps the query URL short
MARKER = re.compile(r"\[carnet:campaign:[^\]\s]+\]")
DEFAULT_STATUS, RESPONDED_STATUS = MEMBER_STATUSES[0], MEMBER_STATUSES[-1]


class CampaignsMixin:
    """The CampaignWriter part of the Salesforce adapter."""

    client: Client

    def find_campaigns(self, campaigns: list[CampaignRecord]) -> dict[str, str]:
        return find_campaigns(self.client, [c.marker for c in campaigns])

    def push_campaigns(self, campaigns: list[CampaignRecord]) -> list[WriteResult]:
        return push_campaigns(self.client, campaigns)

    def read_members(self, campaign_ref: str) -> dict[str, MemberState]:
        return members.read_members(self.client, campaign_ref)

    def push_members(self, writes: list[MemberWrite]) -> list[WriteResult]:
        return members.push_members(self.client, writes)


def find_campaigns(client: Client, markers: list[str]) -> dict[str, str]:
    """Marker -> the id of the (oldest) live Campaign Carnet's user made that carries it."""
    if not markers:
        return {}
    wanted = set(markers)
    found: dict[str, str] = {}
    for row in query(client, _own_campaigns, "Campaign"):
        for marker in MARKER.findall(str(row.get("Description") or "")):
            if marker in wanted:
                found.setdefault(marker, str(row["Id"]))
    return found


def _own_campaigns(client: Client) -> str:
    user = client.user_id  # known once logged in, which the query's call makes sure of
    if user is None:
        raise FatalError("Salesforce's login answer did not say which user Carnet runs as")
    return format_soql(
        "SELECT Id, Description FROM Campaign WHERE CreatedById = {} ORDER BY CreatedDate, Id",
        user,
    )


def push_campaigns(client: Client, campaigns: list[CampaignRecord]) -> list[WriteResult]:
    """Create (ref None) or update each campaign, then see to its member statuses; a campaign
    whose statuses could not be made is not OK (its id is given all the same)."""
    results = push(client, [campaign_write(c) for c in campaigns])
    pushed = {r.id: r for r in results if r.ok and r.id}
    short = ensure_statuses(client, list(pushed))
    return [short.get(r.id, r) if r.ok and r.id else r for r in results]


def campaign_write(campaign: CampaignRecord) -> Write:
    values: dict[str, Any] = {
        "Name": campaign.name[:NAME_MAX],
        "Description": description(campaign),
        "Status": campaign.status,
        "StartDate": campaign.starts_on,
        "EndDate": campaign.ends_on,
        "IsActive": True,
    }
    return Write("Campaign", campaign.ref, values, key=campaign.key)


def description(campaign: CampaignRecord) -> str:
    """The Description within Salesforce's limit, its marker kept whatever is cut."""
    text = campaign.description
    if len(text) <= DESCRIPTION_MAX:
        return text
    room = DESCRIPTION_MAX - len(campaign.marker) - 2
    return text[:room].rstrip() + "\n\n" + campaign.marker


# -- member statuses ------------------------------------------------------------------------------
def ensure_statuses(client: Client, campaign_ids: list[str]) -> dict[str, WriteResult]:
    """Create the MEMBER_STATUSES each campaign lacks; campaign id -> a failed result (with the
    campaign's id) for those whose statuses could not be read or made."""
    if not campaign_ids:
        return {}
    try:
        held = _statuses(client, campaign_ids)
    except UsageError:
        raise
    except CarnetError as exc:
        return {cid: failed(Write("Campaign", cid, {}, key=cid), exc) for cid in campaign_ids}
    writes = [w for cid in campaign_ids for w in _missing(cid, held.get(cid, []))]
    short: dict[str, WriteResult] = {}
    for write, result in zip(writes, push(client, writes), strict=True):
        cid = str(write.values["CampaignId"])
        if not result.ok and cid not in short:
            why = f"member status {write.values['Label']}: {result.error}"
            short[cid] = replace(result, id=cid, error=why)
    return short


def _statuses(client: Client, campaign_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Campaign id -> its CampaignMemberStatus rows (Label, SortOrder)."""
    held: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(campaign_ids), IDS_PER_QUERY):
        chunk = campaign_ids[start : start + IDS_PER_QUERY]
        soql = format_soql(
            "SELECT Id, CampaignId, Label, SortOrder FROM CampaignMemberStatus"
            " WHERE CampaignId IN {}",
            chunk,
        )
        for row in query(client, soql, "CampaignMemberStatus"):
            held.setdefault(str(row["CampaignId"]), []).append(row)
    return held


def _missing(campaign_id: str, rows: list[dict[str, Any]]) -> list[Write]:
    """The status creations `campaign_id` needs, placed after the statuses it has."""
    labels = {str(r.get("Label") or "").casefold() for r in rows}
    order = max((int(r.get("SortOrder") or 0) for r in rows), default=0)
    writes = []
    for label in MEMBER_STATUSES:
        if label.casefold() in labels:
            continue  # there already: whatever a CRM user made of it stays
        order += 1
        values = {
            "CampaignId": campaign_id,
            "Label": label,
            "SortOrder": order,
            "IsDefault": label == DEFAULT_STATUS,
            "HasResponded": label == RESPONDED_STATUS,
        }
        writes.append(Write("CampaignMemberStatus", None, values, key=campaign_id))
    return writes
