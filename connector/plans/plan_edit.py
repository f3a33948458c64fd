"""Editing an account plan: `carnet plan set` (strategy, stance, influence, actions) and the
inbound sync's stakeholder fields from the CRM; each change is checked first and audited once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.errors import RecordError, UsageError
from connector.governance.audit import record
from connector.governance.relationships import require_person
from connector.governance.whoknows import resolve_org
from connector.store.models import Member, Org, Person, utcnow
from connector.store.models_plans import STANCES, AccountPlan, PlanAction, Stakeholder


def _check_stance(stance: str) -> str:
    s = stance.strip().lower()
    if s not in STANCES:
        raise UsageError(f"stance must be one of {', '.join(STANCES)}, got {stance!r}")
    return s


def _check_influence(n: int) -> int:
    if not 1 <= n <= 5:
        raise UsageError(f"influence must be a whole number from 1 to 5, got {n}")
    return n


def _org_person(session: Session, org: Org, who: str | int) -> Person:
    """By email (the CLI), or by id (the web, which shows no contact details it need not)."""
    person = require_person(session, who) if isinstance(who, str) else session.get(Person, who)
    if person is None or person.org_id != org.id or person.deleted_at or person.merged_into_id:
        raise UsageError(f"{str(who).strip()} is not one of {org.name}'s people")
    return person


def set_plan(
    session: Session,
    query: str | Org,
    actor: Member | None,
    strategy: str | None = None,
    stance: tuple[str | int, str] | None = None,
    influence: tuple[str | int, int] | None = None,
    action: str | None = None,
    source: str = "cli",
) -> dict[str, Any]:
    """`carnet plan set` (and the web's plan page: the org itself, people by id, source "web"):
    everything is checked before anything changes; one audit event."""
    if strategy is None and stance is None and influence is None and action is None:
        raise UsageError("plan set needs --strategy, --stance, --influence or --action")
    org = query if isinstance(query, Org) else resolve_org(session, query)
    stance_to = (_org_person(session, org, stance[0]), _check_stance(stance[1])) if stance else None
    infl_to = (
        (_org_person(session, org, influence[0]), _check_influence(influence[1]))
        if influence
        else None
    )
    if action is not None and not action.strip():
        raise UsageError("--action needs a text saying what was done")
    plan = _plan_of(session, org)
    changes: dict[str, Any] = {}
    if strategy is not None and strategy.strip() != (plan.strategy or ""):
        changes["strategy"] = [plan.strategy, strategy.strip()]
        plan.strategy = strategy.strip()
    if stance_to:
        _mark(session, plan, stance_to[0], "stance", stance_to[1], changes)
    if infl_to:
        _mark(session, plan, infl_to[0], "influence", infl_to[1], changes)
    if action is not None:
        session.add(
            PlanAction(
                plan_id=plan.id,
                text=action.strip(),
                member_id=(actor.id if actor else None),
                source=source,
            )
        )
        changes["action"] = action.strip()
    if changes:
        plan.updated_at = utcnow()
        record(
            session,
            (actor.id if actor else None),
            "plan.changed",
            "account_plan",
            plan.id,
            {"org_id": org.id, "changes": changes, "source": source},
        )
    session.flush()
    return {"org": {"id": org.id, "name": org.name}, "plan_id": plan.id, "changes": changes}


def _plan_of(session: Session, org: Org) -> AccountPlan:
    plan = session.scalar(select(AccountPlan).where(AccountPlan.org_id == org.id))
    if plan is None:
        plan = AccountPlan(org_id=org.id)
        session.add(plan)
        session.flush()
    return plan


def _mark(
    session: Session,
    plan: AccountPlan,
    person: Person,
    name: str,
    value: Any,
    changes: dict[str, Any],
) -> None:
    row = session.scalar(
        select(Stakeholder).where(
            Stakeholder.plan_id == plan.id, Stakeholder.person_id == person.id
        )
    )
    if row is None:
        row = Stakeholder(plan_id=plan.id, person_id=person.id, stance="unknown")
        session.add(row)
    old = getattr(row, name)
    if old != value:
        setattr(row, name, value)
        changes.setdefault("stakeholders", {}).setdefault(str(person.id), {})[name] = [old, value]
    session.flush()


def apply_crm_stakeholder(
    session: Session,
    person_id: int,
    stance: str | None,
    influence: int | None,
    source: str = "crm",
) -> bool:
    """The inbound sync's entry for the CRM fields named in the mappings: a rep set the contact's
    stance / influence inside the CRM. None leaves the value as it is; a bad value is a RecordError
    (skip the record, go on). True if something changed."""
    if stance is not None and stance.strip().lower() not in STANCES:
        raise RecordError(f"unknown stance {stance!r}", record_id=str(person_id))
    if influence is not None and not (isinstance(influence, int) and 1 <= influence <= 5):
        raise RecordError(f"influence must be 1 to 5, got {influence!r}", record_id=str(person_id))
    person = session.get(Person, person_id)
    if person is None or person.org_id is None or (stance is None and influence is None):
        return False
    org = session.get(Org, person.org_id)
    assert org is not None
    plan = _plan_of(session, org)
    changes: dict[str, Any] = {}
    if stance is not None:
        _mark(session, plan, person, "stance", stance.strip().lower(), changes)
    if influence is not None:
        _mark(session, plan, person, "influence", influence, changes)
    if changes:
        plan.updated_at = utcnow()
        record(
            session,
            None,
            "plan.changed",
            "account_plan",
            plan.id,
            {"org_id": org.id, "changes": changes, "source": source},
        )
    return bool(changes)
