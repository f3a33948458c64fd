"""The shapes of the API's campaign answers (api_campaigns), declared like api_models: they mirror
the dictionaries of connector.governance.campaigns field for field, so /api/v1/openapi.json says
exactly what each route returns (a field added there is added here).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from connector.store.models_campaigns import CAMPAIGN_STATES, NOMINATION_STATES

CampaignState = Literal[CAMPAIGN_STATES]  # type: ignore[valid-type]
NominationState = Literal[NOMINATION_STATES]  # type: ignore[valid-type]
Role = Literal["owner", "rep"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Someone(_Out):
    name: str
    email: str


class Criteria(_Out):
    """The target criteria given (an absent one: anyone)."""

    orgs: list[str] | None = None
    levels: list[str] | None = None
    countries: list[str] | None = None
    min_strength: int | None = None


class Campaign(_Out):
    id: int
    name: str
    purpose: str | None
    starts_on: str | None
    ends_on: str | None
    capacity: int
    guests: int  # distinct people accepted: the seats taken
    state: CampaignState
    owner: Someone
    criteria: Criteria
    created_at: str | None
    opened_at: str | None
    closed_at: str | None
    done_at: str | None


class CampaignListed(Campaign):
    role: Role
    mine: int  # my nominations (not withdrawn)
    candidates: int  # my contacts that match and I have not nominated (open campaigns)
    nominations: int | None = None  # the owner's: the nominations they see
    waiting: int | None = None  # the owner's: those waiting for their answer


class CampaignPerson(_Out):
    name: str
    title: str | None
    org: str | None
    level: str | None = None
    country: str | None = None
    email: str | None = None  # on the nominator's own rows only


class Nomination(_Out):
    """A nomination as one who may see it sees it; answering a decision on a guest the owner no
    longer sees, without who nominated them or how well they know them (`by_colleague`)."""

    id: int
    campaign_id: int
    status: NominationState
    relationship_id: int | None
    person: CampaignPerson
    nominator: Someone | None
    strength: int | None
    note: str | None
    reason: str | None
    created_at: str | None = None
    decided_at: str | None
    crm_status: dict[str, str]  # what each CRM says of the guest: {"salesforce": "Attended"}
    disclosed: bool | None = None  # seen through the campaign rule only (the owner, while open)
    by_colleague: bool | None = None


class Guest(_Out):
    person_id: int
    name: str
    title: str | None
    org: str | None
    nominations: list[int]
    nominators: list[Someone]  # those the owner may see
    by_colleague: bool  # nominated (also) by a colleague the owner may not see
    crm_status: dict[str, str]


class Candidate(_Out):
    relationship_id: int
    person: CampaignPerson
    strength: int | None
    shareability: Literal["private", "discoverable", "shared"]
    exclusive: bool


class CampaignShown(_Out):
    campaign: Campaign
    role: Role
    nominations: list[Nomination]  # the owner: as the campaign rule shows them; a rep: none
    guests: list[Guest]  # the owner's
    candidates: list[Candidate]  # mine, while the campaign takes nominations
    mine: list[Nomination]
