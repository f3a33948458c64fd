"""Invitation campaigns (docs/campaigns.md): the service functions the CLI and the web call.

An owner creates a campaign and moves it draft -> open -> closed -> done; reps nominate, one
relationship of their own at a time, while it is open; the owner accepts (within capacity,
counted in distinct people) or declines while it is open or closed. Who sees a nomination is
`nomination_visible` (campaigns_rule.py, on the one visibility rule); every change is audited.
Refusals are UsageErrors; "only the owner may ..." is `NotYours` (the web's 403).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from connector.core.errors import UsageError
from connector.governance.audit import record
from connector.governance.campaigns_nominate import decide, nominate, withdraw
from connector.governance.campaigns_rule import (
    DISCLOSURE_ENDED,
    NotYours,
    check_move,
    clean_criteria,
    nomination_access,
    nomination_visible,
)
from connector.governance.campaigns_view import (
    campaign_json,
    get_campaign,
    list_campaigns,
    nomination_rows,
    show_campaign,
)
from connector.store.models import Member, utcnow
from connector.store.models_campaigns import Campaign

NAME_MAX = 80  # Salesforce Campaign.Name


def create_campaign(
    session: Session,
    owner: Member,
    *,
    name: str,
    capacity: int,
    purpose: str | None = None,
    starts_on: date | None = None,
    ends_on: date | None = None,
    criteria: dict[str, Any] | None = None,
    may_own: bool = True,
) -> dict[str, Any]:
    """A new draft campaign owned by `owner`; `may_own` is the caller's answer to "is this member
    a manager or an admin" (the roles live in the CLI's config and the web's sign-in)."""
    if not may_own:
        raise NotYours(
            f"{owner.email} may not own a campaign: owners are managers and admins "
            "(web.managers, web.admins)"
        )
    name = (name or "").strip()
    if not name:
        raise UsageError("a campaign needs a name")
    if len(name) > NAME_MAX:
        raise UsageError(f"a campaign's name holds {NAME_MAX} characters at most, not {len(name)}")
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
        raise UsageError(f"capacity {capacity!r}: a campaign has room for at least one guest")
    if starts_on and ends_on and ends_on < starts_on:
        raise UsageError(f"the campaign ends ({ends_on}) before it starts ({starts_on})")
    campaign = Campaign(
        name=name,
        purpose=(purpose or "").strip() or None,
        starts_on=starts_on,
        ends_on=ends_on,
        capacity=capacity,
        owner_id=owner.id,
        criteria=clean_criteria(criteria),
        state="draft",
    )
    session.add(campaign)
    session.flush()
    _audit_campaign(session, campaign, owner.id, None, "draft", "campaign.created")
    return campaign_json(session, campaign)


def set_state(
    session: Session, campaign_id: int, actor: Member, target: str, *, admin: bool = False
) -> dict[str, Any]:
    """Open a draft, close an open campaign, or mark a closed one done: the owner's (or, with
    `admin`, an admin's on the web). Closing ends the owner's view of nominations they could not
    otherwise see: audited once, with the relationships it concerns."""
    campaign = _campaign_of(session, campaign_id, actor, admin)
    if campaign.owner_id != actor.id and not admin:
        raise NotYours(f"only the owner of campaign #{campaign_id} may change its state")
    column = check_move(campaign_id, campaign.state, target)
    before = campaign.state
    if target == "closed":
        _end_disclosure(session, campaign, actor)
    campaign.state = target
    setattr(campaign, column, utcnow())
    session.flush()
    action = "campaign.opened" if target == "open" else f"campaign.{target}"
    _audit_campaign(session, campaign, actor.id, before, target, action)
    return campaign_json(session, campaign)


def _campaign_of(session: Session, campaign_id: int, viewer: Member, admin: bool) -> Campaign:
    if admin:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            raise UsageError(f"no campaign #{campaign_id}")
        return campaign
    return get_campaign(session, campaign_id, viewer)


def _end_disclosure(session: Session, campaign: Campaign, actor: Member) -> None:
    """Audit, as the campaign closes, the nominations whose campaign-only view by the owner ends
    (every one but the owner's own and the withdrawn): from now on the owner sees each only as far
    as the visibility rule allows. The holders read it in their audit listing."""
    ended = [
        r
        for r in nomination_rows(session, campaign.id)
        if r.nom.nominator_id != campaign.owner_id and r.nom.status != "withdrawn"
    ]
    record(
        session,
        actor_id=actor.id,
        action=DISCLOSURE_ENDED,
        subject_type="campaign",
        subject_id=campaign.id,
        details={
            "campaign_id": campaign.id,
            "nominations": [r.nom.id for r in ended],
            "relationships": [r.rel.id for r in ended],
        },
    )


def _audit_campaign(
    session: Session, campaign: Campaign, actor_id: int, before: str | None, after: str, action: str
) -> None:
    record(
        session,
        actor_id=actor_id,
        action=action,
        subject_type="campaign",
        subject_id=campaign.id,
        details={"from": before, "to": after, "name": campaign.name},
    )


__all__ = [
    "NotYours",
    "create_campaign",
    "decide",
    "list_campaigns",
    "nominate",
    "nomination_access",
    "nomination_visible",
    "set_state",
    "show_campaign",
    "withdraw",
]
