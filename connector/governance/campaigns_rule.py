"""The rules of invitation campaigns as pure functions over plain data: who may see a nomination
(the campaign disclosure rule, on top of the one visibility rule), what the criteria accept, and
which state changes a campaign may make. campaigns.py (the service) and audit.py (the listing)
both decide through these; nothing here reads or writes the store.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Any, Protocol

from connector.core.config import Sharing
from connector.core.errors import UsageError
from connector.governance.viewers import CrmAudience, HolderLike, Viewer
from connector.governance.visibility import RelLike, Visibility, visibility
from connector.store.models import LEVELS

HIDDEN = Visibility.HIDDEN

# the audit actions the listing treats as disclosures (campaign subject, relationships in details)
DISCLOSED = "campaign.nomination_disclosed"
DISCLOSURE_ENDED = "campaign.disclosure_ended"
# while the campaign is in one of these, its owner sees every nomination made to it
DISCLOSING = ("draft", "open")


class NotYours(UsageError):
    """Only the campaign's owner may do this (the web answers 403)."""


class CampaignLike(Protocol):
    @property
    def owner_id(self) -> int: ...
    @property
    def state(self) -> str: ...


class NominationLike(Protocol):
    @property
    def nominator_id(self) -> int: ...
    @property
    def status(self) -> str: ...


class Access(IntEnum):
    NONE = 0  # the viewer must not learn of the nomination
    SEEN = 1  # the viewer may see it: theirs, or a relationship they may see anyway
    DISCLOSED = 2  # seen only through the campaign rule: the owner, while the campaign is open


def nomination_access(
    campaign: CampaignLike,
    nomination: NominationLike,
    holder: HolderLike,
    rel: RelLike,
    viewer: Viewer,
    sharing: Sharing | None,
    now: datetime | None = None,
) -> Access:
    """How `viewer` may see `nomination` (of `rel`, held by `holder`, its nominator). In order:
    the nominator always; a withdrawn nomination nobody else; the owner every nomination while
    the campaign is draft or open, and afterwards as far as `visibility` lets them see the
    relationship; the CRM audience (the admin's log) as far as `visibility` allows; colleagues
    never: they do not see others' nominations as such, whatever they may see of the
    relationship elsewhere. Without the sharing settings (`sharing` None) the relationship counts
    as hidden: only the campaign's own grants apply (fail closed)."""
    crm = isinstance(viewer, CrmAudience)
    if not crm and viewer.id == nomination.nominator_id:  # type: ignore[union-attr]
        return Access.SEEN
    if nomination.status == "withdrawn":
        return Access.NONE
    level = HIDDEN if sharing is None else visibility(holder, rel, viewer, sharing, now)
    if crm or viewer.id == campaign.owner_id:  # type: ignore[union-attr]
        if level > HIDDEN:
            return Access.SEEN
        if not crm and campaign.state in DISCLOSING:
            return Access.DISCLOSED
    return Access.NONE


def nomination_visible(
    campaign: CampaignLike,
    nomination: NominationLike,
    holder: HolderLike,
    rel: RelLike,
    viewer: Viewer,
    sharing: Sharing | None,
    now: datetime | None = None,
) -> bool:
    """The campaign disclosure rule: may `viewer` see this nomination at all (see
    `nomination_access`)."""
    return nomination_access(campaign, nomination, holder, rel, viewer, sharing, now) > Access.NONE


# -- the state machine ---------------------------------------------------------------------------

# target -> (the states it leaves from, the column that records when)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "open": (("draft",), "opened_at"),
    "closed": (("open",), "closed_at"),
    "done": (("closed",), "done_at"),
}
_VERBS = {"open": "opened", "closed": "closed", "done": "marked done"}
_BEFORE = {"open": "a draft", "closed": "an open", "done": "a closed"}


def check_move(campaign_id: int, state: str, target: str) -> str:
    """The column to stamp for `state` -> `target`; a UsageError saying why not otherwise."""
    if target not in TRANSITIONS:
        raise UsageError(f"a campaign moves to open, closed or done, not {target!r}")
    sources, column = TRANSITIONS[target]
    if state == target:
        raise UsageError(f"campaign #{campaign_id} is already {state}")
    if state not in sources:
        order = list(TRANSITIONS)
        later = state in order and order.index(state) > order.index(target)
        why = (
            "a campaign never goes back"
            if later or state == "done"
            else f"only {_BEFORE[target]} campaign can be {_VERBS[target]}"
        )
        raise UsageError(f"campaign #{campaign_id} is {state}: {why}")
    return column


# -- criteria ------------------------------------------------------------------------------------

CRITERIA = ("orgs", "levels", "countries", "min_strength")


def clean_criteria(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """The target criteria, checked and normalised (orgs stripped, levels lower-case, countries
    upper-case, empty ones left out); every problem is named in one UsageError."""
    raw = dict(raw or {})
    problems = [
        f"unknown criterion {k!r}: expected orgs, levels, countries or min_strength"
        for k in raw
        if k not in CRITERIA
    ]
    out: dict[str, Any] = {}
    orgs = _texts(raw.get("orgs"))
    if orgs:
        out["orgs"] = orgs
    levels = [v.lower() for v in _texts(raw.get("levels"))]
    problems += [
        f"level {v!r}: expected one of {', '.join(LEVELS)}" for v in levels if v not in LEVELS
    ]
    if levels:
        out["levels"] = levels
    countries = [v.upper() for v in _texts(raw.get("countries"))]
    problems += [
        f"country {v!r}: expected an ISO-2 code such as FR"
        for v in countries
        if len(v) != 2 or not v.isascii() or not v.isalpha()
    ]
    if countries:
        out["countries"] = countries
    strength = raw.get("min_strength")
    if strength is not None:
        if isinstance(strength, bool) or not isinstance(strength, int) or not 1 <= strength <= 5:
            problems.append(f"min_strength {strength!r}: expected a whole number from 1 to 5")
        else:
            out["min_strength"] = strength
    if problems:
        raise UsageError("; ".join(problems))
    return out


def _texts(value: Any) -> list[str]:
    """A list of non-empty stripped strings, in order, without repeats (a lone string is one)."""
    items = [value] if isinstance(value, str) else list(value or [])
    out: list[str] = []
    for item in items:
        text = str(item).strip()
        if text and text not in out:
            out.append(text)
    return out


@dataclass(frozen=True)
class Facts:
    """What the criteria look at, of one relationship to one person."""

    org_id: int | None
    level: str
    country: str | None  # the person's, else their organisation's
    strength: int | None  # the effective strength (scoring.strength)


def mismatches(
    criteria: Mapping[str, Any], facts: Facts, org_ids: Collection[int] | None
) -> list[str]:
    """The criteria `facts` fail, by name (empty: it matches). `org_ids` are the organisations
    the `orgs` criterion names, as the caller found them in the store."""
    failed = []
    if criteria.get("orgs") and (facts.org_id is None or facts.org_id not in (org_ids or ())):
        failed.append("organisation")
    if criteria.get("levels") and facts.level not in criteria["levels"]:
        failed.append("level")
    country = (facts.country or "").upper()
    if criteria.get("countries") and country not in criteria["countries"]:
        failed.append("country")
    wanted = criteria.get("min_strength")
    if wanted is not None and (facts.strength is None or facts.strength < wanted):
        failed.append("strength")
    return failed
