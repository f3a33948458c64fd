"""What the last write-back refresh of each CRM source saw of the overlay's dependencies: which
person each relationship belonged to, and which org each person, with a signature of the columns
the CRM fields are drawn from (connector/writeback/changes.py).

A relationship that moves to another person, or is deleted, changes the CRM fields of the person
it left (and of that person's org); a person that moves changes the org it left. The next refresh
finds those from these rows, and any other change to those columns (however it was written),
then brings them to what the overlay holds now.

They sit on models.Base's metadata like every other table (migrations/env.py imports this module).
"""

from __future__ import annotations

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from connector.store.models import Base


class RefreshRel(Base):
    """A relationship as a source's last refresh saw it: the person it belonged to."""

    __tablename__ = "refresh_rel"
    source: Mapped[str] = mapped_column(String(20), primary_key=True)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # relationship.id
    person_id: Mapped[int]
    sig: Mapped[str] = mapped_column(Text)  # its holder, shareability, rating, score, ...


class RefreshPerson(Base):
    """A person as a source's last refresh saw it: the org it belonged to."""

    __tablename__ = "refresh_person"
    source: Mapped[str] = mapped_column(String(20), primary_key=True)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # person.id
    org_id: Mapped[int | None]
    sig: Mapped[str] = mapped_column(Text)  # its level, whether it is live
    __table_args__ = (Index("ix_refresh_person_org", "source", "org_id"),)


__all__ = ["RefreshPerson", "RefreshRel"]
