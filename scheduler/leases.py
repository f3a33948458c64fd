"""Leases in the store, so several workers never run the same job at once: a `lease` row per job
name with its holder and an expiry, taken in one atomic statement, renewed while the job runs.

A lease is free when no row exists or its expiry has passed, so the lease of a crashed worker is
taken over once it expires. The same statement works on SQLite and PostgreSQL:

    INSERT INTO lease ... ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, ...
    WHERE lease.expires_at < :now OR lease.holder = :me  RETURNING holder

Time is the database's clock on PostgreSQL (workers on several machines agree on it), the
local clock on SQLite (one machine).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, case, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from connector.store.models import Lease

log = logging.getLogger("carnet.leases")


def db_now(conn: Connection) -> datetime:
    """The store's time: PostgreSQL's clock, so workers' clocks need not agree."""
    if conn.dialect.name == "postgresql":
        value = conn.scalar(select(func.clock_timestamp()))
        assert isinstance(value, datetime)
        return value.astimezone(UTC)
    return datetime.now(UTC)


def acquire(engine: Engine, name: str, holder: str, seconds: float) -> bool:
    """Take (or extend) the lease `name` for `holder` if it is free, expired or already theirs."""
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    with engine.begin() as conn:
        now = db_now(conn)
        ins = dialect.insert(Lease).values(
            name=name, holder=holder, acquired_at=now, expires_at=now + timedelta(seconds=seconds)
        )
        stmt = ins.on_conflict_do_update(
            index_elements=[Lease.name],
            set_={
                "holder": ins.excluded.holder,
                # a renewal keeps when it was first taken; a take-over starts afresh
                "acquired_at": case(
                    (Lease.holder == holder, Lease.acquired_at), else_=ins.excluded.acquired_at
                ),
                "expires_at": ins.excluded.expires_at,
            },
            where=or_(Lease.expires_at < now, Lease.holder == holder),
        ).returning(Lease.holder)
        return conn.execute(stmt).first() is not None


def renew(engine: Engine, name: str, holder: str, seconds: float) -> bool:
    """Push the expiry of a lease `holder` still holds; False when it was lost (taken over)."""
    with engine.begin() as conn:
        now = db_now(conn)
        result = conn.execute(
            update(Lease)
            .where(Lease.name == name, Lease.holder == holder)
            .values(expires_at=now + timedelta(seconds=seconds))
        )
        return bool(result.rowcount)


def release(engine: Engine, name: str, holder: str) -> None:
    """Give the lease back (only if `holder` still holds it)."""
    with engine.begin() as conn:
        conn.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))


def lease_rows(session: Session) -> list[dict[str, Any]]:
    """Every lease row, with whether it has expired (a crashed holder's, free to take)."""
    now = db_now(session.connection())
    return [
        {
            "name": lease.name,
            "holder": lease.holder,
            "acquired_at": lease.acquired_at.isoformat(),
            "expires_at": lease.expires_at.isoformat(),
            "expired": lease.expires_at < now,
        }
        for lease in session.scalars(select(Lease).order_by(Lease.name))
    ]


class Keeper:
    """The leases one run holds: taken one by one, renewed every third of their length by a
    thread while the run goes on, released on exit. `on_lost` is called if one is lost."""

    def __init__(
        self,
        engine: Engine,
        holder: str,
        seconds: float,
        on_lost: Callable[[str], None] | None = None,
    ):
        self.engine, self.holder, self.seconds = engine, holder, seconds
        self.on_lost = on_lost
        self.held: list[str] = []
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def take(self, name: str) -> bool:
        if acquire(self.engine, name, self.holder, self.seconds):
            self.held.append(name)
            self._start()
            return True
        return False

    def wait_for(self, name: str, timeout: float, stop: threading.Event) -> bool:
        """Take `name`, trying again every half second or so until `timeout` or `stop`."""
        deadline = datetime.now(UTC) + timedelta(seconds=timeout)
        while not stop.is_set():
            if self.take(name):
                return True
            left = (deadline - datetime.now(UTC)).total_seconds()
            if left <= 0:
                return False
            stop.wait(min(left, random.uniform(0.3, 0.7)))  # jitter: no worker always wins
        return False

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._renew, name="carnet-lease", daemon=True)
            self._thread.start()

    def _renew(self) -> None:
        while not self._done.wait(self.seconds / 3):
            for name in list(self.held):
                try:
                    kept = renew(self.engine, name, self.holder, self.seconds)
                except SQLAlchemyError as exc:  # the store is away: try again next tick
                    log.warning("cannot renew lease %s: %s", name, exc.__class__.__name__)
                    continue
                if not kept:
                    log.error("lease %s was lost to another worker", name, extra={"lease": name})
                    self.held.remove(name)
                    if self.on_lost is not None:
                        self.on_lost(name)

    def __enter__(self) -> Keeper:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        for name in reversed(self.held):
            try:
                release(self.engine, name, self.holder)
            except SQLAlchemyError as err:  # it expires by itself
                log.warning("cannot release lease %s: %s", name, err.__class__.__name__)
        self.held.clear()
