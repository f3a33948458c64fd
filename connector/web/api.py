"""The JSON API under /api/v1 (OpenAPI at /api/v1/openapi.json): the same services as the pages,
for a browser session (with the X-CSRF-Token header on changes) or an admin-issued API token
(`Authorization: Bearer ...`). Refusals: 401 nobody signed in, 403 not yours (audited), 400 a
request the service refuses, with its message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException

from connector.core.errors import CarnetError, UsageError
from connector.governance import intros
from connector.governance.audit import list_events
from connector.governance.whoknows import who_knows
from connector.store.models import Member
from connector.web import api_models as out
from connector.web.api_models import NO_NUL, Problem
from connector.web.api_more import more_routes
from connector.web.context import context
from connector.web.security import STATE_CHANGING, csrf_ok
from connector.web.services import Forbidden, act_on_intro, my_network, rate_mine
from connector.web.tokens import Signed, issue_token, list_tokens, revoke_token

Work = Callable[[Session, Signed, Member], Any]
# a row's id in a URL: what the store's integer columns hold (PostgreSQL's are 32-bit)
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class RateBody(BaseModel):
    rating: int = Field(ge=1, le=5)
    shareability: Literal["private", "discoverable", "shared"] | None = None
    exclusive: bool | None = None


class IntroBody(BaseModel):
    person_email: str = Field(min_length=3, max_length=320, pattern=NO_NUL)
    reason: str = Field(min_length=1, max_length=2000, pattern=NO_NUL)


class ReasonBody(BaseModel):
    reason: str | None = Field(default=None, max_length=2000, pattern=NO_NUL)


class TokenBody(BaseModel):
    member_email: str = Field(min_length=3, max_length=320, pattern=NO_NUL)
    label: str = Field(min_length=1, max_length=200, pattern=NO_NUL)


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem},
    401: {"model": Problem},
    403: {"model": Problem},
    404: {"model": Problem, "description": "No such route, or an id that cannot be one"},
    422: {"model": Problem, "description": "The request does not match this document"},
}


def _problem(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _invalid(request: Request, exc: Exception) -> JSONResponse:
    """A request that does not match the document: 422, each problem as `where: what`."""
    assert isinstance(exc, RequestValidationError)
    lines = [
        ".".join(str(p) for p in e.get("loc", ())) + ": " + str(e.get("msg", "invalid"))
        for e in exc.errors()
    ]
    return _problem(422, "; ".join(lines) or "invalid request")


def http_problem(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's refusals (a body that is not JSON, no such route) as problem JSON too."""
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": str(exc.detail)}, exc.status_code, headers=exc.headers)


def call(request: Request, work: Work, admin: bool = False) -> Any:
    """One API request as the signed-in member (or the token's): a GET reads (no write lock, its
    audit events written when it ends, see WebContext.read_tx); any other method writes."""
    ctx = context(request)
    member_id = None
    tx = ctx.read_tx if request.method in ("GET", "HEAD") else ctx.tx
    try:
        with tx() as session:
            found = ctx.viewer(request, session)
            if found is None:
                return _problem(401, "sign in, or send an API token as Authorization: Bearer")
            signed, me = found
            member_id = me.id
            changing = signed.csrf is not None and request.method in STATE_CHANGING
            if changing and not csrf_ok(signed.csrf, request.headers.get("x-csrf-token")):
                return _problem(403, "missing or wrong X-CSRF-Token header")
            if admin and not signed.admin:
                raise Forbidden("this is for Carnet's admins")
            answer = work(session, signed, me)
        return answer
    except Forbidden as exc:
        assert member_id is not None
        ctx.refuse(member_id, f"{request.method} {request.url.path}", "api", {"why": str(exc)})
        return _problem(403, str(exc))
    except CarnetError as exc:
        return _problem(400, "; ".join(exc.lines() if isinstance(exc, UsageError) else [str(exc)]))


def build_api() -> FastAPI:
    api = FastAPI(
        title="Carnet API",
        version="1",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        responses=ERRORS,
    )
    api.add_exception_handler(RequestValidationError, _invalid)
    api.add_exception_handler(HTTPException, http_problem)

    @api.get("/me", response_model=out.Me)
    def me(request: Request) -> Any:
        def work(s: Session, signed: Signed, m: Member) -> Any:
            return {"email": m.email, "name": m.name, "team": m.team, "roles": sorted(signed.roles)}

        return call(request, work)

    @api.get("/network", response_model=list[out.NetworkRow])
    def network(request: Request) -> Any:
        return call(request, lambda s, signed, m: my_network(s, m, context(request).sharing))

    @api.post("/network/{relationship_id}", response_model=out.Rated)
    def rate(request: Request, relationship_id: RowId, body: RateBody) -> Any:
        def work(s: Session, signed: Signed, m: Member) -> Any:
            sharing = context(request).sharing
            return rate_mine(
                s, m, relationship_id, body.rating, body.shareability, body.exclusive, sharing
            )

        return call(request, work)

    @api.get("/who-knows", response_model=out.WhoKnows)
    def who(request: Request, q: Annotated[str, Query(max_length=1000, pattern=NO_NUL)]) -> Any:
        return call(request, lambda s, signed, m: who_knows(s, m, q, context(request).sharing))

    @api.get("/intros", response_model=out.Intros)
    def intro_list(request: Request) -> Any:
        return call(request, lambda s, signed, m: intros.list_intros(s, m))

    @api.post("/intros", response_model=out.IntroRequested)
    def intro_request(request: Request, body: IntroBody) -> Any:
        def work(s: Session, signed: Signed, m: Member) -> Any:
            return intros.request(s, m, body.person_email, body.reason, context(request).sharing)

        return call(request, work)

    @api.post("/intros/{intro_id}/{action}", response_model=out.Intro)
    def intro_action(
        request: Request,
        intro_id: RowId,
        action: Literal["approve", "decline", "made", "cancel"],
        body: ReasonBody,
    ) -> Any:
        return call(request, lambda s, signed, m: act_on_intro(s, m, intro_id, action, body.reason))

    @api.get("/audit", response_model=out.Audit)
    def audit(request: Request, limit: int = 100) -> Any:
        lim = max(1, min(limit, 1000))
        return call(request, lambda s, signed, m: list_events(s, m, context(request).sharing, lim))

    _admin_routes(api)
    more_routes(api, call)  # account plans, credits, network quality, admin (api_more)
    return api


def _admin_routes(api: FastAPI) -> None:
    @api.get("/admin/tokens", response_model=list[out.Token])
    def tokens(request: Request) -> Any:
        return call(request, lambda s, signed, m: list_tokens(s), admin=True)

    @api.post("/admin/tokens", response_model=out.IssuedToken)
    def issue(request: Request, body: TokenBody) -> Any:
        def work(s: Session, signed: Signed, m: Member) -> Any:
            return issue_token(s, m.id, body.member_email, body.label)

        return call(request, work, admin=True)

    @api.delete("/admin/tokens/{token_id}", response_model=out.Token)
    def revoke(request: Request, token_id: RowId) -> Any:
        return call(request, lambda s, signed, m: revoke_token(s, m.id, token_id), admin=True)
