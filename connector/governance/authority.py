"""Who may change a relationship from a CRM. The contact fields Carnet reads as its owner's own
view (the mapping's `rating` and `shareability`) change the owner's relationship only when the CRM
names that owner as the record's last editor (Salesforce `LastModifiedById`, HubSpot
`hs_updated_by_user_id`: the mapping's `modified_by`, traced to a member by the member's CRM user
ids). Any other value is refused: audited with the CRM user, the source and the sync run, and
kept on the record's link so that the next push writes the agreed value back.

`judge` is the decision, over plain values; `settle` acts on it once the page's relationships
are written. See docs/governance.md ("Who may change what").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.errors import RecordError
from connector.governance.audit import record
from connector.governance.relationships import apply_crm_rating, check_crm_values
from connector.store.models import Member, Relationship

OWNED = ("rating", "shareability")  # the holder's own fields a CRM record may carry
REFUSED = "relationship.crm_edit_refused"
SHOWN_MAX = 200  # a refused value is kept (and audited) cut to this many characters
_USER_COLUMN = {"salesforce": Member.salesforce_user_id, "hubspot": Member.hubspot_user_id}


@dataclass(frozen=True)
class CrmRecord:
    """Where a CRM edit was seen: which record, who the CRM says changed it last, which run."""

    source: str
    object: str
    record_id: str
    editor: str | None  # the CRM user id, as the CRM names it
    run: str | None = None  # the sync run that saw it (its start)

    def origin(self) -> dict[str, Any]:
        return {
            "crm_object": self.object,
            "crm_record": self.record_id,
            "crm_user": self.editor,
            "sync_run": self.run,
        }


@dataclass(frozen=True)
class Judgement:
    """What a CRM record's owned fields mean for its holder's relationship."""

    agreed: dict[str, Any]  # what the record holds with its holder's consent (kept on the link)
    refused: dict[str, Any]  # what it holds without: the next push writes `agreed` back
    accepted: dict[str, Any] = field(default_factory=dict)  # the holder's own change, to apply
    new_refusals: dict[str, Any] = field(default_factory=dict)  # not refused before: audit them
    errors: list[str] = field(default_factory=list)  # the holder's values Carnet cannot take


def judge(
    seen: dict[str, Any], agreed: dict[str, Any], refused: dict[str, Any], by_holder: bool
) -> Judgement:
    """Field by field: a value equal to the agreed one is no edit; a value the holder set (and
    not one refused before, still sitting there) is the holder's act; anything else is refused.
    A value the holder set that Carnet cannot take is an error, not a refusal (nobody else acted),
    but it is kept with the refused ones so that the next push writes the agreed value back: left
    in the record, it would be judged again as whoever next saves the record, Carnet included."""
    now_agreed, now_refused = dict(agreed), {}
    accepted: dict[str, Any] = {}
    fresh: dict[str, Any] = {}
    errors: list[str] = []
    for name in OWNED:
        value = seen.get(name)
        if value == agreed.get(name):
            continue
        still = name in refused and refused[name] == value
        if by_holder and not still:
            problem = _problem(name, value)
            if problem is None:
                accepted[name] = now_agreed[name] = value
            else:
                errors.append(problem)
                now_refused[name] = value
            continue
        now_refused[name] = value
        if not still:
            fresh[name] = value
    return Judgement(now_agreed, now_refused, accepted, fresh, errors)


def _problem(name: str, value: Any) -> str | None:
    rating, share = (value, None) if name == "rating" else (None, value)
    try:
        check_crm_values(rating, share, record_id="")
    except RecordError as exc:
        return str(exc)
    return None


def crm_editors(session: Session, source: str, user_ids: Iterable[str | None]) -> dict[str, int]:
    """CRM user id -> member id, for those of `user_ids` that are one of our members."""
    column = _USER_COLUMN.get(source)
    wanted = sorted({u for u in user_ids if u})
    if column is None or not wanted:
        return {}
    out: dict[str, int] = {}
    for start in range(0, len(wanted), 500):
        q = select(column, Member.id).where(column.in_(wanted[start : start + 500]))
        out.update({str(uid): mid for uid, mid in session.execute(q) if uid})
    return out


def settle(
    session: Session,
    rec: CrmRecord,
    holder_id: int,
    person_id: int,
    verdict: Judgement,
    editor_id: int | None,
) -> bool:
    """Apply the holder's own change and audit the new refusals; True if the relationship
    changed. The audit names the real origin: the CRM, its user and the run."""
    changed = False
    if verdict.accepted:
        changed = apply_crm_rating(
            session,
            holder_id,
            person_id,
            verdict.accepted.get("rating"),
            verdict.accepted.get("shareability"),
            source=rec.source,
            origin=rec.origin(),
        )
    if verdict.new_refusals:
        _audit_refused(session, rec, holder_id, person_id, verdict, editor_id)
    return changed


def _audit_refused(
    session: Session,
    rec: CrmRecord,
    holder_id: int,
    person_id: int,
    verdict: Judgement,
    editor_id: int | None,
) -> None:
    """One event per record seen with new refused values, about the holder's relationship (so
    the listing shows it only to whoever may see that relationship)."""
    rel_id = session.scalar(
        select(Relationship.id).where(
            Relationship.member_id == holder_id, Relationship.person_id == person_id
        )
    )
    details = {"source": rec.source, **rec.origin()}
    details["refused"] = {k: shown(v) for k, v in verdict.new_refusals.items()}
    if rel_id is None:  # no relationship to protect (nor to name): the record alone
        record(session, editor_id, REFUSED, "crm_record", rec.record_id, details)
        return
    details |= {"holder_id": holder_id, "person_id": person_id}
    details["kept"] = {k: verdict.agreed.get(k) for k in verdict.new_refusals}
    record(session, editor_id, REFUSED, "relationship", rel_id, details)


def shown(value: Any) -> Any:
    """A CRM value as kept and audited: numbers and None as they are, the rest as short text."""
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)[:SHOWN_MAX]
