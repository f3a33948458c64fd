"""Hand-made overlay data for the governance tests: members, orgs, people, relationships.

There is no inbound sync to fill the store in these tests; these helpers insert rows directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, func, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from connector.core.config import Sharing
from connector.core.normalise import org_name_key
from connector.store import models as m


@contextmanager
def memory_store() -> Iterator[Session]:
    """An in-memory SQLite store (one connection), foreign keys on as Carnet's stores have them:
    for property tests, a fresh one per example."""
    engine = create_engine("sqlite://", poolclass=StaticPool)
    event.listen(engine, "connect", lambda conn, _: conn.execute("PRAGMA foreign_keys=ON"))
    m.Base.metadata.create_all(engine)
    with Session(engine) as s:
        yield s
    engine.dispose()


def member(
    s: Session, email: str, team: str | None = None, name: str | None = None, active: bool = True
) -> m.Member:
    row = m.Member(email=email, name=name or email.split("@")[0].title(), team=team, active=active)
    s.add(row)
    s.flush()
    return row


def org(s: Session, name: str, domains: tuple[str, ...] = (), country: str | None = None) -> m.Org:
    row = m.Org(name=name, name_key=org_name_key(name), country=country)
    s.add(row)
    s.flush()
    for d in domains:
        s.add(m.OrgDomain(domain=d, org_id=row.id))
    s.flush()
    return row


def person(
    s: Session,
    email: str | None,
    org: m.Org | None = None,
    name: str | None = None,
    title: str | None = None,
    reports_to: m.Person | None = None,
    phone: str | None = None,
) -> m.Person:
    name = name or (email or "someone").split("@")[0].replace(".", " ").title()
    row = m.Person(
        name=name,
        name_key=name.lower(),
        title=title,
        phone=phone,
        org_id=org.id if org else None,
        reports_to_id=reports_to.id if reports_to else None,
    )
    s.add(row)
    s.flush()
    if email:
        s.add(m.PersonEmail(email=email.lower(), person_id=row.id))
        s.flush()
    return row


def rel(
    s: Session,
    holder: m.Member,
    who: m.Person,
    rating: int | None = None,
    score: float | None = None,
    share: str | None = None,
    exclusive: bool = False,
    notes: str | None = None,
    signals: dict[str, Any] | None = None,
    last: datetime | None = None,
) -> m.Relationship:
    row = m.Relationship(
        member_id=holder.id,
        person_id=who.id,
        rating=rating,
        score=score,
        shareability=share,
        exclusive=exclusive,
        notes=notes,
        signals=signals or {},
        last_interaction_at=last,
    )
    s.add(row)
    s.flush()
    return row


def snapshot(s: Session) -> dict[str, Any]:
    """Everything the governance commands may change, to compare before and after a refusal."""
    rels = s.execute(
        select(
            m.Relationship.id,
            m.Relationship.member_id,
            m.Relationship.person_id,
            m.Relationship.rating,
            m.Relationship.shareability,
            m.Relationship.exclusive,
        ).order_by(m.Relationship.id)
    ).all()
    intros = s.execute(
        select(m.Intro.id, m.Intro.status, m.Intro.response).order_by(m.Intro.id)
    ).all()
    events = s.scalar(select(func.count()).select_from(m.AuditEvent))
    return {
        "relationships": [tuple(r) for r in rels],
        "intros": [tuple(i) for i in intros],
        "audit_events": events,
    }


def write_config(folder: Path, sharing: Sharing | None = None, db: str = "carnet.db") -> Path:
    sharing = sharing or Sharing()
    teams = "[" + ", ".join(sharing.pilot_teams) + "]"
    path = folder / "config.yaml"
    path.write_text(
        "version: 1\n"
        f"database_url: sqlite:///{db}\n"
        "sharing:\n"
        f"  default: {sharing.default}\n"
        f"  scope: {sharing.scope}\n"
        f"  pilot_teams: {teams}\n",
        encoding="utf-8",
    )
    return path
