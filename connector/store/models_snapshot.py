"""The weekly network snapshot: per team, the team's figures and one row per account it works,
taken once per ISO week (connector/plans/snapshot.py) so managers see the trend.

It sits on models.Base's metadata like every other table (migrations/env.py imports this module).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from connector.store.models import Base, utcnow

TEAM_SCOPE = "team"  # the row of the team's own figures; an account's row is "org:<id>"


class NetworkSnapshot(Base):
    """One week's figures for a team (`scope` "team") or for an account as that team sees it
    (`scope` "org:<id>"); counts only, never a relationship."""

    __tablename__ = "network_snapshot"
    id: Mapped[int] = mapped_column(primary_key=True)
    team: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(40))
    week: Mapped[str] = mapped_column(String(8))  # ISO week, "2026-W49": sorts as text
    org_id: Mapped[int | None] = mapped_column(ForeignKey("org.id", ondelete="CASCADE"))
    accounts: Mapped[int] = mapped_column(default=0)
    single_threaded_accounts: Mapped[int] = mapped_column(default=0)
    people: Mapped[int] = mapped_column(default=0)
    known: Mapped[int] = mapped_column(default=0)
    key: Mapped[int] = mapped_column(default=0)
    key_known: Mapped[int] = mapped_column(default=0)
    key_known_strong: Mapped[int] = mapped_column(default=0)
    single_threaded: Mapped[int] = mapped_column(default=0)
    relationships: Mapped[int] = mapped_column(default=0)
    strength: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"1": n, ..., "none": n}
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("team", "scope", "week"),)


__all__ = ["TEAM_SCOPE", "NetworkSnapshot"]
