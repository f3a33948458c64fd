"""`carnet status`: what the store holds, where each source's sync stands, the outbox backlog.

Pure reads; the CLI renders the dictionary for people or prints it as JSON.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.store import models as m
from connector.store.app import App
from connector.store.db import current_revision, head_revision, read_only_sessions
from connector.store.models_plans import AccountPlan
from connector.sync_describes import DESCRIBE_STATE
from scheduler.jobs import last_runs, next_runs
from scheduler.leases import lease_rows

COUNTED = {
    "members": m.Member,
    "people": m.Person,
    "orgs": m.Org,
    "relationships": m.Relationship,
    "opportunities": m.Opportunity,
    "intros": m.Intro,
    "referral_credits": m.ReferralCredit,
    "account_plans": AccountPlan,
    "audit_events": m.AuditEvent,
}


def _iso(value: Any) -> Any:
    return value.isoformat() if value is not None and hasattr(value, "isoformat") else value


PUSH_STATE = "(push)"  # sync_state.object of a source's last push (connector.writeback.push)


def _sync(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(m.SyncState)
        .where(m.SyncState.object.not_in([PUSH_STATE, DESCRIBE_STATE]))
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
    with read_only_sessions(app.engine)() as session:
        doc["counts"] = {
            name: session.scalar(select(func.count()).select_from(t)) for name, t in COUNTED.items()
        }
        doc["sync"] = _sync(session)
        doc["outbox"] = _outbox(session)
        doc["push"] = _push(session)
        doc["leases"] = lease_rows(session)
        _schedule(session, app, doc["sources"])
    return doc


def _schedule(session: Session, app: App, sources: dict[str, dict[str, Any]]) -> None:
    """Per source: its interval, next runs, last runs (from the run log), API usage against the
    allowance (from its latest finished object)."""
    now = datetime.now(UTC)
    due, runs = next_runs(app.config, now), last_runs(session)
    for name, settings in app.config.sources.enabled().items():
        sources[name] |= {
            "every": settings.every,
            "next_run": due[name]["sync"],
            "next_full_run": due[name]["full"],
            "last_run": runs.get(f"sync:{name}"),
            "last_full_run": runs.get(f"full:{name}"),
            "api_usage": _usage(session, name, settings),
        }


def _usage(session: Session, source: str, settings: Any) -> dict[str, Any] | None:
    latest = session.scalars(
        select(m.SyncState.api_usage)
        .where(m.SyncState.source == source, m.SyncState.last_finished_at.is_not(None))
        .order_by(m.SyncState.last_finished_at.desc())
        .limit(1)
    ).first()
    if not latest:
        return None
    share = getattr(settings, "api_budget_share", None)  # the config reads the old name into it
    used, limit = latest.get("used"), latest.get("limit")
    allowance = int(limit * share) if limit and share else None
    return dict(latest) | {
        "allowance_share": share,
        "allowance": allowance,
        "allowance_used_percent": round(100 * used / allowance, 1) if allowance and used else None,
    }


def schedule_table(doc: dict[str, Any]) -> Any:
    """The schedule for people: per source, when it runs next and how its last run went."""
    from rich.table import Table

    table = Table(
        "source",
        "every",
        "next run",
        "last run",
        "took",
        "status",
        "API allowance used",
        title="schedule",
        title_justify="left",
    )
    for name, src in doc["sources"].items():
        last, usage = src.get("last_run") or {}, src.get("api_usage") or {}
        pct = usage.get("allowance_used_percent")
        table.add_row(
            name,
            src.get("every", "-"),
            str(src.get("next_run") or "-"),
            str(last.get("finished_at") or last.get("started_at") or "-"),
            f"{last['duration_s']}s" if "duration_s" in last else "-",
            str(last.get("status", "-")),
            "-" if pct is None else f"{pct}%",
        )
    return table
