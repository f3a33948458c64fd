"""Credits (mine; for a manager, my team's too) and Network quality (managers only: the team's
coverage, single-threaded accounts, relationships by strength, and their weekly trend).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from connector.store.models import Member
from connector.web.auth import render
from connector.web.context import WebContext
from connector.web.pages import page
from connector.web.services_plans import credits_view, team_view
from connector.web.tokens import Signed

router = APIRouter()
STRENGTHS = ("5", "4", "3", "2", "1", "none")
SPARK_W, SPARK_H = 120, 28


@router.get("/credits")
def credits_page(request: Request) -> Response:
    def view(ctx: WebContext, s: Session, signed: Signed, me: Member) -> Response:
        doc = credits_view(s, me, signed, ctx.web.managers_from_crm)
        return render(ctx, request, "credits.html", me=me, signed=signed, doc=doc, nav="credits")

    return page(request, view)


def sparkline(values: list[float | None]) -> str:
    """A small inline SVG line of the values (None: no figure that week); numbers only."""
    known = [v for v in values if v is not None]
    if len(known) < 2:
        return ""
    low, high = min(known), max(known)
    span = (high - low) or 1.0
    step = SPARK_W / max(1, len(values) - 1)
    points = " ".join(
        f"{i * step:.1f},{SPARK_H - 3 - (v - low) / span * (SPARK_H - 6):.1f}"
        for i, v in enumerate(values)
        if v is not None
    )
    return (
        f'<svg class="spark" width="{SPARK_W}" height="{SPARK_H}" viewBox="0 0 {SPARK_W} '
        f'{SPARK_H}" aria-hidden="true"><polyline points="{points}" fill="none" '
        f'stroke="#1f5f8b" stroke-width="2"/></svg>'
    )


def trend_rows(trend: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The trend table: one row per figure, a cell per week, and its sparkline."""
    figures = [
        ("Accounts worked", lambda w: w["accounts"], False),
        ("Single-threaded accounts", lambda w: w["single_threaded_accounts"], False),
        ("Key people known well", lambda w: w["key_strong_share"], True),
        ("People known", lambda w: w["known_share"], True),
        ("Relationships", lambda w: w["relationships"], False),
        ("Strong (3+)", lambda w: sum(w["strength"][k] for k in ("3", "4", "5")), False),
    ]
    rows = []
    for label, get, share in figures:
        values = [get(w) for w in trend]
        cells = ["–" if v is None else f"{round(v * 100)}%" if share else str(v) for v in values]
        rows.append({"label": label, "cells": cells, "spark": sparkline(values)})
    return rows


def strength_bars(strength: dict[str, int]) -> list[dict[str, Any]]:
    most = max(strength.values(), default=0) or 1
    return [{"label": k, "n": strength.get(k, 0), "w": round(160 * strength.get(k, 0) / most)}
            for k in STRENGTHS]  # fmt: skip


@router.get("/team")
def team_page(request: Request) -> Response:
    def view(ctx: WebContext, s: Session, signed: Signed, me: Member) -> Response:
        # Forbidden to non-managers: page() says 403
        doc = team_view(s, me, signed, ctx.sharing, ctx.web.managers_from_crm)
        fig = doc["figures"]
        return render(
            ctx, request, "team.html", me=me, signed=signed, doc=doc, nav="team",
            trend=trend_rows(doc["trend"]), bars=strength_bars(fig["strength"]) if fig else [],
            strengths=STRENGTHS,
        )  # fmt: skip

    return page(request, view)
