"""who-knows latency on a SQLite store with 1,000,000 relationships (a few thousand members, ~200k
people, ~20k orgs, one big target account), auditing on, as `carnet who-knows` runs it.

Scale with CARNET_BENCH_RELATIONSHIPS (default 1000000); CARNET_BENCH_DB=path keeps the store.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from bench.stores import bench_store
from connector.core.config import Sharing
from connector.core.normalise import org_name_key
from connector.governance.relationships import member_by_email
from connector.governance.whoknows import DEFAULT_LIMIT, who_knows
from connector.store.db import make_engine, session_factory, transaction
from connector.store.migrate import upgrade
from connector.store.models import AuditEvent

TARGET_DOMAIN = "globex.com"
TARGET_NAME = "Globex Corporation"
TARGET_PEOPLE = 500
TARGET_RELS_PER_PERSON = 6
TEAMS = 30
SHARES = (None, "private", "discoverable", "shared")
SHARE_WEIGHTS = (20, 30, 30, 20)
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _ts(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _sizes(relationships: int) -> dict[str, int]:
    scale = relationships / 1_000_000
    return {
        "relationships": relationships,
        "members": max(40, int(3000 * scale)),
        "people": max(TARGET_PEOPLE + 50, int(200_000 * scale)),
        "orgs": max(10, int(20_000 * scale)),
    }


def build_store(path: Path, relationships: int = 1_000_000, seed: int = 7) -> dict[str, int]:
    """A migrated SQLite store at `path` filled with bulk inserts in one transaction."""
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    sizes = _sizes(relationships)
    rnd = random.Random(seed)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        _insert_members(cur, sizes["members"], rnd)
        org_people = _insert_orgs_and_people(cur, sizes, rnd)
        sizes["target_relationships"] = _insert_relationships(cur, sizes, org_people, rnd)
        raw.commit()
    finally:
        raw.close()
        engine.dispose()
    return sizes


def _insert_members(cur: Any, n: int, rnd: random.Random) -> None:
    now = _ts(NOW)
    rows = [
        (i, f"rep{i}@us.example", f"Rep {i}", f"team-{i % TEAMS:02d}", "US", 1, now, now)
        for i in range(1, n + 1)
    ]
    cur.executemany(
        "INSERT INTO member (id, email, name, team, country, active, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def _insert_orgs_and_people(
    cur: Any, sizes: dict[str, int], rnd: random.Random
) -> list[tuple[int, int]]:
    """Orgs with one domain each; people in reports-to trees per org. Returns (first, last) person
    id per org; org 1 is the target account."""
    now = _ts(NOW)
    n_orgs, n_people = sizes["orgs"], sizes["people"]
    orgs = [(1, TARGET_NAME)] + [(i, f"Company {i:05d} Ltd") for i in range(2, n_orgs + 1)]
    cur.executemany(
        "INSERT INTO org (id, name, name_key, country, created_at, updated_at) "
        "VALUES (?, ?, ?, 'US', ?, ?)",
        [(i, name, org_name_key(name), now, now) for i, name in orgs],
    )
    cur.executemany(
        "INSERT INTO org_domain (domain, org_id) VALUES (?, ?)",
        [(TARGET_DOMAIN, 1)] + [(f"company{i:05d}.example", i) for i in range(2, n_orgs + 1)],
    )
    counts = [TARGET_PEOPLE, *_spread(n_people - TARGET_PEOPLE, n_orgs - 1, rnd)]
    spans: list[tuple[int, int]] = []
    people: list[tuple[Any, ...]] = []
    next_id = 1
    for org_id, count in enumerate(counts, start=1):
        first = next_id
        for j in range(count):
            boss = first + (j - 1) // 4 if j else None
            name = f"Person {next_id}"
            people.append((next_id, name, name.lower(), "staff", org_id, boss, now, now))
            next_id += 1
        spans.append((first, next_id - 1))
    cur.executemany(
        "INSERT INTO person (id, name, name_key, level, org_id, reports_to_id, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        people,
    )
    cur.executemany(
        "INSERT INTO person_email (email, person_id) VALUES (?, ?)",
        [
            (f"p{p[0]}@{'globex.com' if p[4] == 1 else f'company{p[4]:05d}.example'}", p[0])
            for p in people
        ],
    )
    return spans


def _spread(total: int, buckets: int, rnd: random.Random) -> list[int]:
    base = [1] * buckets
    for _ in range(total - buckets):
        base[rnd.randrange(buckets)] += 1
    return base


def _insert_relationships(
    cur: Any, sizes: dict[str, int], spans: list[tuple[int, int]], rnd: random.Random
) -> int:
    n_members, total = sizes["members"], sizes["relationships"]
    target_first, target_last = spans[0]
    n_people = spans[-1][1]
    target_rels = (target_last - target_first + 1) * TARGET_RELS_PER_PERSON
    rest = total - target_rels
    others = n_people - (target_last - target_first + 1)
    pairs: list[tuple[int, int]] = []
    for pid in range(1, n_people + 1):
        if target_first <= pid <= target_last:
            k = TARGET_RELS_PER_PERSON
        else:
            k = rest // others + (1 if rnd.random() < (rest % others) / others else 0)
        pairs += ((mid, pid) for mid in rnd.sample(range(1, n_members + 1), min(k, n_members)))
    # relationships arrive over time, address book by address book: a person's relationships are
    # scattered over the table, not stored side by side
    rnd.shuffle(pairs)
    batch: list[tuple[Any, ...]] = []
    for rel_id, (mid, pid) in enumerate(pairs, start=1):
        batch.append(_relationship_row(rel_id, mid, pid, rnd))
        if len(batch) >= 50_000:
            _flush_rels(cur, batch)
    _flush_rels(cur, batch)
    return target_rels


def _relationship_row(rel_id: int, mid: int, pid: int, rnd: random.Random) -> tuple[Any, ...]:
    last = NOW - timedelta(days=rnd.randrange(0, 720))
    signals = {"address_book": rnd.random() < 0.5, "contact_owner": rnd.random() < 0.2}
    return (
        rel_id,
        mid,
        pid,
        rnd.randint(1, 5) if rnd.random() < 0.4 else None,
        round(rnd.uniform(1, 5), 2),
        json.dumps(signals),
        0,
        rnd.choices(SHARES, SHARE_WEIGHTS)[0],
        1 if rnd.random() < 0.03 else 0,
        "met at the conference" if rnd.random() < 0.1 else None,
        _ts(last),
        _ts(last),
        _ts(last),
    )


def _flush_rels(cur: Any, batch: list[tuple[Any, ...]]) -> None:
    cur.executemany(
        "INSERT INTO relationship (id, member_id, person_id, rating, score, signals, is_owner, "
        "shareability, exclusive, notes, last_interaction_at, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        batch,
    )
    batch.clear()


# -- measuring -----------------------------------------------------------------------------------


def measure(
    engine: Engine,
    query: str,
    sharing: Sharing,
    runs: int,
    members: int,
    limit: int | None = DEFAULT_LIMIT,
    seed: int = 1,
) -> dict[str, Any]:
    """Latency of one who-knows answer as the CLI gives it: look the member up, answer, write
    the audit event, commit. Returns median / p95 in ms and the mean relationships shown."""
    factory = session_factory(engine)
    rnd = random.Random(seed)
    times: list[float] = []
    shown: list[int] = []
    for _ in range(runs):
        email = f"rep{rnd.randint(1, members)}@us.example"
        started = time.perf_counter()
        with transaction(factory) as session:
            viewer = member_by_email(session, email)
            doc = who_knows(session, viewer, query, sharing, limit=limit)
        times.append((time.perf_counter() - started) * 1000)
        shown.append(sum(len(p["known_by"]) for p in doc["people"]))
    times.sort()
    return {
        "median_ms": statistics.median(times),
        "p95_ms": times[int(0.95 * (len(times) - 1))],
        "shown": statistics.mean(shown),
    }


TARGET_MEDIAN_MS = 20.0  # an org's who-knows as `carnet who-knows` answers it (its default limit)


def cases() -> Iterator[tuple[str, str, Sharing, int | None, float | None]]:
    """(label, query, sharing, limit, target median in ms: an org's, at the default limit)."""
    team = Sharing(default="discoverable", scope="team")
    company = Sharing(default="discoverable", scope="company")
    target = TARGET_MEDIAN_MS
    yield "org by domain, team scope", TARGET_DOMAIN, team, DEFAULT_LIMIT, target
    yield "org by domain, company scope", TARGET_DOMAIN, company, DEFAULT_LIMIT, target
    yield "org by name, company scope", TARGET_NAME.lower(), company, DEFAULT_LIMIT, target
    yield "org, company scope, --limit 0 (all)", TARGET_DOMAIN, company, None, None
    yield "person by email, company scope", "p42@globex.com", company, None, None


def run(path: Path, build: bool, runs: int, out: Callable[[str], None] = print) -> dict[str, Any]:
    relationships = int(os.environ.get("CARNET_BENCH_RELATIONSHIPS", "1000000"))
    sizes = _sizes(relationships)
    if build:
        started = time.perf_counter()
        sizes = build_store(path, relationships)
        out(f"built {path} in {time.perf_counter() - started:.1f} s: {sizes}")
    engine = make_engine(f"sqlite:///{path}")
    results: dict[str, Any] = {}
    try:
        measure(engine, TARGET_DOMAIN, Sharing(), 5, sizes["members"])  # warm the page cache
        for label, query, sharing, limit, target in cases():
            r = measure(engine, query, sharing, runs, sizes["members"], limit)
            results[label] = r
            verdict = ""
            if target is not None:
                r["met"] = r["median_ms"] <= target
                verdict = f"  {'PASS' if r['met'] else 'FAIL'} (target median <= {target:.0f} ms)"
            out(
                f"who-knows {label:38s} median {r['median_ms']:6.2f} ms  "
                f"p95 {r['p95_ms']:6.2f} ms  ({r['shown']:.0f} relationships shown){verdict}"
            )
        with session_factory(engine)() as s:
            out(f"audit events written: {s.scalar(select(func.count()).select_from(AuditEvent))}")
    finally:
        engine.dispose()
    return results


def main() -> int:
    """0 when an org's who-knows meets its target, else 1."""
    with bench_store() as (path, build):
        results = run(path, build=build, runs=200)
    return 0 if all(r.get("met", True) for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
