"""The campaign pages: `/campaigns` (the open campaigns asking for my network; the ones I own and,
for a manager or an admin, a form to start one) and `/campaigns/{id}` (a rep: my candidates to
nominate and my nominations; the owner: the nominations as the disclosure rule lets them see them,
the guest list, and the state buttons). Each is a view of `carnet campaign ...`'s service with
the signed-in member; every form posts back with the session's CSRF token.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from connector.core.errors import UsageError
from connector.store.models import LEVELS, Member
from connector.web import services_campaigns as camp
from connector.web.auth import render
from connector.web.context import WebContext, context
from connector.web.pages import act, page
from connector.web.tokens import Signed

router = APIRouter()
NOTES = {
    "created": "Campaign created: open it when the invitation is ready.",
    "nominated": "Nominated. Only the campaign's owner sees it.",
    "withdrawn": "Nomination withdrawn.",
    "accept": "Accepted: on the guest list.",
    "decline": "Declined.",
    "open": "The campaign is open for nominations.",
    "closed": "Nominations are closed.",
    "done": "Marked done.",
}


def _note(request: Request) -> str | None:
    return NOTES.get(request.query_params.get("done", ""))


@router.get("/campaigns")
def campaigns_page(request: Request) -> Response:
    def view(ctx: WebContext, s: Session, signed: Signed, me: Member) -> Response:
        rows = camp.listing(s, me, ctx.sharing)
        return render(
            ctx, request, "campaigns.html", me=me, signed=signed, nav="campaigns",
            asking=[c for c in rows if c["role"] == "rep" and c["state"] == "open"],
            earlier=[c for c in rows if c["role"] == "rep" and c["state"] != "open"],
            owned=[c for c in rows if c["role"] == "owner"],
            may_own=camp.may_own(signed), levels=LEVELS, note=_note(request),
        )  # fmt: skip

    return page(request, view)


@router.post("/campaigns")
def campaign_create(
    request: Request,
    csrf: str = Form(""),
    name: str = Form(""),
    capacity: str = Form(""),
    purpose: str = Form(""),
    starts: str = Form(""),
    ends: str = Form(""),
    orgs: str = Form(""),
    levels: list[str] = Form([]),
    countries: str = Form(""),
    min_strength: str = Form(""),
) -> Response:
    def work(s: Session, signed: Signed, me: Member) -> Any:
        fields = {
            "name": camp.text(name, "name") or "",
            "capacity": camp.parse_capacity(capacity),
            "purpose": camp.text(purpose, "purpose"),
            "starts_on": camp.parse_date(starts, "starts"),
            "ends_on": camp.parse_date(ends, "ends"),
            "criteria": camp.criteria_of(orgs, levels, countries, min_strength),
        }
        made = camp.create(s, me, signed, fields)
        return RedirectResponse(f"/campaigns/{made['id']}?done=created", status_code=303)

    return act(request, csrf, work, "/campaigns")


@router.get("/campaigns/{campaign_id}")
def campaign_page(request: Request, campaign_id: int) -> Response:
    def view(ctx: WebContext, s: Session, signed: Signed, me: Member) -> Response:
        try:
            doc = camp.show(s, me, campaign_id, ctx.sharing)
        except UsageError as exc:
            return render(ctx, request, "error.html", 404, me=me, signed=signed,
                          message="; ".join(exc.lines()))  # fmt: skip
        return render(ctx, request, "campaign.html", me=me, signed=signed, doc=doc,
                      nav="campaigns", note=_note(request))  # fmt: skip

    return page(request, view)


@router.post("/campaigns/{campaign_id}/nominate")
def campaign_nominate(
    request: Request,
    campaign_id: int,
    csrf: str = Form(""),
    person_email: str = Form(...),
    note: str = Form(""),
) -> Response:
    def work(s: Session, signed: Signed, me: Member) -> Any:
        note_text = camp.text(note, "note")
        return camp.nominate(s, me, campaign_id, person_email, note_text, context(request).sharing)

    return act(request, csrf, work, f"/campaigns/{campaign_id}?done=nominated")


@router.post("/campaigns/{campaign_id}/withdraw")
def campaign_withdraw(
    request: Request, campaign_id: int, csrf: str = Form(""), person_email: str = Form(...)
) -> Response:
    def work(s: Session, signed: Signed, me: Member) -> Any:
        return camp.withdraw(s, me, campaign_id, person_email)

    return act(request, csrf, work, f"/campaigns/{campaign_id}?done=withdrawn")


@router.post("/campaigns/{campaign_id}/nominations/{nomination_id}/{action}")
def campaign_decide(
    request: Request,
    campaign_id: int,
    nomination_id: int,
    action: str,
    csrf: str = Form(""),
    reason: str = Form(""),
) -> Response:
    def work(s: Session, signed: Signed, me: Member) -> Any:
        if action not in ("accept", "decline"):
            raise UsageError(f"a nomination is accepted or declined, not {action!r}")
        why, sharing = camp.text(reason, "reason"), context(request).sharing
        return camp.decide(s, me, (campaign_id, nomination_id), action == "accept", why, sharing)

    return act(request, csrf, work, f"/campaigns/{campaign_id}?done={action}")


@router.post("/campaigns/{campaign_id}/state")
def campaign_state(
    request: Request, campaign_id: int, csrf: str = Form(""), target: str = Form(...)
) -> Response:
    def work(s: Session, signed: Signed, me: Member) -> Any:
        return camp.move(s, me, signed, campaign_id, target)

    return act(request, csrf, work, f"/campaigns/{campaign_id}?done={target}")
