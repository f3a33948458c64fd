"""What the last write-back refresh of each CRM source saw of the overlay's dependencies: which
person each relationship belonged to, and which org each person, with a signature of the columns
the CRM fields are drawn from (connector/writeback/changes.py).

A relationship that moves to another person, or is deleted, changes the CRM fields of the person
it left (and of that person's org); a person that moves changes the org it left. The next refresh
finds those from these rows, and any other change to those columns (however it was written),
then brings them to what the overlay holds now.

On SQLite the store also counts every write to the relationship and person tables, and every link
deleted or re-keyed (triggers, made with the tables: `COUNTED`); a refresh keeps the count it saw
(`change_count` row `refresh:<source>` beside the store's `live` one), and the next has nothing to
compare with these rows, nor any outbox row whose link went, when the count has not moved since
and the triggers are all there. PostgreSQL stores keep no count (a row every writer updates would
serialise them): their refresh always compares.

They sit on models.Base's metadata like every other table (migrations/env.py imports this module).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Index, String, Text, event, text
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


class ChangeCount(Base):
    """A count of writes: `live`, every write to a relationship or a person and every link deleted
    or re-keyed since the store was made (kept by triggers, SQLite only); `refresh:<source>`,
    `live` as that source's last refresh saw it."""

    __tablename__ = "change_count"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


LIVE = "live"
COUNTED = {  # trigger name -> (table, event): each counts one write in the `live` row
    f"tr_{table}_{what.split()[0].lower()}_counted": (table, what)
    for table, whats in (
        ("relationship", ("INSERT", "UPDATE", "DELETE")),
        ("person", ("INSERT", "UPDATE", "DELETE")),
        ("source_link", ("DELETE", "UPDATE OF source, object, external_id")),  # gone, re-keyed
    )
    for what in whats
}


def counting_sql() -> list[str]:
    """The `live` row and the triggers that count, as SQLite statements."""
    bump = f"UPDATE change_count SET n = n + 1 WHERE name = '{LIVE}';"
    return [f"INSERT INTO change_count (name, n) VALUES ('{LIVE}', 0)"] + [
        f"CREATE TRIGGER {name} AFTER {what} ON {table} BEGIN {bump} END"
        for name, (table, what) in COUNTED.items()
    ]


@event.listens_for(Base.metadata, "after_create")
def _count_writes(_target: Any, connection: Any, tables: Any = (), **_kw: Any) -> None:
    """A SQLite store made from the models (the tests') counts as a migrated one does (0012)."""
    if connection.dialect.name == "sqlite" and ChangeCount.__table__ in tables:
        for sql in counting_sql():
            connection.execute(text(sql))


__all__ = ["COUNTED", "LIVE", "ChangeCount", "RefreshPerson", "RefreshRel", "counting_sql"]
