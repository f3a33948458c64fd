"""Signing in and out: the sign-in page, the redirect to the provider, its callback (limited per
client address), the "not a Carnet member" answer, and sign-out (a CSRF-checked POST).
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from connector.core.errors import UsageError
from connector.governance.relationships import member_by_email
from connector.web.context import WebContext, context
from connector.web.roles import roles_for
from connector.web.security import csrf_ok, safe_next
from connector.web.signin import SignInError
from connector.web.tokens import close_session, open_session

router = APIRouter()
PENDING_COOKIE = "carnet_signin"


def render(
    ctx: WebContext, request: Request, name: str, code: int = 200, **values: object
) -> Response:
    return ctx.templates.TemplateResponse(request, name, values, status_code=code)


@router.get("/sign-in")
def sign_in_page(request: Request, next: str = "/") -> Response:
    ctx = context(request)
    return render(ctx, request, "signin.html", next=safe_next(next), me=None)


@router.get("/auth/start")
def sign_in_start(request: Request, next: str = "/") -> Response:
    ctx = context(request)
    try:
        url, pending = ctx.signin.begin(safe_next(next))
    except SignInError as exc:
        return render(ctx, request, "error.html", 502, me=None, message=str(exc))
    resp = RedirectResponse(url, status_code=302)
    resp.set_cookie(
        PENDING_COOKIE,
        pending,
        max_age=600,
        httponly=True,
        secure=ctx.web.secure_cookies,
        samesite="lax",
        path="/auth/callback",
    )
    return resp


@router.get("/auth/callback")
def sign_in_callback(request: Request) -> Response:
    ctx = context(request)
    client = request.client.host if request.client else "?"
    if not ctx.limiter.allow(client):
        return render(
            ctx, request, "error.html", 429, me=None, message="Too many sign-in attempts; wait a "
            "minute and try again."
        )  # fmt: skip
    params = {k: str(v) for k, v in request.query_params.items()}
    try:
        identity, next_path = ctx.signin.finish(params, request.cookies.get(PENDING_COOKIE))
    except SignInError as exc:
        return render(ctx, request, "error.html", 400, me=None, message=str(exc))
    with ctx.tx() as session:
        try:
            member = member_by_email(session, identity.email)
        except UsageError:
            return render(ctx, request, "not_member.html", 403, me=None, email=identity.email)
        roles = roles_for(session, ctx.web, member, identity.groups)
        raw = open_session(session, member, roles, ctx.web.session_hours)
    resp = RedirectResponse(safe_next(next_path), status_code=303)
    resp.delete_cookie(PENDING_COOKIE, path="/auth/callback")
    resp.set_cookie(
        ctx.cookie,
        raw,
        max_age=int(ctx.web.session_hours * 3600),
        httponly=True,
        secure=ctx.web.secure_cookies,
        samesite="lax",
        path="/",
    )
    return resp


@router.post("/sign-out")
def sign_out(request: Request, csrf: str = Form("")) -> Response:
    ctx = context(request)
    raw = request.cookies.get(ctx.cookie)
    with ctx.tx() as session:
        found = ctx.viewer(request, session)
        if found is not None and not csrf_ok(found[0].csrf, csrf):
            return render(ctx, request, "error.html", 403, me=None, message="Missing CSRF token.")
        close_session(session, raw)
    resp = RedirectResponse("/sign-in", status_code=303)
    resp.delete_cookie(ctx.cookie, path="/")
    return resp
