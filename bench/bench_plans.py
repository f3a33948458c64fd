"""`carnet plan show` (json, svg, md) and `carnet network --org` latency for a large account, on a
SQLite store of scale-1 size (2,000 orgs, 20,000 people, 50 members, ~45k relationships).

CARNET_BENCH_DB=path keeps the store between runs, CARNET_BENCH_SCALE=0.1 shrinks it; the target
is under 200 ms per answer.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Engine

from bench.stores import bench_store
from connector.core.config import Sharing
from connector.governance.relationships import member_by_email
from connector.plans.network import network_report
from connector.plans.plan import show_plan
from connector.plans.render import RENDERERS
from connector.store.db import make_engine, session_factory, transaction
from connector.store.migrate import upgrade

TARGET_NAME, TARGET_DOMAIN, TARGET_RELS_PER_PERSON = "Globex", "globex.com", 8
LEVEL_BY_DEPTH = ("c_level", "vp", "director", "manager", "staff")
COUNTRIES = ("DE", "FR", "US", "GB", "IT")
STANCES = ("champion", "ally", "neutral", "adversary")
SHARES = (None, "private", "discoverable", "shared")
TEAMS = 6
NOW = datetime(2026, 11, 1, tzinfo=UTC)
TARGET_MS = 200.0


def _ts(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class Sizes(NamedTuple):
    orgs: int
    people: int
    members: int
    relationships: int
    target: int  # people of the large account


def sizes(scale: float = 1.0) -> Sizes:
    """Scale 1: 2,000 orgs, 20,000 people, 50 members, 45,000 relationships, 400 at the target."""
    return Sizes(
        orgs=max(10, int(2_000 * scale)),
        people=max(200, int(20_000 * scale)),
        members=max(10, int(50 * scale)),
        relationships=max(1_000, int(45_000 * scale)),
        target=max(50, int(400 * scale)),
    )


def build_store(path: Path, scale: float = 1.0, seed: int = 11) -> dict[str, int]:
    """A migrated SQLite store at `path`, filled with bulk inserts in one transaction."""
    size = sizes(scale)
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    rnd = random.Random(seed)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        now = _ts(NOW)
        cur.executemany(
            "INSERT INTO member (id, email, name, team, country, active, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, 'US', 1, ?, ?)",
            [
                (i, f"rep{i}@us.example", f"Rep {i}", f"team-{i % TEAMS}", now, now)
                for i in range(1, size.members + 1)
            ],
        )
        _orgs(cur, now, size)
        _people(cur, now, rnd, size)
        n_rels = _relationships(cur, rnd, size)
        _plan(cur, now, rnd, size)
        raw.commit()
    finally:
        raw.close()
        engine.dispose()
    return {**size._asdict(), "relationships": n_rels}


def _orgs(cur: Any, now: str, size: Sizes) -> None:
    n = size.orgs
    names = [(1, TARGET_NAME)] + [(i, f"Company {i:05d} Ltd") for i in range(2, n + 1)]
    cur.executemany(
        "INSERT INTO org (id, name, name_key, country, created_at, updated_at) "
        "VALUES (?, ?, ?, 'US', ?, ?)",
        [(i, n, n.lower(), now, now) for i, n in names],
    )
    cur.executemany(
        "INSERT INTO org_domain (domain, org_id) VALUES (?, ?)",
        [(TARGET_DOMAIN, 1)] + [(f"company{i:05d}.example", i) for i in range(2, n + 1)],
    )


def _people(cur: Any, now: str, rnd: random.Random, size: Sizes) -> None:
    """Reports-to trees, five reports per manager; the level follows the depth in the tree."""
    rows: list[tuple[Any, ...]] = []
    others = size.orgs - 1
    per_org = [size.target] + [(size.people - size.target) // others] * others
    per_org[-1] += size.people - sum(per_org)
    pid = 1
    for org_id, count in enumerate(per_org, start=1):
        first, depth = pid, dict[int, int]()
        for j in range(count):
            boss = first + (j - 1) // 5 if j else None
            depth[pid] = depth[boss] + 1 if boss else 0
            level = LEVEL_BY_DEPTH[min(depth[pid], 4)]
            name = f"Person {pid}"
            country = rnd.choice(COUNTRIES[:3]) if rnd.random() < 0.9 else rnd.choice(COUNTRIES)
            rows.append(
                (pid, name, name.lower(), f"{level} title", level, country, org_id, boss, now, now)
            )
            pid += 1
    cur.executemany(
        "INSERT INTO person (id, name, name_key, title, level, country, org_id, reports_to_id, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    cur.executemany(
        "INSERT INTO person_email (email, person_id) VALUES (?, ?)",
        [(f"p{r[0]}@org{r[6]}.example", r[0]) for r in rows],
    )


def _relationships(cur: Any, rnd: random.Random, size: Sizes) -> int:
    pairs: list[tuple[int, int]] = []
    members = range(1, size.members + 1)
    for pid in range(1, size.target + 1):
        pairs += ((m, pid) for m in rnd.sample(members, TARGET_RELS_PER_PERSON))
    for _ in range(size.relationships - len(pairs)):
        pairs.append((rnd.randint(1, size.members), rnd.randint(size.target + 1, size.people)))
    unique = list(dict.fromkeys(pairs))
    rnd.shuffle(unique)  # relationships arrive address book by address book, not side by side
    rows = [
        (
            i,
            m,
            p,
            rnd.randint(1, 5) if rnd.random() < 0.4 else None,
            round(rnd.uniform(1, 5), 2),
            "{}",
            0,
            rnd.choice(SHARES),
            0,
            _ts(NOW - timedelta(days=rnd.randrange(700))),
            _ts(NOW),
            _ts(NOW),
        )
        for i, (m, p) in enumerate(unique, start=1)
    ]
    cur.executemany(
        "INSERT INTO relationship (id, member_id, person_id, rating, score, signals, is_owner, "
        "shareability, exclusive, last_interaction_at, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return len(rows)


def _plan(cur: Any, now: str, rnd: random.Random, size: Sizes) -> None:
    cur.execute(
        "INSERT INTO account_plan (id, org_id, strategy, updated_at) VALUES (1, 1, ?, ?)",
        ("Expand from finance into operations", now),
    )
    cur.executemany(
        "INSERT INTO stakeholder (plan_id, person_id, stance, influence) VALUES (1, ?, ?, ?)",
        [
            (p, rnd.choice(STANCES), rnd.randint(1, 5))
            for p in rnd.sample(range(1, size.target + 1), 40)
        ],
    )
    cur.executemany(
        "INSERT INTO plan_action (plan_id, text, member_id, source, at) VALUES (1, ?, ?, 'cli', ?)",
        [(f"Action {i}", 1 + i % size.members, now) for i in range(30)],
    )


# -- measuring -----------------------------------------------------------------------------------


def _time(engine: Engine, fn: Callable[[Any], Any], runs: int) -> dict[str, float]:
    """One answer as the CLI gives it: open a transaction, answer and render, commit."""
    factory = session_factory(engine)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        with transaction(factory) as session:
            fn(session)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"median_ms": statistics.median(times), "p95_ms": times[int(0.95 * (len(times) - 1))]}


def cases(sharing: Sharing) -> dict[str, Callable[[Any], Any]]:
    def plan(fmt: str, as_: str | None) -> Callable[[Any], Any]:
        def answer(s: Any) -> Any:
            doc = show_plan(s, TARGET_DOMAIN, member_by_email(s, as_) if as_ else None, sharing)
            return json.dumps(doc, default=str) if fmt == "json" else RENDERERS[fmt](doc)

        return answer

    def network(as_: str | None) -> Callable[[Any], Any]:
        def answer(s: Any) -> Any:
            reader = member_by_email(s, as_) if as_ else None
            return json.dumps(network_report(s, sharing, reader, org_query=TARGET_NAME))

        return answer

    return {
        "plan show --format json (company-wide)": plan("json", None),
        "plan show --format json --as rep7": plan("json", "rep7@us.example"),
        "plan show --format svg (company-wide)": plan("svg", None),
        "plan show --format md --as rep7": plan("md", "rep7@us.example"),
        "network --org (company-wide)": network(None),
        "network --org --as rep7": network("rep7@us.example"),
    }


def run(
    path: Path, build: bool, runs: int, scale: float = 1.0, out: Callable[[str], None] = print
) -> dict[str, Any]:
    if build:
        started = time.perf_counter()
        built = build_store(path, scale)
        out(f"built {path} in {time.perf_counter() - started:.1f} s: {built}")
    engine = make_engine(f"sqlite:///{path}")
    results: dict[str, Any] = {}
    try:
        sharing = Sharing(default="discoverable", scope="company")
        for label, fn in cases(sharing).items():
            _time(engine, fn, 2)  # warm the page cache
            r = _time(engine, fn, runs)
            results[label] = r
            r["met"] = r["p95_ms"] < TARGET_MS
            out(
                f"{label:42s} median {r['median_ms']:7.2f} ms  p95 {r['p95_ms']:7.2f} ms  "
                f"{'PASS' if r['met'] else 'FAIL'} (target p95 < {TARGET_MS:.0f} ms)"
            )
    finally:
        engine.dispose()
    return results


def main() -> int:
    """0 when every answer's p95 is under the target, else 1."""
    scale = float(os.environ.get("CARNET_BENCH_SCALE", "1"))
    with bench_store("carnet-bench-plans-") as (path, build):
        results = run(path, build=build, runs=30, scale=scale)
    return 0 if all(r["met"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
