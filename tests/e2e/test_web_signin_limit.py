"""The sign-in limit lives in the store, on SQLite and PostgreSQL: two apps (two processes' worth)
on one store share it; the window slides on an injected clock; stale rows are swept; the client
address is stored only as a keyed digest; on PostgreSQL a racing transaction of the same address
waits for the other's commit, so no extra attempt is admitted.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from connector.store.db import head_revision, make_engine, session_factory
from connector.store.migrate import upgrade
from connector.store.models_web import SignInAttempt
from connector.web.security import LOCKS, SignInLimit, lock_id
from tests.conftest import fresh_db_url, run_carnet
from tests.e2e.web_support import Client, free_port, served

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
CALLBACK = "/auth/callback?code=x&state=y"  # no pending sign-in: a 400 when admitted


class Clock:
    def __init__(self) -> None:
        self.at = T0

    def __call__(self) -> datetime:
        return self.at

    def after(self, seconds: float) -> None:
        self.at = T0 + timedelta(seconds=seconds)


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


def limit(sessions: sessionmaker[Session], clock: Clock, n: int = 2) -> SignInLimit:
    return SignInLimit(sessions, n, "the client secret", window=60, now=clock)


def rows(sessions: sessionmaker[Session]) -> list[tuple[str, datetime]]:
    with sessions() as s:
        found = s.execute(select(SignInAttempt.key_hash, SignInAttempt.at).order_by("id"))
        return [(key, at) for key, at in found]


def everything_in_the_table(sessions: sessionmaker[Session]) -> str:
    with sessions() as s:
        return " ".join(
            str(v) for row in s.execute(text("SELECT * FROM signin_attempt")) for v in row
        )


def write_config(folder: Path, db_url: str, per_minute: int) -> Path:
    (folder / "secret").write_text("a client secret\n", encoding="utf-8")
    path = folder / "config.yaml"
    path.write_text(
        f"version: 1\ndatabase_url: {db_url}\n"
        "web:\n  oidc:\n    issuer: https://idp.invalid\n    client_id: carnet\n"
        f"    client_secret_file: secret\n  sign_in_per_minute: {per_minute}\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def config(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    url = fresh_db_url(backend, tmp_path, request)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield write_config(tmp_path, url, per_minute=3)


def test_serve_refuses_a_store_without_the_table(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = fresh_db_url(backend, tmp_path, request)
    engine = make_engine(url)
    upgrade(engine, "0008")
    engine.dispose()
    done = run_carnet("serve", "--config", str(write_config(tmp_path, url, 3)), timeout=60)
    assert done.returncode == 2, done.stderr
    wanted = (
        f"the store is at migration 0008, this Carnet needs {head_revision()}: run 'carnet init'"
    )
    assert wanted in done.stderr


def test_two_apps_on_one_store_share_the_limit(config: Path) -> None:
    one, two = (f"http://127.0.0.1:{free_port()}" for _ in range(2))
    with served(config, one) as carnet, served(config, two):
        first, second = Client(one), Client(two)
        assert [first.get(CALLBACK).status_code for _ in range(3)] == [400, 400, 400]
        refused = second.get(CALLBACK)
        assert refused.status_code == 429 and "Too many sign-in attempts" in refused.text
        assert first.get(CALLBACK).status_code == 429
        stored = rows(carnet.sessions)
        assert len(stored) == 3 and len({key for key, _ in stored}) == 1  # the three admitted
        assert "127.0.0.1" not in everything_in_the_table(carnet.sessions)


def test_the_window_slides_on_the_clock_for_every_process(sessions: sessionmaker[Session]) -> None:
    clock = Clock()
    one, two = limit(sessions, clock), limit(sessions, clock)  # two processes' limiters
    assert one.allow("203.0.113.7") and two.allow("203.0.113.7")
    clock.after(30)
    assert not one.allow("203.0.113.7") and not two.allow("203.0.113.7")
    assert two.allow("198.51.100.1")  # another address has its own count
    clock.after(59.9)
    assert not one.allow("203.0.113.7")
    clock.after(60)  # the two first attempts are a whole window old
    assert two.allow("203.0.113.7") and one.allow("203.0.113.7")
    assert not one.allow("203.0.113.7")
    # the 5 admitted, less the 2 a window old swept at 60 s; the 4 refused were not recorded
    assert len(rows(sessions)) == 3


def test_rows_older_than_the_window_are_swept(sessions: sessionmaker[Session]) -> None:
    clock = Clock()
    limiter = limit(sessions, clock)
    for n in range(5):
        assert limiter.allow(f"192.0.2.{n}")
    clock.after(45)
    assert limiter.allow("192.0.2.1")
    assert len(rows(sessions)) == 6  # nothing is a window old yet
    clock.after(61)  # a window after the last sweep: this attempt sweeps the first five
    assert limiter.allow("192.0.2.1")
    kept = rows(sessions)
    assert [at for _, at in kept] == [T0 + timedelta(seconds=s) for s in (45, 61)]
    assert {key for key, _ in kept} == {limiter.digest("192.0.2.1")}


def test_the_address_is_stored_as_a_keyed_digest(sessions: sessionmaker[Session]) -> None:
    clock = Clock()
    address = "2001:db8::42"
    assert limit(sessions, clock).allow(address)
    ((key, _),) = rows(sessions)
    everything = everything_in_the_table(sessions)
    assert address not in everything and "2001" not in everything
    assert len(key) == 64 and int(key, 16) >= 0
    assert key == limit(sessions, clock).digest(address)
    assert key != hashlib.sha256(address.encode()).hexdigest()  # not undone by trying addresses
    other = SignInLimit(sessions, 2, "another client secret", now=clock)
    assert other.digest(address) != key


def test_on_postgresql_a_racing_attempt_waits_for_the_other_commit(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Another process has counted 1 of 2 and is about to commit its attempt: this one waits on
    the address's lock, then counts 2 and refuses (READ COMMITTED alone would admit it)."""
    engine = make_engine(fresh_db_url("postgresql", tmp_path, request))
    request.addfinalizer(engine.dispose)
    upgrade(engine)
    sessions = session_factory(engine)
    clock = Clock()
    limiter = limit(sessions, clock)
    assert limiter.allow("203.0.113.9")
    key = limiter.digest("203.0.113.9")
    answers: list[bool] = []
    with engine.connect() as other:
        with other.begin():  # the other process, between its count and its commit
            other.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id(key)})
            other.execute(insert(SignInAttempt).values(key_hash=key, at=clock()))
            racer = threading.Thread(target=lambda: answers.append(limiter.allow("203.0.113.9")))
            racer.start()
            wait_for_a_waiter(engine, racer)
        racer.join(timeout=60)
    assert answers == [False]
    assert len(rows(sessions)) == 2


def wait_for_a_waiter(engine: Engine, racer: threading.Thread) -> None:
    """Until a transaction of this database waits for one of the sign-in limit's locks; a
    failure if the racer finished without waiting."""
    query = text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = "
        ":locks AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    deadline = time.monotonic() + 60
    while racer.is_alive() and time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.scalar(query, {"locks": LOCKS}):
                return
        time.sleep(0.05)
    pytest.fail("the racing attempt never waited for the address's lock")
