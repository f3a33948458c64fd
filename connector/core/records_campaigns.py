"""The record types of invitation campaigns that cross between Carnet and a CRM adapter: the
campaign itself (a Salesforce Campaign, a HubSpot contact list) and its members (CampaignMembers,
list memberships). See connector/writeback/campaigns.py and docs/campaigns.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# the member statuses Carnet uses, in the order a guest goes through them; a Salesforce campaign
# carries them as its CampaignMemberStatus values (HubSpot lists hold membership only)
MEMBER_STATUSES = ("Nominated", "Invited", "Attended")


def campaign_marker(campaign_id: int | str) -> str:
    """What a CRM campaign carries (Salesforce: Description; HubSpot: the list's name) so a push
    finds the one it made before making another."""
    return f"[carnet:campaign:{campaign_id}]"


@dataclass(frozen=True)
class CampaignRecord:
    """A campaign as one CRM holds it: created once (found again by its marker), then updated."""

    key: str  # the outbox row's id: results come back under it
    campaign_id: int  # Carnet's
    ref: str | None  # the CRM's id (Campaign Id, list id) when known; None: find, else create
    marker: str  # `campaign_marker(campaign_id)`
    name: str  # plain text, at most 80 characters
    description: str  # plain text: the purpose, then the marker
    status: str  # Salesforce Campaign.Status: Planned / In Progress / Completed
    starts_on: date | None = None
    ends_on: date | None = None


@dataclass(frozen=True)
class MemberState:
    """A member of a CRM campaign as last read: its id there and status (None: no status, as in
    a HubSpot list)."""

    ref: str
    status: str | None


@dataclass(frozen=True)
class MemberWrite:
    """Add, update or remove one contact of one CRM campaign. Adding a contact that is already a
    member is not an error: the adapter makes it hold `status` (a push that died after the CRM's
    answer must not duplicate a member)."""

    key: str  # the outbox row's id
    campaign_ref: str  # the CRM campaign / list id
    contact: str  # the CRM contact id
    ref: str | None  # the member's own id when known (Salesforce CampaignMember Id)
    status: str | None  # one of MEMBER_STATUSES, or None where the CRM keeps no status
    remove: bool = False


__all__ = ["MEMBER_STATUSES", "CampaignRecord", "MemberState", "MemberWrite", "campaign_marker"]
