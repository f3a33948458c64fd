"""`carnet status`: what the store holds, where each source's sync stands, the outbox backlog.

Pure reads; the CLI renders the dictionary for people or prints it as JSON.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.app import App
from connector.store import models as m
from connector.store.db import current_revision, head_revision, session_factory

COUNTED = {
    "members": m.Member,
    "people": m.Person,
    "orgs": m.Org,
    "relationships": m.Relationship,
    "opportunities": m.Opportunity,
    "intros": m.Intro,
    "referral_credits": m.ReferralCredit,
    "account_plans": m.AccountPlan,
    "audit_events": m.AuditEvent,
}


def _iso(value: Any) -> Any:
    return value.isoformat() if value is not None and hasattr(value, "isoformat") else value


PUSH_STATE = "(push)"  # sync_state.object of a source's last push (connector.push)


def _sync(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(m.SyncState)
        .where(m.SyncState.object != PUSH_STATE)
        .order_by(m.SyncState.source, m.SyncState.object)
    )
    return [
        {
            "source": s.source,
            "object": s.object,
            "cursor": s.cursor,
            "last_started_at": _iso(s.last_started_at),
            "last_finished_at": _iso(s.last_finished_at),
            "counts": s.last_counts,
            "errors": s.last_errors,
            "api_usage": s.api_usage,
        }
        for s in rows
    ]


def _outbox(session: Session) -> dict[str, Any]:
    backlog: dict[str, dict[str, int]] = {}
    for source, status, n in session.execute(
        select(m.Outbox.source, m.Outbox.status, func.count()).group_by(
            m.Outbox.source, m.Outbox.status
        )
    ):
        backlog.setdefault(source, {})[status] = n
    parked = [
        {
            "source": o.source,
            "object": o.object,
            "id": o.external_id,
            "error": o.last_error,
            "attempts": o.attempts,
        }
        for o in session.scalars(
            select(m.Outbox)
            .where(m.Outbox.status.in_(("failed", "parked")))
            .order_by(m.Outbox.id)
            .limit(50)
        )
    ]
    return {"backlog": backlog, "failures": parked}


def _push(session: Session) -> dict[str, Any]:
    """Each source's last push: when, its counts, and whether it stopped at the API budget."""
    rows = session.scalars(
        select(m.SyncState).where(m.SyncState.object == PUSH_STATE).order_by(m.SyncState.source)
    )
    out = {}
    for s in rows:
        counts = dict(s.last_counts or {})
        stopped = counts.pop("stopped", None)
        budget = bool(counts.pop("budget_stopped", False))
        out[s.source] = {
            "last_finished_at": _iso(s.last_finished_at),
            "counts": counts,
            "stopped": stopped,
            "budget_stopped": budget and stopped is not None,
            "api_usage": s.api_usage,
        }
    return out


def store_status(app: App) -> dict[str, Any]:
    rev = current_revision(app.engine)
    doc: dict[str, Any] = {
        "config": str(app.config.path),
        "store": {
            "backend": app.engine.dialect.name,
            "migration": rev,
            "migration_head": head_revision(),
            "initialised": rev is not None,
        },
        "sources": {name: {"enabled": True} for name in app.config.sources.enabled()},
    }
    if rev is None:
        return doc
    with session_factory(app.engine)() as session:
        doc["counts"] = {
            name: session.scalar(select(func.count()).select_from(t)) for name, t in COUNTED.items()
        }
        doc["sync"] = _sync(session)
        doc["outbox"] = _outbox(session)
        doc["push"] = _push(session)
        doc["leases"] = [
            {"name": lease.name, "holder": lease.holder, "expires_at": _iso(lease.expires_at)}
            for lease in session.scalars(select(m.Lease).order_by(m.Lease.name))
        ]
    return doc
