"""The admin pages: the sources (`carnet status`), the mappings editor (`carnet mappings check`,
online too, and an atomic save), the audit log as the admin reads it, members and roles, API
tokens. Every one answers 403 to anyone not an admin, and the refusal is audited.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from connector.core.errors import CarnetError, MappingError, UsageError
from connector.governance.audit import list_events
from connector.status import store_status
from connector.store.models import Member
from connector.web.auth import render
from connector.web.context import WebContext, context
from connector.web.pages import act, page
from connector.web.services_admin import (
    check_mapping,
    mapping_files,
    members_and_roles,
    open_mapping,
    problems_json,
    save_mapping,
)
from connector.web.tokens import Signed, issue_token, list_tokens, revoke_token

router = APIRouter()
NOTES = {"revoked": "Token revoked.", "saved": "Saved. The previous version is kept beside it."}
AUDIT_LIMIT = 200


def _note(request: Request) -> str | None:
    return NOTES.get(request.query_params.get("done", ""))


@router.get("/admin")
def admin_sources(request: Request) -> Response:
    # the status is read first, outside the page's transaction: on SQLite that one holds the
    # write lock, which the status's own connection would wait for
    status = store_status(context(request).carnet)

    def view(ctx: WebContext, s: Session, signed: Signed, me: Member) -> Response:
        return render(ctx, request, "admin.html", me=me, signed=signed, status=status,
                      nav="admin", tab="sources")  # fmt: skip

    return page(request, view, admin=True)


@router.get("/admin/mappings")
def admin_mappings(request: Request) -> Response:
    def view(ctx: WebContext, s: Session, signed: Signed, me: Member) -> Response:
        files = mapping_files(ctx.carnet.config)
        if len(files) == 1:
            return RedirectResponse(f"/admin/mappings/{files[0]['source']}", status_code=303)
        return render(ctx, request, "admin_mappings.html", me=me, signed=signed, files=files,
                      edit=None, nav="admin", tab="mappings")  # fmt: skip

    return page(request, view, admin=True)


def _editor(
    ctx: WebContext,
    request: Request,
    signed: Signed,
    me: Member,
    source: str,
    text: str | None = None,
    result: dict[str, Any] | None = None,
    code: int = 200,
) -> Response:
    """The editor: the file (or the text the admin sent), and the result of a check or save."""
    try:
        edit = open_mapping(ctx.carnet.config, source)
    except UsageError as exc:  # not an enabled source
        return render(ctx, request, "error.html", 404, me=me, signed=signed,
                      message="; ".join(exc.lines()))  # fmt: skip
    if text is not None:
        edit["text"] = text.replace("\r\n", "\n")
    lines = edit["text"].split("\n")
    for p in (result or {}).get("problems", []):
        p["quote"] = lines[p["line"] - 1] if p["line"] and 0 < p["line"] <= len(lines) else None
    return render(ctx, request, "admin_mappings.html", code, me=me, signed=signed,
                  files=mapping_files(ctx.carnet.config), edit=edit, result=result,
                  note=_note(request), nav="admin", tab="mappings")  # fmt: skip


@router.get("/admin/mappings/{source}")
def admin_mapping(request: Request, source: str) -> Response:
    return page(request, lambda ctx, s, signed, me: _editor(ctx, request, signed, me, source), True)


GRANTED = Response(status_code=204)  # what `act` hands back when the request may go on


def _granted(request: Request, csrf: str) -> Response | None:
    """None when the request may go on (an admin's session, the right CSRF token); else the
    answer: sign in, or 403 (audited). Checked in a transaction of its own, so a slow check
    against the CRM does not hold the store's write lock."""
    answer = act(request, csrf, lambda s, signed, me: GRANTED, "/admin", admin=True)
    return None if answer is GRANTED else answer


@router.post("/admin/mappings/{source}")
def admin_mapping_post(
    request: Request,
    source: str,
    csrf: str = Form(""),
    text: str = Form(""),
    base: str = Form(""),
    action: str = Form("check"),
) -> Response:
    """action: check (offline), online (against the CRM), save (check, then write)."""
    if action == "save":
        return _save(request, source, csrf, text, base)
    denied = _granted(request, csrf)
    if denied is not None:
        return denied
    config = context(request).carnet.config
    try:
        result = check_mapping(config, source, text, online=action == "online")
    except CarnetError as exc:  # the CRM could not be asked (auth, budget, network), or no source
        result = {"valid": False, "online": True, "problems": [], "error": str(exc)}
    return page(
        request,
        lambda ctx, s, signed, me: _editor(ctx, request, signed, me, source, text, result),
        admin=True,
    )


def _save(request: Request, source: str, csrf: str, text: str, base: str) -> Response:
    def work(s: Session, signed: Signed, me: Member) -> Any:
        ctx = context(request)
        try:
            save_mapping(s, ctx.carnet.config, me, source, text, base)
        except MappingError as exc:
            result = {"valid": False, "saved": False, "problems": problems_json(exc)}
            return _editor(ctx, request, signed, me, source, text, result, 400)
        return RedirectResponse(f"/admin/mappings/{source}?done=saved", status_code=303)

    return act(request, csrf, work, f"/admin/mappings/{source}", admin=True)


@router.get("/admin/audit")
def admin_audit(request: Request, limit: int = AUDIT_LIMIT) -> Response:
    def view(ctx: WebContext, s: Session, signed: Signed, me: Member) -> Response:
        events = list_events(s, None, ctx.sharing, max(1, min(limit, 2000)))["events"]
        return render(ctx, request, "admin_audit.html", me=me, signed=signed, events=events,
                      nav="admin", tab="audit")  # fmt: skip

    return page(request, view, admin=True)


def _members(
    ctx: WebContext, request: Request, s: Session, me: Member, signed: Signed, new: Any = None
) -> Response:
    q = request.query_params.get("q", "")
    doc = members_and_roles(s, ctx.web, q)
    return render(ctx, request, "admin_members.html", me=me, signed=signed, doc=doc, q=q,
                  tokens=list_tokens(s), new_token=new, note=_note(request), nav="admin",
                  tab="members")  # fmt: skip


@router.get("/admin/members")
def admin_members(request: Request) -> Response:
    return page(request, lambda ctx, s, signed, me: _members(ctx, request, s, me, signed), True)


@router.post("/admin/tokens")
def admin_issue(
    request: Request, csrf: str = Form(""), member_email: str = Form(...), label: str = Form("")
) -> Response:
    def work(s: Session, signed: Signed, me: Member) -> Any:
        new = issue_token(s, me.id, member_email, label)
        return _members(context(request), request, s, me, signed, new)

    return act(request, csrf, work, "/admin/members", admin=True)


@router.post("/admin/tokens/{token_id}/revoke")
def admin_revoke(request: Request, token_id: int, csrf: str = Form("")) -> Response:
    def work(s: Session, signed: Signed, me: Member) -> Any:
        return revoke_token(s, me.id, token_id)

    return act(request, csrf, work, "/admin/members?done=revoked", admin=True)
