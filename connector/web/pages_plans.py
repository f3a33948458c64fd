"""The account plan pages: a search, the plan of an account (stakeholders by level, coverage,
single-threaded risk, actions, the SVG map inline; strategy, stance, influence and actions edited
in place) and its exports. Each is `carnet plan show|set` as the signed-in member.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from connector.core.errors import UsageError
from connector.governance.whoknows import resolve_org
from connector.plans.render_base import LEVEL_NAMES
from connector.plans.render_svg import drawn, render_svg
from connector.store.models import LEVELS, Member
from connector.store.models_plans import STANCES
from connector.web.auth import render
from connector.web.context import WebContext
from connector.web.pages import act, page
from connector.web.services_plans import EXPORT_CSP, edit_plan, export, plan_view
from connector.web.tokens import Signed

router = APIRouter()
NOTES = {
    "strategy": "Strategy saved.",
    "stakeholder": "Stakeholder saved.",
    "action": "Action added.",
}


@router.get("/plans")
def plans_search(request: Request, q: str = "") -> Response:
    def view(ctx: WebContext, s: Session, signed: Signed, me: Member) -> Response:
        error = None
        if q.strip():
            try:
                org = resolve_org(s, q)
            except UsageError as exc:
                error = "; ".join(exc.lines())
            else:
                return RedirectResponse(f"/plans/{org.id}", status_code=303)
        return render(ctx, request, "plans_search.html", me=me, signed=signed, q=q, error=error,
                      nav="plans")  # fmt: skip

    return page(request, view)


SHOWN_PER_LEVEL = 20  # stakeholders drawn per level at first; "show all" draws the rest


def by_level(
    doc: dict[str, Any], full: str | None = None, focus: int | None = None
) -> list[tuple[str, str, list[dict[str, Any]], int]]:
    """The stakeholders grouped by level, C-level first; key, then most influential, then by
    name: (label, level, the ones drawn, how many there are). A level is drawn in full when it is
    `full`; otherwise its first SHOWN_PER_LEVEL, and `focus` (the one just edited) among them."""
    groups: dict[str, list[dict[str, Any]]] = {lv: [] for lv in LEVELS}
    for s in doc["stakeholders"]:
        groups[s["level"]].append(s)
    order = lambda s: (not s["key"], -(s["influence"] or 0), str(s["name"]), s["id"])  # noqa: E731
    out = []
    for lv, group in groups.items():
        if not group:
            continue
        group.sort(key=order)
        shown = group if lv == full else group[:SHOWN_PER_LEVEL]
        shown += [s for s in group[SHOWN_PER_LEVEL:] if s["id"] == focus and lv != full]
        out.append((LEVEL_NAMES[lv], lv, shown, len(group)))
    return out


class Drawing:
    """What the plan page draws of an account, worked out once from its stakeholders (before who
    knows them is read, see `show_plan`'s `detail`): the levels' rows (`by_level`), the map's
    people (`drawn`), and the stakeholders shown with who knows them (`__call__`): the ones the
    levels draw, the single-threaded ones it names, and the ones on the map."""

    def __init__(self, full: str | None, focus: int | None) -> None:
        self.full, self.focus = full, focus
        self.levels: list[tuple[str, str, list[dict[str, Any]], int]] = []
        self.map: tuple[dict[str, Any], int] | None = None

    def __call__(self, people: list[dict[str, Any]]) -> set[int]:
        doc = {"stakeholders": people, "roots": []}
        self.levels = by_level(doc, self.full, self.focus)
        self.map = drawn(doc)
        ids = {s["id"] for _, _, shown, _ in self.levels for s in shown}
        ids.update(s["id"] for s in people if s["single_threaded"])
        ids.update(s["id"] for s in self.map[0]["stakeholders"])
        return ids


@router.get("/plans/{org_id}")
def plan_page(request: Request, org_id: int, level: str = "", person: int = 0) -> Response:
    def view(ctx: WebContext, s: Session, signed: Signed, me: Member) -> Response:
        drawing = Drawing(level if level in LEVELS else None, person or None)
        try:
            doc = plan_view(s, org_id, me, ctx.sharing, drawing)
        except UsageError as exc:
            return render(ctx, request, "error.html", 404, me=me, signed=signed,
                          message="; ".join(exc.lines()))  # fmt: skip
        if doc["org"]["id"] != org_id:  # merged into another account
            return RedirectResponse(f"/plans/{doc['org']['id']}", status_code=303)
        people = {p["id"]: p for p in doc["stakeholders"]}
        return render(
            ctx, request, "plan.html", me=me, signed=signed, doc=doc, people=people,
            levels=drawing.levels, svg=render_svg(doc, drawing.map), stances=STANCES,
            level_names=LEVEL_NAMES, nav="plans",
            note=NOTES.get(request.query_params.get("done", "")),
        )  # fmt: skip

    return page(request, view)


@router.get("/plans/{org_id}/plan.{fmt}")
def plan_export(request: Request, org_id: int, fmt: str) -> Response:
    def view(ctx: WebContext, s: Session, signed: Signed, me: Member) -> Response:
        try:
            body, media, name = export(plan_view(s, org_id, me, ctx.sharing), fmt)
        except UsageError as exc:
            return render(ctx, request, "error.html", 404, me=me, signed=signed,
                          message="; ".join(exc.lines()))  # fmt: skip
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        if fmt in ("html", "svg"):
            headers["Content-Security-Policy"] = EXPORT_CSP
        return Response(body, media_type=media, headers=headers)

    return page(request, view)


@router.post("/plans/{org_id}/strategy")
def plan_strategy(
    request: Request, org_id: int, csrf: str = Form(""), strategy: str = Form("")
) -> Response:
    def work(s: Session, signed: Signed, me: Member) -> Any:
        return edit_plan(s, org_id, me, strategy=strategy)

    return act(request, csrf, work, f"/plans/{org_id}?done=strategy")


@router.post("/plans/{org_id}/stakeholders/{person_id}")
def plan_stakeholder(
    request: Request,
    org_id: int,
    person_id: int,
    csrf: str = Form(""),
    stance: str = Form("unknown"),
    influence: str = Form(""),
) -> Response:
    def work(s: Session, signed: Signed, me: Member) -> Any:
        level = int(influence) if influence.strip().isdigit() else None
        inf = (person_id, level) if level is not None else None
        return edit_plan(s, org_id, me, stance=(person_id, stance), influence=inf)

    return act(
        request, csrf, work, f"/plans/{org_id}?done=stakeholder&person={person_id}#p{person_id}"
    )


@router.post("/plans/{org_id}/actions")
def plan_action(
    request: Request, org_id: int, csrf: str = Form(""), text: str = Form("")
) -> Response:
    def work(s: Session, signed: Signed, me: Member) -> Any:
        return edit_plan(s, org_id, me, action=text)

    return act(request, csrf, work, f"/plans/{org_id}?done=action#actions")
