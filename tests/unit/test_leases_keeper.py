"""The lease keeper of one run, on a SQLite store: it renews what it holds while the run lasts,
tells when a lease is lost, waits for a busy lease within a bound, and releases on exit."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from connector.store.db import make_engine
from connector.store.migrate import upgrade
from connector.store.models import Lease
from scheduler.leases import Keeper, acquire, release


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'carnet.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def _holder(engine: Engine, name: str) -> str | None:
    with Session(engine) as s:
        row = s.get(Lease, name)
        return row.holder if row else None


def test_a_kept_lease_outlives_its_length_and_is_released_on_exit(store: Engine) -> None:
    with Keeper(store, "w1", seconds=0.3) as keeper:
        assert keeper.take("sync:a")
        time.sleep(0.8)  # well past 0.3 s: renewed meanwhile
        assert not acquire(store, "sync:a", "w2", 10)
    assert _holder(store, "sync:a") is None
    assert acquire(store, "sync:a", "w2", 10)


def test_a_lease_taken_over_is_reported_lost(store: Engine) -> None:
    lost: list[str] = []
    with Keeper(store, "w1", seconds=0.3, on_lost=lost.append) as keeper:
        assert keeper.take("sync:a")
        with store.begin() as conn:  # another worker took it (as after a long pause of ours)
            conn.execute(update(Lease).values(holder="w2"))
        deadline = time.monotonic() + 2
        while not lost and time.monotonic() < deadline:
            time.sleep(0.05)
        assert lost == ["sync:a"]
        assert keeper.held == []
    assert _holder(store, "sync:a") == "w2"  # not released by the one who lost it


def test_wait_for_gets_the_lease_once_it_is_given_back(store: Engine) -> None:
    assert acquire(store, "overlay", "w2", 30)
    threading.Timer(0.4, lambda: release(store, "overlay", "w2")).start()
    with Keeper(store, "w1", seconds=10) as keeper:
        started = time.monotonic()
        assert keeper.wait_for("overlay", timeout=5, stop=threading.Event())
        assert 0.3 < time.monotonic() - started < 3
        assert _holder(store, "overlay") == "w1"


def test_wait_for_gives_up_at_the_bound_or_on_stop(store: Engine) -> None:
    assert acquire(store, "overlay", "w2", 30)
    with Keeper(store, "w1", seconds=10) as keeper:
        started = time.monotonic()
        assert not keeper.wait_for("overlay", timeout=0.5, stop=threading.Event())
        assert time.monotonic() - started < 2
        stop = threading.Event()
        threading.Timer(0.2, stop.set).start()
        started = time.monotonic()
        assert not keeper.wait_for("overlay", timeout=30, stop=stop)
        assert time.monotonic() - started < 2
    assert _holder(store, "overlay") == "w2"
