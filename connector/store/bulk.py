"""The bulk statements ingest writes with: on SQLite many rows per statement (`VALUES (...),
(...)`), so SQLite prepares each statement, and journals it for the tables' write-counting
triggers, once per chunk, not once per row; on PostgreSQL through COPY (updates into a temporary
table, then one `UPDATE ... FROM` it). Rows are handed to the driver as tuples. Values go through
each column's own bind processor (so they are stored exactly as the ORM stores them);
SQLAlchemy's per-row parameter machinery, the slowest part of a page, is skipped. Missing columns
get their defaults, as Core would give them.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    Connection,
    String,
    Table,
    bindparam,
    func,
    literal_column,
    select,
)
from sqlalchemy.orm import Session

from connector.store.models import UTCDateTime

Processor = Callable[[Any], Any] | None
_VALUES_ROWS = 2000  # rows in one statement's VALUES list at most (SQLite)


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _processors(conn: Connection, table: Table, cols: list[str]) -> list[Processor]:
    dialect = conn.dialect
    out: list[Processor] = []
    for c in cols:
        proc: Processor = table.c[c].type.dialect_impl(dialect).bind_processor(dialect)
        if isinstance(table.c[c].type, UTCDateTime) and proc is not None:
            proc = _fast_datetime(proc)
        elif isinstance(table.c[c].type, JSON) and proc is not None:
            proc = _fast_json(proc)
        out.append(proc)
    return out


def _sqlite_text(value: datetime) -> str:
    if value.tzinfo is UTC:  # the usual case: drop the "+00:00", nothing to convert
        return value.isoformat(" ", "microseconds")[:-6]
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store; use an aware UTC datetime")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _fast_datetime(proc: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """SQLite keeps datetimes as text; one C call makes the same text the dialect's processors
    make in several steps. Used only when it is the same, checked here."""
    sample = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    return _sqlite_text if proc(sample) == _sqlite_text(sample) else proc


_JSON_SAMPLE = {"a": [1, 2.5, "é\n", None, True], "b": {"c": []}}
_json_text = json.JSONEncoder().encode  # what json.dumps(value) calls, without its checks


def _fast_json(proc: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The JSON columns' text straight from the encoder (the dialect's processor wraps the same
    call in several layers), when it is the same text, checked here."""
    return _json_text if proc(_JSON_SAMPLE) == _json_text(_JSON_SAMPLE) else proc


def _tuples(
    procs: list[Processor], cols: list[str], rows: list[dict[str, Any]], tail: tuple[Any, ...] = ()
) -> list[tuple[Any, ...]]:
    """Rows as driver-ready tuples (each ending with `tail`, processed already); a processor's
    last result is reused for the same object (a page's timestamps: one datetime, once)."""
    if not rows or not cols:
        return [tail for _ in rows]
    get = itemgetter(*cols)
    raw = [get(row) for row in rows] if len(cols) > 1 else [(row[cols[0]],) for row in rows]
    columns = list(zip(*raw, strict=True))
    for i, proc in enumerate(procs):
        if proc is not None:
            columns[i] = _processed(proc, columns[i])
    if tail:
        columns += [(t,) * len(rows) for t in tail]
    return list(zip(*columns, strict=True))


def _processed(proc: Callable[[Any], Any], values: tuple[Any, ...]) -> tuple[Any, ...]:
    """One column's values through its processor (None stays None); a run of the same object is
    processed once."""
    out: list[Any] = []
    seen: Any = object()
    done: Any = None
    for value in values:
        if value is None:
            out.append(None)
            continue
        if value is not seen:
            seen, done = value, proc(value)
        out.append(done)
    return tuple(out)


def _default(col: Column[Any]) -> tuple[bool, Any]:
    """(has a default, its value) for a column left out of the rows."""
    default = col.default
    if default is None or not (default.is_scalar or default.is_callable):
        return False, None
    arg: Any = default.arg  # type: ignore[attr-defined]
    return True, arg(None) if default.is_callable else arg


def _quote(conn: Connection) -> Callable[[str], str]:
    """The dialect's quoting of names (only where a name needs it)."""
    return conn.dialect.identifier_preparer.quote


def _mark(conn: Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def bulk_insert(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert rows (all with the same keys): on SQLite as one `INSERT ... VALUES (...), (...)` per
    chunk where `_values_per_statement` says so; on PostgreSQL through COPY; else (or when COPY
    is refused) in one executemany."""
    if not rows:
        return
    table, conn = _table(model), session.connection()
    cols = list(rows[0])
    extra = {}
    for col in table.columns:
        if col.name not in rows[0] and not col.primary_key:
            has, value = _default(col)
            if has:
                extra[col.name] = value
    procs = _processors(conn, table, [*cols, *extra])
    tail = tuple(
        p(v) if p and v is not None else v
        for p, v in zip(procs[len(cols) :], extra.values(), strict=True)
    )
    names = [*cols, *extra]
    q, mark = _quote(conn), _mark(conn)
    into = f"{q(table.name)} ({', '.join(q(n) for n in names)})"
    _send(
        conn,
        _tuples(procs[: len(cols)], cols, rows, tail),
        values=f"INSERT INTO {into} VALUES {{}}",
        copy=Copy(f"COPY {into} FROM STDIN"),
        each=f"INSERT INTO {into} VALUES ({', '.join([mark] * len(names))})",
    )


@dataclass(frozen=True)
class Copy:
    """PostgreSQL: the rows through `sql` (`COPY ... FROM STDIN`), with statements run before
    and after it in the same savepoint."""

    sql: str
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()


def _send(
    conn: Connection, tuples: list[tuple[Any, ...]], values: str, copy: Copy | None, each: str
) -> None:
    """The rows to the store the fastest way it takes them: on SQLite (from 3.33) `values` with
    its `{}` made a VALUES list, a chunk at a time; on PostgreSQL (psycopg) `copy` (if any);
    else, or when the COPY is refused, `each` as one executemany."""
    if limit := _values_per_statement(conn):
        _values_in_chunks(conn, limit, tuples, values)
    elif not (copy and conn.dialect.driver == "psycopg" and _copied(conn, tuples, copy)):
        conn.exec_driver_sql(each, tuples)


def _copied(conn: Connection, tuples: list[tuple[Any, ...]], copy: Copy) -> bool:
    """PostgreSQL: the rows in through `copy`, all in a savepoint of its own; whether it went
    through. When the store (or psycopg) refuses a row, the savepoint is rolled back and the
    caller sends the rows as plain statements, which raise the refusal as every statement does
    (an IntegrityError or DataError, with the store's own handlers): a refused row costs the page
    its COPY, never the transaction."""
    raw: Any = conn.connection.driver_connection  # a psycopg Connection
    error = conn.dialect.loaded_dbapi.Error
    raw.execute("SAVEPOINT carnet_copy")
    try:
        for sql in copy.before:
            raw.execute(sql)
        with raw.cursor() as cur, cur.copy(copy.sql) as out:
            for row in tuples:
                out.write_row(row)
        for sql in copy.after:
            raw.execute(sql)
    except error:
        with suppress(error):  # a broken connection: the plain statements then say so
            raw.execute("ROLLBACK TO SAVEPOINT carnet_copy")
            raw.execute("RELEASE SAVEPOINT carnet_copy")
        return False
    raw.execute("RELEASE SAVEPOINT carnet_copy")
    return True


def insert_ids(session: Session, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows (all with the same keys); their new ids, in the rows' order.

    The ids are taken first: on PostgreSQL from the table's sequence, on SQLite as one more than
    the largest, as SQLite itself would (one writer at a time; these tables have no
    AUTOINCREMENT). Then the rows go in with their ids (bulk_insert)."""
    if not rows:
        return []
    table = _table(model)
    if session.get_bind().dialect.name == "sqlite":
        start = (
            int(session.connection().scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0)
            + 1
        )
        ids = list(range(start, start + len(rows)))
    else:
        seq = func.pg_get_serial_sequence(table.name, "id")
        ids = list(
            session.connection().scalars(
                select(func.nextval(seq)).select_from(func.generate_series(1, len(rows)))
            )
        )
    bulk_insert(session, model, [row | {"id": i} for row, i in zip(rows, ids, strict=True)])
    return ids


def bulk_update(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """Update rows by primary key: each dict holds "id" and the columns to set (a row given twice
    is updated as the last one says). Rows setting the same columns go together: on SQLite as one
    `UPDATE ... FROM (VALUES ...)` per chunk where `_values_per_statement` says so, on PostgreSQL
    through COPY (`_through`), else (or when COPY is refused) in one executemany."""
    table, conn = _table(model), session.connection()
    merged: dict[Any, dict[str, Any]] = {}  # a row's updates folded in order: one update a row
    for row in rows:
        merged.setdefault(row["id"], {}).update(row)
    groups: dict[tuple[str, ...], dict[Any, dict[str, Any]]] = {}
    for rid, row in merged.items():
        groups.setdefault(tuple(k for k in row if k != "id"), {})[rid] = row
    q, mark, temp = _quote(conn), _mark(conn), _temp_tables(conn)
    for cols, by_id in groups.items():
        if not cols:
            continue
        names = [*cols, "id"]
        t, key = q(table.name), f"v.column{len(names)}"
        from_values = ", ".join(f"{q(c)} = v.column{i}" for i, c in enumerate(cols, start=1))
        one_by_one = ", ".join(f"{q(c)} = {mark}" for c in cols)
        _send(
            conn,
            _tuples(_processors(conn, table, names), names, list(by_id.values())),
            values=f"UPDATE {t} SET {from_values} FROM (VALUES {{}}) AS v WHERE {t}.id = {key}",
            copy=_through(q, table, names) if temp else None,
            each=f"UPDATE {t} SET {one_by_one} WHERE {q('id')} = {mark}",
        )


def _temp_tables(conn: Connection) -> bool:
    """PostgreSQL: whether this connection's role may make temporary tables, which an update
    through COPY needs (PUBLIC may by default; a database can deny it). Asked once per connection
    (kept with it in the pool): without the privilege, each update would fail its CREATE, leave
    an error in the server's log and go again as plain statements. False elsewhere."""
    if conn.dialect.driver != "psycopg":
        return False
    info = conn.connection.info
    if "carnet_temp_tables" not in info:
        may = conn.exec_driver_sql(
            "SELECT has_database_privilege(current_database(), 'TEMPORARY')"
        ).scalar()
        info["carnet_temp_tables"] = bool(may)
    return bool(info["carnet_temp_tables"])


def _through(q: Callable[[str], str], table: Table, names: list[str]) -> Copy:
    """PostgreSQL: an update as COPY into a temporary table shaped as these columns of the table
    (dropped at commit; emptied first when this transaction made it already), then one `UPDATE
    ... FROM` it."""
    t, cols = q(table.name), ", ".join(q(n) for n in names)
    tmp = q(f"carnet_{table.name}_{zlib.crc32(cols.encode()):08x}")
    sets = ", ".join(f"{q(n)} = {tmp}.{q(n)}" for n in names if n != "id")
    return Copy(
        f"COPY {tmp} ({cols}) FROM STDIN",
        before=(
            f"CREATE TEMP TABLE IF NOT EXISTS {tmp} ON COMMIT DROP AS "
            f"SELECT {cols} FROM {t} WITH NO DATA",
            f"TRUNCATE {tmp}",
        ),
        after=(f"UPDATE {t} SET {sets} FROM {tmp} WHERE {t}.id = {tmp}.id",),
    )


def _values_per_statement(conn: Connection) -> int:
    """How many values one statement may bind, where the bulk statements go as one statement per
    chunk of rows (`VALUES (...), (...)`): SQLite from 3.33, which has `UPDATE ... FROM`, at its
    limit as the driver reports it. 0 elsewhere (PostgreSQL's VALUES lists were measured no faster
    than psycopg's pipelined executemany, for more of the client's CPU; it takes COPY instead)."""
    if conn.dialect.name != "sqlite" or sqlite3.sqlite_version_info < (3, 33, 0):
        return 0
    raw = conn.connection.driver_connection
    limit = getattr(raw, "getlimit", None)
    return int(limit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)) if limit else 999


def _values_in_chunks(
    conn: Connection, limit: int, tuples: list[tuple[Any, ...]], sql: str
) -> None:
    """`sql` with its `{}` made a `(?, ...), (?, ...)` list, once per chunk of `tuples` (as many
    rows as SQLite binds): one statement that SQLite prepares, and journals for the tables'
    triggers, once per chunk rather than once per row."""
    width = len(tuples[0]) if tuples else 1
    per = max(1, min(_VALUES_ROWS, limit // width))
    one = "(" + ", ".join("?" * width) + ")"
    for start in range(0, len(tuples), per):
        chunk = tuples[start : start + per]
        conn.exec_driver_sql(
            sql.format(", ".join([one] * len(chunk))), tuple(chain.from_iterable(chunk))
        )


def among(session: Session, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """`column IN values` for the long lists a page looks up (ids, external ids). On SQLite the
    values go as one JSON array read by json_each, not as one bound parameter each (whose
    expansion costs more than the lookup); elsewhere a plain IN. A text column's values are
    compared as text (JSON numbers would not equal the text '123', as bound numbers do)."""
    text = isinstance(column.type, String)
    wanted = sorted({str(v) for v in values} if text else set(values))
    if session.get_bind().dialect.name != "sqlite":
        return column.in_(wanted)
    array = bindparam(None, json.dumps(wanted), type_=String)
    return column.in_(select(literal_column("value")).select_from(func.json_each(array)))


def rows_at_once(session: Session, cols: tuple[Any, ...], where: Any) -> list[Any]:
    """The rows of `SELECT cols WHERE where`, for columns whose values JSON keeps as they are
    (text, integers). On SQLite as one row of JSON: the driver steps (and lets go of the GIL,
    which the pulling thread then holds for a while) once, not once per row."""
    if session.get_bind().dialect.name != "sqlite":
        return list(session.connection().execute(select(*cols).where(where)).all())
    found = session.connection().scalar(
        select(func.json_group_array(func.json_array(*cols))).where(where)
    )
    return list(json.loads(found)) if found else []
