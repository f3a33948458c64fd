"""The API's account plans, credits, network quality and admin routes (added to /api/v1 by
api.build_api through `more_routes`): the same services as the pages, through api.call, so the
same authorisation: 401 nobody, 403 not yours or not your role (audited), 400 refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from connector.core.errors import CarnetError, MappingError
from connector.governance.audit import list_events
from connector.governance.whoknows import resolve_org
from connector.status import store_status
from connector.store.models import Member
from connector.store.models_plans import STANCES
from connector.web import api_more_models as out
from connector.web.api_models import NO_NUL, Audit
from connector.web.context import context
from connector.web.services_admin import (
    check_mapping,
    mapping_files,
    members_and_roles,
    open_mapping,
    problems_json,
    save_mapping,
)
from connector.web.services_plans import (
    EXPORT_CSP,
    EXPORTS,
    credits_view,
    edit_plan,
    export,
    plan_view,
    team_view,
)
from connector.web.tokens import Signed

Call = Callable[..., Any]
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Source = Literal["salesforce", "hubspot", "exchange"]
GRANTED = object()  # what a gate's work hands back when the request may go on
EXPORT_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The plan as a file in that format (json: the plan's document)",
        "content": {
            media.split(";")[0]: {"schema": {"type": "object" if fmt == "json" else "string"}}
            for fmt, (media, _) in EXPORTS.items()
        },
    }
}


class StanceBody(BaseModel):
    person_id: int = Field(ge=1, le=2**31 - 1)
    stance: Literal[STANCES]  # type: ignore[valid-type]


class InfluenceBody(BaseModel):
    person_id: int = Field(ge=1, le=2**31 - 1)
    influence: int = Field(ge=1, le=5)


class PlanBody(BaseModel):
    strategy: str | None = Field(default=None, max_length=20000, pattern=NO_NUL)
    stance: StanceBody | None = None
    influence: InfluenceBody | None = None
    action: str | None = Field(default=None, min_length=1, max_length=2000, pattern=NO_NUL)


class MappingBody(BaseModel):
    text: str = Field(max_length=1_000_000, pattern=NO_NUL)
    online: bool = False


class SaveBody(BaseModel):
    text: str = Field(max_length=1_000_000, pattern=NO_NUL)
    base: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{64}$", description="sha256 of the version read"
    )


def more_routes(api: FastAPI, call: Call) -> None:
    _plans(api, call)
    _people(api, call)
    _admin(api, call)


def _plans(api: FastAPI, call: Call) -> None:
    @api.get("/plans", response_model=out.PlanFound)
    def plan_find(
        request: Request, q: Annotated[str, Query(max_length=1000, pattern=NO_NUL)]
    ) -> Any:
        def work(s: Session, signed: Signed, m: Member) -> Any:
            org = resolve_org(s, q)
            return {"org": {"id": org.id, "name": org.name}}

        return call(request, work)

    @api.get("/plans/{org_id}", response_model=out.Plan)
    def plan(request: Request, org_id: RowId) -> Any:
        return call(request, lambda s, signed, m: plan_view(s, org_id, m, context(request).sharing))

    @api.get("/plans/{org_id}/export/{fmt}", response_class=Response, responses=EXPORT_CONTENT)
    def plan_export(
        request: Request, org_id: RowId, fmt: Literal["md", "html", "svg", "json"]
    ) -> Any:
        def work(s: Session, signed: Signed, m: Member) -> Any:
            body, media, name = export(plan_view(s, org_id, m, context(request).sharing), fmt)
            headers = {"Content-Disposition": f'attachment; filename="{name}"'}
            if fmt in ("html", "svg"):
                headers["Content-Security-Policy"] = EXPORT_CSP
            return Response(body, media_type=media, headers=headers)

        return call(request, work)

    @api.post("/plans/{org_id}", response_model=out.PlanChanged)
    def plan_set(request: Request, org_id: RowId, body: PlanBody) -> Any:
        def work(s: Session, signed: Signed, m: Member) -> Any:
            stance = (body.stance.person_id, body.stance.stance) if body.stance else None
            infl = (body.influence.person_id, body.influence.influence) if body.influence else None
            return edit_plan(s, org_id, m, body.strategy, stance, infl, body.action)

        return call(request, work)


def _people(api: FastAPI, call: Call) -> None:
    @api.get("/credits", response_model=out.Credits)
    def credits(request: Request) -> Any:
        crm = context(request).web.managers_from_crm
        return call(request, lambda s, signed, m: credits_view(s, m, signed, crm))

    @api.get("/team/network", response_model=out.TeamQuality)
    def team(request: Request) -> Any:
        ctx = context(request)
        crm = ctx.web.managers_from_crm
        return call(request, lambda s, signed, m: team_view(s, m, signed, ctx.sharing, crm))


def _gate(request: Request, call: Call) -> Any:
    """None when an admin may go on; else the refusal (checked in a transaction of its own, so
    reading the status or asking the CRM does not hold the store)."""
    answer = call(request, lambda s, signed, m: GRANTED, admin=True)
    return None if answer is GRANTED else answer


def _admin(api: FastAPI, call: Call) -> None:
    @api.get("/admin/status", response_model=dict[str, Any])
    def status(request: Request) -> Any:
        denied = _gate(request, call)
        return denied if denied is not None else store_status(context(request).carnet)

    @api.get("/admin/mappings", response_model=list[out.MappingFile])
    def mappings(request: Request) -> Any:
        config = context(request).carnet.config
        return call(request, lambda s, signed, m: mapping_files(config), admin=True)

    @api.get("/admin/mappings/{source}", response_model=out.MappingText)
    def mapping(request: Request, source: Source) -> Any:
        config = context(request).carnet.config
        return call(request, lambda s, signed, m: open_mapping(config, source), admin=True)

    @api.post("/admin/mappings/{source}/check", response_model=out.MappingCheck)
    def mapping_check(request: Request, source: Source, body: MappingBody) -> Any:
        denied = _gate(request, call)
        if denied is not None:
            return denied
        try:
            return check_mapping(context(request).carnet.config, source, body.text, body.online)
        except CarnetError as exc:  # not an enabled source; the CRM could not be asked
            return JSONResponse({"error": str(exc)}, status_code=400)

    @api.put(
        "/admin/mappings/{source}",
        response_model=out.MappingSaved,
        responses={400: {"model": out.MappingRefused}},
    )
    def mapping_save(request: Request, source: Source, body: SaveBody) -> Any:
        def work(s: Session, signed: Signed, m: Member) -> Any:
            config = context(request).carnet.config
            try:
                return save_mapping(s, config, m, source, body.text, body.base)
            except MappingError as exc:  # nothing written; each problem with its line
                doc = {"error": str(exc), "problems": problems_json(exc)}
                return JSONResponse(doc, status_code=400)

        return call(request, work, admin=True)

    @api.get("/admin/members", response_model=out.Members)
    def members(
        request: Request, q: Annotated[str, Query(max_length=200, pattern=NO_NUL)] = ""
    ) -> Any:
        return call(
            request, lambda s, signed, m: members_and_roles(s, context(request).web, q), admin=True
        )

    @api.get("/admin/audit", response_model=Audit)
    def audit(request: Request, limit: Annotated[int, Query(ge=1, le=2000)] = 200) -> Any:
        sharing = context(request).sharing
        return call(request, lambda s, signed, m: list_events(s, None, sharing, limit), admin=True)
