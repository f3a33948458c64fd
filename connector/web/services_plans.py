"""The web's account plans, credits and team figures: the same service functions as `carnet plan
show|set`, `carnet credits` and `carnet network`, with the signed-in member as the reader (and as
the actor of a change). Pages and the API both call these.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.config import Sharing
from connector.core.errors import UsageError
from connector.governance.credits import list_credits
from connector.governance.hierarchy import has_reports, hierarchy_team
from connector.plans.plan import Detail, show_plan
from connector.plans.plan_edit import set_plan
from connector.plans.render import RENDERERS
from connector.plans.snapshot import team_quality
from connector.store.models import Member, Org
from connector.web.services import Forbidden
from connector.web.tokens import Signed

EXPORTS = {  # format -> (media type, file extension)
    "md": ("text/markdown; charset=utf-8", "md"),
    "html": ("text/html; charset=utf-8", "html"),
    "svg": ("image/svg+xml", "svg"),
    "json": ("application/json", "json"),
}
# an exported HTML or SVG file opened in the browser: its own inline styles, nothing else at all
EXPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; sandbox"


def live_org(session: Session, org_id: int) -> Org:
    """The account by id, following merges to the one that survived; a UsageError when gone."""
    org, seen = session.get(Org, org_id), set()
    while org is not None and org.merged_into_id is not None and org.id not in seen:
        seen.add(org.id)
        org = session.get(Org, org.merged_into_id)
    if org is None or org.deleted_at is not None or org.merged_into_id is not None:
        raise UsageError(f"no account #{org_id}")
    return org


def plan_view(
    session: Session, org_id: int, me: Member, sharing: Sharing, detail: Detail | None = None
) -> dict[str, Any]:
    """`carnet plan show ORG --as ME`: audited as a view of the relationships it shows (with
    `detail`, who knows whom only for the stakeholders a page draws)."""
    return show_plan(session, live_org(session, org_id), me, sharing, detail=detail)


def edit_plan(
    session: Session,
    org_id: int,
    me: Member,
    strategy: str | None = None,
    stance: tuple[int, str] | None = None,
    influence: tuple[int, int] | None = None,
    action: str | None = None,
) -> dict[str, Any]:
    """`carnet plan set ORG --as ME`, naming people by id; audited with source "web"."""
    return set_plan(
        session,
        live_org(session, org_id),
        me,
        strategy=strategy,
        stance=stance,
        influence=influence,
        action=action,
        source="web",
    )


def export(doc: dict[str, Any], fmt: str) -> tuple[str, str, str]:
    """(body, media type, file name) of the plan in `fmt`: md, html, svg (renderers) or json."""
    if fmt not in EXPORTS:
        raise UsageError(f"export as one of {', '.join(EXPORTS)}, not {fmt!r}")
    media, ext = EXPORTS[fmt]
    body = json.dumps(doc, indent=2, default=str) if fmt == "json" else RENDERERS[fmt](doc)
    slug = re.sub(r"[^a-z0-9]+", "-", str(doc["org"]["name"]).lower()).strip("-") or "account"
    return body, media, f"account-plan-{slug[:60]}.{ext}"


def is_manager(signed: Signed) -> bool:
    return "manager" in signed.roles


def team_of(session: Session, me: Member, hierarchy: bool = False) -> list[Member]:
    """A manager's team: with `hierarchy` (`web.managers: [crm]`) and reports in the CRM's
    hierarchy, the manager and their reports; otherwise the members of their `team`."""
    if hierarchy and has_reports(session, me.id):
        return hierarchy_team(session, me)
    if me.team is None:
        return [me]
    q = select(Member).where(Member.team == me.team).order_by(Member.name, Member.email)
    return list(session.scalars(q))


def credits_view(
    session: Session, me: Member, signed: Signed, hierarchy: bool = False
) -> dict[str, Any]:
    """`carnet credits`, narrowed to mine (I broker it, or own its deal) and, for a manager,
    to the team's."""
    team = None
    if is_manager(signed):
        members = team_of(session, me, hierarchy)
        name = None if hierarchy and has_reports(session, me.id) else me.team
        team = {"name": name, **list_credits(session, [m.id for m in members])}
    return {"mine": list_credits(session, [me.id]), "team": team}


def team_view(
    session: Session, me: Member, signed: Signed, sharing: Sharing, hierarchy: bool = False
) -> dict[str, Any]:
    """Network quality of my team, for managers only (others: Forbidden, audited)."""
    if not is_manager(signed):
        raise Forbidden("Network quality is for managers.")
    return team_quality(session, sharing, me, hierarchy=hierarchy)
