"""The shapes of the API's account plan, credits, network quality and admin answers (api_more),
declared like api_models: they mirror the service functions' dictionaries, field for field.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from connector.web.api_models import Contact, MemberRef, OrgRef


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- account plans -------------------------------------------------------------------------------


class PlanOrg(_Out):
    id: int
    name: str
    country: str | None
    domains: list[str]


class PlanKnownBy(_Out):
    member: MemberRef
    yours: bool
    visibility: Literal["discoverable", "full"]
    strength: int | None


class Stakeholder(_Out):
    id: int
    name: str
    title: str | None
    level: str
    country: str | None
    reports_to_id: int | None
    stance: str
    influence: int | None
    role: str | None
    key: bool
    known: int = Field(description="colleagues you may see knowing them")
    strength: int | None
    single_threaded: bool
    known_by: list[PlanKnownBy]


class LevelCoverage(_Out):
    level: str
    people: int
    known: int
    share: float | None


class CountryCoverage(_Out):
    country: str | None
    people: int
    known: int
    share: float | None


class Coverage(_Out):
    people: int
    known: int
    by_level: list[LevelCoverage]
    by_country: list[CountryCoverage]
    key: int
    key_known: int
    key_known_strong: int
    key_strong_share: float | None


class PlanAction(_Out):
    text: str
    at: str
    by: Contact | None
    source: str


class Plan(_Out):
    org: PlanOrg
    audience: str | None
    strategy: str | None
    objectives: str | None
    updated_at: str | None
    stakeholders: list[Stakeholder]
    roots: list[int]
    coverage: Coverage
    single_threaded: list[int]
    actions: list[PlanAction]


class PlanFound(_Out):
    org: OrgRef


class PlanChanged(_Out):
    org: OrgRef
    plan_id: int
    changes: dict[str, Any]


# -- credits -------------------------------------------------------------------------------------


class CreditDeal(_Out):
    id: int
    name: str | None
    org: str | None
    owner: Contact | None
    amount: float | None
    status: str


class Credit(_Out):
    id: int
    status: str
    percent: float
    amount: float | None
    currency: str | None
    referrer: Contact
    opportunity: CreditDeal
    intro_id: int | None
    created_at: str
    updated_at: str


class CreditTotal(_Out):
    referrer: str
    status: str
    currency: str | None
    amount: float


class CreditList(_Out):
    credits: list[Credit]
    totals: list[CreditTotal]


class TeamCredits(CreditList):
    name: str | None


class Credits(_Out):
    mine: CreditList
    team: TeamCredits | None = Field(description="for a manager: the team's credits")


# -- network quality -----------------------------------------------------------------------------


class Figures(_Out):
    accounts: int
    single_threaded_accounts: int
    people: int
    known: int
    key: int
    key_known: int
    key_known_strong: int
    single_threaded: int
    relationships: int
    strength: dict[str, int]
    known_share: float | None
    key_strong_share: float | None


class PersonRef(_Out):
    id: int
    name: str


class AccountFigures(Figures):
    org: OrgRef
    single_threaded_people: list[PersonRef]


class Week(Figures):
    week: str
    live: bool


class MemberFigures(_Out):
    member: MemberRef
    own_report: bool
    network_size: int
    strength: dict[str, int]
    strong: int
    shareability: dict[str, int]
    shared_share: float | None
    intros_brokered: int
    credits_earned: dict[str, float]
    credits_pending: dict[str, float]


class TeamQuality(_Out):
    team: str | None
    week: str
    figures: Figures | None
    accounts: list[AccountFigures]
    accounts_total: int
    members: list[MemberFigures]
    trend: list[Week]


# -- admin ---------------------------------------------------------------------------------------


class MappingFile(_Out):
    source: str
    path: str
    editable: bool


class MappingText(MappingFile):
    text: str
    sha256: str | None


class MappingProblem(_Out):
    line: int | None
    key: str
    message: str
    text: str


class MappingCheck(_Out):
    valid: bool
    source: str
    online: bool
    problems: list[MappingProblem]
    mapping: str | None = None
    objects: list[str] | None = None
    outbound_fields: int | None = None
    notes: list[str] | None = None
    writable: list[dict[str, Any]] | None = None


class MappingRefused(_Out):
    """A save refused: a text with problems (each with its line), or another refusal."""

    error: str
    problems: list[MappingProblem] = Field(default_factory=list)


class MappingSaved(_Out):
    source: str
    path: str
    previous: str | None
    sha256: str
    was: str | None


class MemberRoles(_Out):
    email: str
    name: str
    team: str | None
    active: bool
    roles: list[str]
    signed_in_as: list[str] | None


class Members(_Out):
    rules: dict[str, list[str]]
    total: int
    members: list[MemberRoles]
