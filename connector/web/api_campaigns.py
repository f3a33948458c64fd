"""The API's invitation campaigns (added to /api/v1 by app.create_app through `campaign_routes`):
the same services as the campaign pages, through api.call, so the same authorisation: 401
nobody signed in, 403 not the owner's (audited) or not a manager's or admin's to create, 400 a
request the service refuses, with its message.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Path, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from connector.store.models import LEVELS, Member
from connector.web import api_campaign_models as out
from connector.web import services_campaigns as camp
from connector.web.api import call
from connector.web.api_models import NO_NUL
from connector.web.context import context
from connector.web.tokens import Signed

RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Email = Annotated[str, Field(min_length=3, max_length=320, pattern=NO_NUL)]
OrgName = Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)]
Country = Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")]


class CriteriaBody(BaseModel):
    orgs: list[OrgName] = Field(default_factory=list, max_length=50)
    levels: list[Literal[LEVELS]] = Field(default_factory=list, max_length=6)  # type: ignore[valid-type]
    countries: list[Country] = Field(default_factory=list, max_length=50)
    min_strength: int | None = Field(default=None, ge=1, le=5)


class CampaignBody(BaseModel):
    name: str = Field(min_length=1, max_length=80, pattern=NO_NUL)
    capacity: int = Field(ge=1, le=100_000)
    purpose: str | None = Field(default=None, max_length=2000, pattern=NO_NUL)
    starts_on: date | None = None
    ends_on: date | None = None
    criteria: CriteriaBody = Field(default_factory=CriteriaBody)


class StateBody(BaseModel):
    target: Literal["open", "closed", "done"]


class NominateBody(BaseModel):
    person_email: Email
    note: str | None = Field(default=None, max_length=2000, pattern=NO_NUL)


class WithdrawBody(BaseModel):
    person_email: Email


class DecideBody(BaseModel):
    reason: str | None = Field(
        default=None, max_length=2000, pattern=NO_NUL, description="required to decline"
    )


def campaign_routes(api: FastAPI) -> None:
    _reading(api)
    _owning(api)
    _nominating(api)


def _reading(api: FastAPI) -> None:
    @api.get("/campaigns", response_model=list[out.CampaignListed])
    def campaigns(request: Request) -> Any:
        """The open campaigns, the ones I own and the ones I nominated someone to."""
        return call(request, lambda s, signed, m: camp.listing(s, m, context(request).sharing))

    @api.get("/campaigns/{campaign_id}", response_model=out.CampaignShown)
    def campaign(request: Request, campaign_id: RowId) -> Any:
        """A campaign as I may see it: the owner, the nominations (as the campaign rule shows
        them) and the guests; a rep, my candidates and my own nominations."""
        sharing = context(request).sharing
        return call(request, lambda s, signed, m: camp.show(s, m, campaign_id, sharing))


def _owning(api: FastAPI) -> None:
    @api.post("/campaigns", response_model=out.Campaign)
    def create(request: Request, body: CampaignBody) -> Any:
        """A new draft campaign, owned by me (a manager or an admin)."""

        def work(s: Session, signed: Signed, m: Member) -> Any:
            fields = body.model_dump(exclude={"criteria"})
            return camp.create(s, m, signed, {**fields, "criteria": body.criteria.model_dump()})

        return call(request, work)

    @api.post("/campaigns/{campaign_id}/state", response_model=out.Campaign)
    def move(request: Request, campaign_id: RowId, body: StateBody) -> Any:
        """Open a draft, close an open campaign, mark a closed one done (its owner)."""
        return call(request, lambda s, signed, m: camp.move(s, m, signed, campaign_id, body.target))

    @api.post(
        "/campaigns/{campaign_id}/nominations/{nomination_id}/{action}",
        response_model=out.Nomination,
    )
    def decide(
        request: Request,
        campaign_id: RowId,
        nomination_id: RowId,
        action: Literal["accept", "decline"],
        body: DecideBody,
    ) -> Any:
        """Accept (within capacity) or decline (with a reason) a nomination: the owner."""

        def work(s: Session, signed: Signed, m: Member) -> Any:
            ids, accept = (campaign_id, nomination_id), action == "accept"
            return camp.decide(s, m, ids, accept, body.reason, context(request).sharing)

        return call(request, work)


def _nominating(api: FastAPI) -> None:
    @api.post("/campaigns/{campaign_id}/nominations", response_model=out.Nomination)
    def nominate(request: Request, campaign_id: RowId, body: NominateBody) -> Any:
        """Put one person I know forward for an open campaign (its owner alone sees it)."""

        def work(s: Session, signed: Signed, m: Member) -> Any:
            sharing = context(request).sharing
            return camp.nominate(s, m, campaign_id, body.person_email, body.note, sharing)

        return call(request, work)

    @api.post("/campaigns/{campaign_id}/nominations/withdraw", response_model=out.Nomination)
    def withdraw(request: Request, campaign_id: RowId, body: WithdrawBody) -> Any:
        """Take back my nomination of a person while the owner has not decided on it."""
        return call(
            request, lambda s, signed, m: camp.withdraw(s, m, campaign_id, body.person_email)
        )
