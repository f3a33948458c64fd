"""What the visibility rule's read path (`visibility.visible_rows` / `redacted`) reads beside each
row it shows in full: its notes, its last interaction made a date; and the order it lists them in.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from connector.store.models import Relationship


def last_interaction(session: Session) -> Callable[[Any], datetime | None]:
    """`visible_query`'s last interaction, as the driver gives it, made what the ORM would make
    of it (the column type's own result processor): only for the rows shown in full, rather than
    for every row read."""
    dialect = session.get_bind().dialect
    made = _WHEN.get(dialect.name)
    if made is None:
        column = Relationship.__table__.c.last_interaction_at
        made = column.type.dialect_impl(dialect).result_processor(dialect, None) or _same
        _WHEN[dialect.name] = made
    return made


def _same(value: Any) -> Any:
    return value


_WHEN: dict[str, Callable[[Any], Any]] = {}


_NOTES = select(Relationship.id, Relationship.notes).where(
    Relationship.id.in_(bindparam("ids", expanding=True)), Relationship.notes.is_not(None)
)


def notes_of(session: Session, ids: list[int]) -> dict[int, str | None]:
    out: dict[int, str | None] = {}
    for i in range(0, len(ids), 500):
        out.update(session.connection().execute(_NOTES, {"ids": ids[i : i + 500]}).all())
    return out


_NEVER = datetime.min.replace(tzinfo=UTC)


def strongest_first(rels: list[Any]) -> None:
    """In place: strongest first, then the most recent interaction (none: last), then the oldest
    relationship. Three stable sorts on plain fields, least significant first (cheaper than a
    key building a tuple per row, on thousands of rows)."""
    rels.sort(key=lambda v: v.id)
    rels.sort(key=lambda v: v.last_interaction_at or _NEVER, reverse=True)
    rels.sort(key=lambda v: v.strength or 0, reverse=True)
