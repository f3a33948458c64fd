"""The pages: My network, Who knows, Introductions (the others are in pages_plans, pages_manager
and pages_admin, on `page` and `act` from here). Each is a view of a service function called with
the signed-in member; every form posts back with the session's CSRF token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from connector.core.errors import CarnetError, UsageError
from connector.governance import intros
from connector.governance.whoknows import who_knows
from connector.store.models import Member
from connector.web.auth import render
from connector.web.context import WebContext, context
from connector.web.security import csrf_ok
from connector.web.services import (
    Forbidden,
    act_on_intro,
    network_view,
    person_query,
    rate_mine,
)
from connector.web.tokens import Signed

router = APIRouter()
View = Callable[[WebContext, Session, Signed, Member], Response]
Act = Callable[[Session, Signed, Member], Any]
NOTES = {
    "rated": "Saved.",
    "requested": "Introduction requested.",
    "approve": "Introduction approved.",
    "decline": "Introduction declined.",
    "made": "Marked as made.",
    "cancel": "Introduction cancelled.",
}


def _sign_in_first(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/sign-in?next=" + quote(target, safe=""), status_code=303)


def page(request: Request, view: View, admin: bool = False) -> Response:
    """A page for the signed-in member; `admin`: for admins only. The view reads (ctx.read_tx: no
    write lock; its audit events are written when it ends, before the answer). It may raise
    Forbidden (a role it needs): 403, audited in a transaction of its own."""
    ctx = context(request)
    member_id = None
    try:
        with ctx.read_tx() as session:
            found = ctx.viewer(request, session)
            if found is None:
                return _sign_in_first(request)
            signed, me = found
            member_id = me.id
            if admin and not signed.admin:
                raise Forbidden("This page is for Carnet's admins.")
            answer = view(ctx, session, signed, me)
        return answer
    except Forbidden as exc:
        assert member_id is not None
        ctx.refuse(member_id, request.url.path, "page", {"why": str(exc)})
        return _message(ctx, request, 403, str(exc))


def act(request: Request, csrf: str, work: Act, back: str, admin: bool = False) -> Response:
    """A state-changing request: signed in, the CSRF token right, then `work`; back to `back`."""
    ctx = context(request)
    member_id = None
    try:
        with ctx.tx() as session:
            found = ctx.viewer(request, session)
            if found is None:
                return _sign_in_first(request)
            signed, me = found
            member_id = me.id
            if not csrf_ok(signed.csrf, csrf):
                return render(ctx, request, "error.html", 403, me=me, signed=signed,
                              message="This form has expired (CSRF check failed): reload the "
                              "page and try again.")  # fmt: skip
            if admin and not signed.admin:
                raise Forbidden("this is for Carnet's admins")
            result = work(session, signed, me)
    except Forbidden as exc:
        assert member_id is not None
        ctx.refuse(member_id, request.url.path, "web", {"why": str(exc)})
        return _message(ctx, request, 403, str(exc))
    except CarnetError as exc:
        return _message(ctx, request, 400, "; ".join(_lines(exc)))
    return result if isinstance(result, Response) else RedirectResponse(back, status_code=303)


def _lines(exc: CarnetError) -> list[str]:
    return exc.lines() if isinstance(exc, UsageError) else [str(exc)]


def _message(ctx: WebContext, request: Request, status: int, message: str) -> Response:
    with ctx.read_tx() as session:
        found = ctx.viewer(request, session)
        me, signed = (found[1], found[0]) if found else (None, None)
        return render(ctx, request, "error.html", status, me=me, signed=signed, message=message)


def _note(request: Request) -> str | None:
    return NOTES.get(request.query_params.get("done", ""))


@router.get("/")
def home() -> Response:
    return RedirectResponse("/network", status_code=303)


@router.get("/network")
def network(request: Request, q: str = "", page_no: str = Query("1", alias="page")) -> Response:
    def view(ctx: WebContext, s: Session, signed: Signed, me: Member) -> Response:
        number = int(page_no) if page_no.strip().isdigit() else 1
        shown = network_view(s, me, ctx.sharing, q, number)
        return render(ctx, request, "network.html", me=me, signed=signed, q=q, **shown,
                      note=_note(request), nav="network")  # fmt: skip

    return page(request, view)


@router.post("/network/{relationship_id}")
def network_rate(
    request: Request,
    relationship_id: int,
    csrf: str = Form(""),
    rating: int = Form(...),
    shareability: str = Form(...),
    exclusive: str = Form(""),
) -> Response:
    def work(s: Session, signed: Signed, me: Member) -> Any:
        share, excl = shareability, exclusive == "on"
        return rate_mine(s, me, relationship_id, rating, share, excl, context(request).sharing)

    return act(request, csrf, work, "/network?done=rated")


WHO_KNOWS_SHOWN = 20  # people of an org shown at first, the strongest known; "show more" adds


@router.get("/who-knows")
def who_knows_page(request: Request, q: str = "", shown: str = "") -> Response:
    limit = min(int(shown), 1000) if shown.strip().isdigit() and int(shown) > 0 else 0
    limit = limit or WHO_KNOWS_SHOWN

    def view(ctx: WebContext, s: Session, signed: Signed, me: Member) -> Response:
        doc, error, more = None, None, None
        if q.strip():
            try:
                doc = who_knows(s, me, q, ctx.sharing, limit=limit)
            except UsageError as exc:
                error = "; ".join(exc.lines())
        if doc and doc["known_people"] > len(doc["people"]):
            url = f"/who-knows?q={quote(q, safe='@')}&shown={limit + WHO_KNOWS_SHOWN}"
            more = (url, min(doc["known_people"] - len(doc["people"]), WHO_KNOWS_SHOWN))
        # whom I may ask about: someone other than me knows them
        people = doc["people"] if doc else []
        askable = {p["id"] for p in people if any(not k["yours"] for k in p["known_by"])}
        return render(ctx, request, "whoknows.html", me=me, signed=signed, q=q, doc=doc,
                      error=error, askable=askable, more=more, nav="who")  # fmt: skip

    return page(request, view)


@router.get("/people/{person_id}")
def person_link(request: Request, person_id: int) -> Response:
    """The link a CRM contact carries (write-back's `carnet_link`): Who knows, for that person."""

    def view(ctx: WebContext, s: Session, signed: Signed, me: Member) -> Response:
        query = person_query(s, person_id) if 0 < person_id < 2**31 else None
        if query is None:
            return render(ctx, request, "error.html", 404, me=me, signed=signed,
                          message="Carnet no longer knows this person.")  # fmt: skip
        return RedirectResponse("/who-knows?q=" + quote(query, safe="@"), status_code=303)

    return page(request, view)


@router.get("/orgs/{org_id}")
def org_link(org_id: int) -> Response:
    """The link a CRM account carries: that organisation's account plan."""
    return RedirectResponse(f"/plans/{org_id}" if 0 < org_id < 2**31 else "/plans", 303)


@router.post("/intros/request")
def intro_request(
    request: Request, csrf: str = Form(""), person_email: str = Form(...), reason: str = Form("")
) -> Response:
    def work(s: Session, signed: Signed, me: Member) -> Any:
        return intros.request(s, me, person_email, reason, context(request).sharing)

    return act(request, csrf, work, "/intros?done=requested")


@router.get("/intros")
def intros_page(request: Request) -> Response:
    def view(ctx: WebContext, s: Session, signed: Signed, me: Member) -> Response:
        doc = intros.list_intros(s, me)
        return render(ctx, request, "intros.html", me=me, signed=signed, doc=doc,
                      note=_note(request), nav="intros")  # fmt: skip

    return page(request, view)


@router.post("/intros/{intro_id}/{action}")
def intro_action(
    request: Request, intro_id: int, action: str, csrf: str = Form(""), reason: str = Form("")
) -> Response:
    def work(s: Session, signed: Signed, me: Member) -> Any:
        return act_on_intro(s, me, intro_id, action, reason.strip() or None)

    return act(request, csrf, work, f"/intros?done={action}")
