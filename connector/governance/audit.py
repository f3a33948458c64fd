"""The audit log: writing events, and listing them through the visibility rule.

Who reads what is in docs/governance.md: a member sees their own acts, their introductions and who
saw their relationships; the admin's full log withholds what the company audience may not see.
Events about a campaign nomination are read through the campaign rule (`nomination_visible`): its
nominator, the campaign's owner while it is open, nobody else beyond what visibility allows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from connector.core.config import Sharing
from connector.governance.campaigns_rule import DISCLOSED, DISCLOSURE_ENDED, nomination_visible
from connector.governance.viewers import CRM_AUDIENCE, Viewer
from connector.governance.visibility import Visibility, visibility
from connector.store.models import AuditEvent, Intro, Member, Person, Relationship, utcnow
from connector.store.models_campaigns import Campaign, Nomination

SHOWN = "relationship.shown"
WITHHELD = {"withheld": "concerns a relationship you may not see"}


# where a session that must not write (a web page's) keeps its audit events: see
# connector/web/context.py `WebContext.read_tx`, which writes them before the page is answered
DEFERRED = "carnet_deferred_audit"


def record(
    session: Session,
    actor_id: int | None,
    action: str,
    subject_type: str,
    subject_id: int | str | None,
    details: dict[str, Any],
    at: datetime | None = None,
) -> AuditEvent:
    event = AuditEvent(
        at=at or utcnow(),
        actor_id=actor_id,
        action=action,
        subject_type=subject_type,
        subject_id=None if subject_id is None else str(subject_id),
        details=details,
    )
    deferred = session.info.get(DEFERRED)
    if deferred is not None:  # a read-only answer: its caller writes the events right after it
        deferred.append(event)
    else:
        session.add(event)
    return event


class ShownRel(Protocol):
    """A relationship an answer showed: a `VisibleRel`, or as little as its id, level, owner."""

    @property
    def id(self) -> int: ...
    @property
    def level(self) -> Visibility: ...
    @property
    def yours(self) -> bool: ...


def record_shown(
    session: Session, viewer: Member, command: str, query: str, shown: Iterable[ShownRel]
) -> AuditEvent | None:
    """One event per answer that showed others' relationships to `viewer` (who saw what, when)."""
    others = sorted({v.id: v.level for v in shown if not v.yours}.items())
    if not others:
        return None
    return record(
        session,
        actor_id=viewer.id,
        action=SHOWN,
        subject_type="answer",
        subject_id=None,
        details={
            "command": command,
            "query": query,
            "relationships": [rid for rid, _ in others],
            "levels": [level.name.lower() for _, level in others],
        },
    )


# -- listing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rel:
    id: int
    member_id: int
    shareability: str | None
    holder: Member
    person_name: str
    discovered_at: datetime | None
    chosen_at: datetime | None


class _Context:
    """What the listing needs about the relationships, members, intros and nominations its events
    name (and the nominations' campaigns)."""

    def __init__(self, session: Session, events: list[AuditEvent]):
        nom_ids = {i for e in events for i in _nomination_ids(e)}
        self.nominations = {
            n.id: n for n in session.scalars(select(Nomination).where(Nomination.id.in_(nom_ids)))
        }
        camp_ids = {n.campaign_id for n in self.nominations.values()}
        self.campaigns = {
            c.id: c for c in session.scalars(select(Campaign).where(Campaign.id.in_(camp_ids)))
        }
        rel_ids = {i for e in events for i in _rel_ids(e)}
        rel_ids |= {n.relationship_id for n in self.nominations.values()}
        intro_ids = {
            int(e.subject_id) for e in events if e.subject_type == "intro" and e.subject_id
        }
        rows = session.execute(
            select(
                Relationship.id,
                Relationship.member_id,
                Relationship.shareability,
                Member,
                Person.name,
                Relationship.discovered_at,
                Relationship.chosen_at,
            )
            .join(Member, Member.id == Relationship.member_id)
            .join(Person, Person.id == Relationship.person_id)
            .where(Relationship.id.in_(rel_ids))
        ).all()
        self.rels = {r[0]: _Rel(*r) for r in rows}
        actor_ids = {e.actor_id for e in events if e.actor_id is not None}
        self.members = {
            m.id: m for m in session.scalars(select(Member).where(Member.id.in_(actor_ids)))
        }
        self.intros = {
            i.id: i for i in session.scalars(select(Intro).where(Intro.id.in_(intro_ids)))
        }


def _rel_ids(event: AuditEvent) -> list[int]:
    ids = list(event.details.get("relationships") or [])
    if event.subject_type == "relationship" and event.subject_id:
        ids.append(int(event.subject_id))
    if event.subject_type == "intro" and event.details.get("relationship_id"):
        ids.append(int(event.details["relationship_id"]))
    return [int(i) for i in ids]


def _nomination_ids(event: AuditEvent) -> list[int]:
    if event.subject_type == "nomination" and event.subject_id:
        return [int(event.subject_id)]
    if event.action in (DISCLOSED, DISCLOSURE_ENDED):
        return [int(i) for i in event.details.get("nominations") or []]
    return []


def list_events(
    session: Session, reader: Member | None, sharing: Sharing, limit: int = 200
) -> dict[str, Any]:
    """The newest `limit` events `reader` may read (None: the admin's full log), redacted."""
    out: list[dict[str, Any]] = []
    for chunk in _chunks(session, reader):
        ctx = _Context(session, chunk)
        for event in chunk:
            entry = _entry(event, ctx, reader, sharing)
            if entry is not None:
                out.append(entry)
                if len(out) >= limit:
                    return {"reader": reader.email if reader else None, "events": out}
    return {"reader": reader.email if reader else None, "events": out}


def _chunks(
    session: Session, reader: Member | None, size: int = 1000
) -> Iterator[list[AuditEvent]]:
    q = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if reader is not None:
        q = q.where(
            or_(
                AuditEvent.actor_id == reader.id,
                AuditEvent.subject_type.in_(("intro", "relationship", "nomination")),
                AuditEvent.action.in_((SHOWN, DISCLOSED, DISCLOSURE_ENDED)),
            )
        )
    offset = 0
    while True:
        chunk = list(session.scalars(q.offset(offset).limit(size)))
        if not chunk:
            return
        yield chunk
        offset += size


def _entry(
    event: AuditEvent, ctx: _Context, reader: Member | None, sharing: Sharing
) -> dict[str, Any] | None:
    viewer: Viewer = reader if reader is not None else CRM_AUDIENCE
    is_actor = reader is not None and event.actor_id == reader.id
    refs = _rel_ids(event)
    if event.subject_type == "nomination":
        return _nomination_entry(event, ctx, reader, sharing)
    if event.action in (DISCLOSED, DISCLOSURE_ENDED):
        return _disclosure_entry(event, ctx, reader, sharing)
    seen = [r for r in refs if _level(ctx, r, viewer, sharing) > Visibility.HIDDEN]
    if event.subject_type == "intro":
        return _intro_entry(event, ctx, reader, seen, refs)
    if event.subject_type == "relationship" or (refs and event.action != SHOWN):
        if len(seen) < len(refs):
            return None if reader is not None else _withheld(event)
        holds = reader is not None and all(ctx.rels[r].member_id == reader.id for r in refs)
        return (
            _base(event, ctx, seen, dict(event.details))
            if is_actor or holds or not reader
            else None
        )
    if event.action == SHOWN:
        if is_actor or reader is None:
            return _base(
                event,
                ctx,
                seen,
                {"command": event.details.get("command"), "query": event.details.get("query")},
            )
        mine = [r for r in refs if r in ctx.rels and ctx.rels[r].member_id == reader.id]
        return _base(event, ctx, mine, {"command": event.details.get("command")}) if mine else None
    if is_actor or reader is None:
        return _base(event, ctx, [], dict(event.details))
    return None


def _intro_entry(
    event: AuditEvent, ctx: _Context, reader: Member | None, seen: list[int], refs: list[int]
) -> dict[str, Any] | None:
    intro = ctx.intros.get(int(event.subject_id or 0))
    if reader is None:
        if len(seen) < len(refs) or intro is None:
            return _withheld(event)
        return _base(event, ctx, seen, dict(event.details))
    if intro is None or reader.id not in (intro.requester_id, intro.broker_id):
        return None
    details = {k: v for k, v in event.details.items() if k != "relationship_id"}
    return _base(event, ctx, seen, details)


def _nomination_seen(ctx: _Context, nom: Nomination, viewer: Viewer, sharing: Sharing) -> bool:
    campaign, rel = ctx.campaigns.get(nom.campaign_id), ctx.rels.get(nom.relationship_id)
    if campaign is None or rel is None:  # gone from the store: nobody can be shown it any more
        return False
    return nomination_visible(campaign, nom, rel.holder, rel, viewer, sharing)


def _nomination_entry(
    event: AuditEvent, ctx: _Context, reader: Member | None, sharing: Sharing
) -> dict[str, Any] | None:
    """A nomination's event: to whom the campaign rule shows the nomination, as it is now (the
    owner's view ends when the campaign closes); the admin's log withholds the others."""
    nom = ctx.nominations.get(int(event.subject_id or 0))
    viewer: Viewer = reader if reader is not None else CRM_AUDIENCE
    if nom is None or not _nomination_seen(ctx, nom, viewer, sharing):
        return None if reader is not None else _withheld(event)
    details = {k: v for k, v in event.details.items() if k != "relationships"}
    return _base(event, ctx, [nom.relationship_id], details)


def _disclosure_entry(
    event: AuditEvent, ctx: _Context, reader: Member | None, sharing: Sharing
) -> dict[str, Any] | None:
    """The owner was shown nominations (or their view of them ended): the owner and the admin
    read it with the nominations the rule still shows them, each nominator with their own."""
    noms = [ctx.nominations[int(i)] for i in _nomination_ids(event) if int(i) in ctx.nominations]
    if reader is not None and event.actor_id != reader.id:
        shown = [n for n in noms if n.nominator_id == reader.id]
        if not shown:
            return None
    else:
        viewer: Viewer = reader if reader is not None else CRM_AUDIENCE
        shown = [n for n in noms if _nomination_seen(ctx, n, viewer, sharing)]
    rel_ids = [n.relationship_id for n in shown if n.relationship_id in ctx.rels]
    return _base(event, ctx, rel_ids, {"campaign_id": event.details.get("campaign_id")})


def _level(ctx: _Context, rel_id: int, viewer: Viewer, sharing: Sharing) -> Visibility:
    rel = ctx.rels.get(rel_id)
    if rel is None:  # gone from the store: nobody can be shown it any more
        return Visibility.HIDDEN
    return visibility(rel.holder, rel, viewer, sharing)


def _withheld(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "action": event.action,
        "actor": None,
        "subject": {"type": event.subject_type, "id": None},
        "relationships": [],
        "details": dict(WITHHELD),
    }


def _base(
    event: AuditEvent, ctx: _Context, rel_ids: list[int], details: dict[str, Any]
) -> dict[str, Any]:
    actor = ctx.members.get(event.actor_id) if event.actor_id is not None else None
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "action": event.action,
        "actor": {"name": actor.name, "email": actor.email} if actor else None,
        "subject": {"type": event.subject_type, "id": event.subject_id},
        "relationships": [
            {"id": r, "holder": ctx.rels[r].holder.email, "person": ctx.rels[r].person_name}
            for r in rel_ids
        ],
        "details": details,
    }
