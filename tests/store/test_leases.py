"""Leases on both backends: one atomic statement takes a free, expired or own lease and nothing
else; renewals keep it, a take-over after expiry ends the old holder's claim; racing workers
never both win."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from connector.store.models import Lease
from scheduler.leases import acquire, db_now, lease_rows, release, renew


def _row(engine: Engine, name: str) -> Lease | None:
    with Session(engine) as s:
        return s.get(Lease, name)


def _expire(engine: Engine, name: str) -> None:
    """Move the lease's expiry into the past, as if its holder had died long ago."""
    with engine.begin() as conn:
        past = db_now(conn).replace(year=2000)
        conn.execute(update(Lease).where(Lease.name == name).values(expires_at=past))


def test_a_free_lease_is_taken_and_a_held_one_is_not(engine: Engine) -> None:
    assert acquire(engine, "sync:hubspot", "w1", 30)
    assert not acquire(engine, "sync:hubspot", "w2", 30)
    row = _row(engine, "sync:hubspot")
    assert row is not None and row.holder == "w1"
    assert (row.expires_at - row.acquired_at).total_seconds() == 30
    assert acquire(engine, "sync:exchange", "w2", 30)  # another name is another lease


def test_the_holder_extends_its_own_lease_keeping_when_it_was_taken(engine: Engine) -> None:
    assert acquire(engine, "sync:x", "w1", 30)
    first = _row(engine, "sync:x")
    time.sleep(0.02)
    assert acquire(engine, "sync:x", "w1", 60)
    assert renew(engine, "sync:x", "w1", 90)
    again = _row(engine, "sync:x")
    assert first is not None and again is not None
    assert again.acquired_at == first.acquired_at
    assert again.expires_at > first.expires_at


def test_an_expired_lease_is_taken_over_and_the_old_holder_cannot_renew(engine: Engine) -> None:
    assert acquire(engine, "sync:x", "dead", 30)
    _expire(engine, "sync:x")
    assert acquire(engine, "sync:x", "alive", 30)
    row = _row(engine, "sync:x")
    assert row is not None and row.holder == "alive"
    assert not renew(engine, "sync:x", "dead", 30)
    release(engine, "sync:x", "dead")  # not theirs any more: nothing happens
    assert _row(engine, "sync:x") is not None


def test_a_short_lease_lapses_by_itself(engine: Engine) -> None:
    assert acquire(engine, "sync:x", "w1", 0.3)
    assert not acquire(engine, "sync:x", "w2", 30)
    time.sleep(0.5)
    assert acquire(engine, "sync:x", "w2", 30)


def test_release_frees_the_lease(engine: Engine) -> None:
    assert acquire(engine, "sync:x", "w1", 30)
    release(engine, "sync:x", "w1")
    assert _row(engine, "sync:x") is None
    assert acquire(engine, "sync:x", "w2", 30)


def test_racing_workers_never_both_win(engine: Engine) -> None:
    for round_ in range(5):
        name = f"race:{round_}"
        start = threading.Barrier(6)

        def take(worker: int, name: str = name, start: threading.Barrier = start) -> bool:
            start.wait()
            return acquire(engine, name, f"w{worker}", 30)

        with ThreadPoolExecutor(6) as pool:
            wins = list(pool.map(take, range(6)))
        assert wins.count(True) == 1, wins
        row = _row(engine, name)
        assert row is not None and row.holder == f"w{wins.index(True)}"


def test_lease_rows_tell_holders_and_expiry(engine: Engine) -> None:
    assert acquire(engine, "sync:a", "w1", 30)
    assert acquire(engine, "sync:b", "w2", 30)
    _expire(engine, "sync:b")
    with Session(engine) as s:
        rows = lease_rows(s)
        assert s.scalars(select(Lease.name)).all()
    assert [(r["name"], r["holder"], r["expired"]) for r in rows] == [
        ("sync:a", "w1", False),
        ("sync:b", "w2", True),
    ]
