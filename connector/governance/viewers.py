"""Who reads through the visibility rule: a member, or the CRM audience (whoever reads a CRM);
and either one as the bind parameters of a statement built once for every reader of its shape
(`prepared`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, Protocol

from sqlalchemy import bindparam

from connector.core.config import Sharing


class CrmAudience:
    """Whoever reads a CRM: write-back fields and notes, exports into a CRM."""

    def __repr__(self) -> str:
        return "CRM_AUDIENCE"


CRM_AUDIENCE = CrmAudience()


class HolderLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def team(self) -> str | None: ...


Viewer = HolderLike | CrmAudience


def grace_cutoff(sharing: Sharing, now: datetime | None = None) -> datetime | None:
    """Relationships a sync discovered after this, and not chosen since, wait for their holder's
    choice; None when there is no grace period (`grace_days: 0`)."""
    if not sharing.grace_days:
        return None
    return (now or datetime.now(UTC)) - timedelta(days=sharing.grace_days)


class ViewerParams(NamedTuple):
    """A viewer as bind parameters, for a statement built once for every viewer of its shape
    (`prepared`) and run with `params_of`: the member (`viewer_id`, `viewer_team`; a member
    without a team is a shape of its own, team None) or the CRM audience (`crm`); a statement
    built with it also names the grace period's cutoff (`grace_cutoff`)."""

    id: Any
    team: Any
    crm: bool


def is_crm(viewer: Viewer | ViewerParams) -> bool:
    return isinstance(viewer, CrmAudience) or (isinstance(viewer, ViewerParams) and viewer.crm)


def shape(viewer: Viewer, sharing: Sharing) -> tuple[Any, ...]:
    """What the SQL rule's text depends on, beyond its parameters' values."""
    crm = isinstance(viewer, CrmAudience)
    team_none = crm or viewer.team is None  # type: ignore[union-attr]
    return (crm, team_none, sharing.default, sharing.scope, tuple(sharing.pilot_teams),
            bool(sharing.grace_days))  # fmt: skip


def params_of(viewer: Viewer, sharing: Sharing, now: datetime | None) -> dict[str, Any]:
    """The values of a prepared statement's ViewerParams, for `viewer` at `now`."""
    out: dict[str, Any] = {"grace_cutoff": grace_cutoff(sharing, now)}
    if not isinstance(viewer, CrmAudience):
        out.update(viewer_id=viewer.id, viewer_team=viewer.team)
    return out


_PREPARED: dict[tuple[Any, ...], Any] = {}


def prepared(
    name: str, viewer: Viewer, sharing: Sharing, build: Callable[[ViewerParams], Any]
) -> Any:
    """`build(viewer as ViewerParams)`: built once per `name` and shape of viewer and sharing,
    then kept (a statement's SQL text is the same for every viewer of a shape: building it on
    every request was a tenth of a page's time). Run it with `params_of(viewer, sharing, now)`;
    a parameter left out is an error (SQLAlchemy's), never a different answer."""
    key = (name, *shape(viewer, sharing))
    q = _PREPARED.get(key)
    if q is None:
        if isinstance(viewer, CrmAudience):
            as_params = ViewerParams(None, None, crm=True)
        else:
            team: Any = None if viewer.team is None else bindparam("viewer_team")
            as_params = ViewerParams(bindparam("viewer_id"), team, crm=False)
        q = _PREPARED[key] = build(as_params)
    return q
