"""Managers from the CRM's user hierarchy: `member.manager_id` (Salesforce User.ManagerId, pulled
with the users). With `web.managers: [crm]`, a member with at least one active direct report is a
manager, and their team is everyone below them, directly or not.

The hierarchy grants roles and draws a team; it shows nothing by itself. What a manager sees of
their team's relationships is decided by the one visibility rule (connector.governance.visibility),
as for a team named by `member.team`.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.store.models import Member


def has_reports(session: Session, member_id: int) -> bool:
    """At least one active member reports directly to this one (themselves aside)."""
    q = select(Member.id).where(
        Member.manager_id == member_id, Member.id != member_id, Member.active
    )
    return session.scalar(q.limit(1)) is not None


def report_ids(session: Session, manager_id: int) -> set[int]:
    """Every member below this one, directly or not, active or not; the walk goes on through an
    inactive member (their reports still sit under the manager) and stops at a cycle (the
    manager is never their own report)."""
    seen, frontier = {manager_id}, [manager_id]
    while frontier:
        q = select(Member.id).where(Member.manager_id.in_(frontier))
        frontier = [i for i in session.scalars(q) if i not in seen]
        seen.update(frontier)
    return seen - {manager_id}


def hierarchy_team(session: Session, manager: Member) -> list[Member]:
    """The manager and their active reports (direct and indirect), by name."""
    ids = sorted(report_ids(session, manager.id) | {manager.id})
    q = select(Member).where(Member.id.in_(ids), Member.active | (Member.id == manager.id))
    return list(session.scalars(q.order_by(Member.name, Member.email)))


def hierarchy_managers(session: Session) -> list[Member]:
    """The active members with at least one active direct report, by id."""
    report = select(Member.manager_id).where(
        Member.active, Member.manager_id.is_not(None), Member.manager_id != Member.id
    )
    q = select(Member).where(Member.active, Member.id.in_(report)).order_by(Member.id)
    return list(session.scalars(q))
