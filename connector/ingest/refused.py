"""A page the store refuses a row of: stored apart from that one record, which is skipped and
listed, while the rest of the page (and the run) goes on, on SQLite as on PostgreSQL.

The fast path is the page in one savepoint. Only when the store refuses something is the page
tried again in halves, each in its own savepoint, down to the single records it refuses.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from connector.core.errors import FatalError
from connector.ingest.batch import Counts
from mappings.records import MappedRecord

# what a database says when it will not take a row's values: a value of the wrong form (NUL in
# a PostgreSQL text, a number out of range, a string too long) or a broken constraint
REFUSALS = (DataError, IntegrityError)
MAX_REFUSED = 50  # records of one page; more is no longer about records: the source stops


def refusal(exc: DataError | IntegrityError) -> str:
    """Why the store refused a row, without the row: the first line of the database's message
    (PostgreSQL's DETAIL line, which repeats the values, and the SQL parameters are left out)."""
    said = str(exc.orig or "").strip().splitlines()
    return f"the store refused it: {said[0] if said else type(exc.orig).__name__}"


def stored_apart(
    session: Session,
    store: Callable[[list[MappedRecord]], Counts],
    records: list[MappedRecord],
) -> Counts:
    """`store(records)` in a savepoint; when the store refuses a row, the records again in
    halves, down to each record it refuses, which is counted and listed as refused. More than
    MAX_REFUSED refused records stop the source with a FatalError."""
    counts = Counts()
    todo = [records]
    while todo:
        part = todo.pop()
        try:
            with session.begin_nested():
                counts.add(store(part))
        except REFUSALS as exc:
            if len(part) > 1:
                half = len(part) // 2
                todo += [part[half:], part[:half]]  # the first half first
                continue
            counts.refuse(part[0].external_id, refusal(exc))
            if counts.refused > MAX_REFUSED:
                raise FatalError(
                    f"the store refused more than {MAX_REFUSED} records of one page; the last: "
                    f"{refusal(exc)}"
                ) from None
    return counts
