"""What the `carnet sync` end-to-end tests on the sandbox share (no tests here): a sandbox with a
store beside it, `carnet sync --json` as a subprocess, the stand-ins' records and call counts, and
the overlay as a snapshot by natural keys (tests/unit/test_sync_fake.snapshot, normalised)."""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text

from sandbox.runner import NAMES, Sandbox, start
from tests.conftest import run_carnet
from tests.sandbox_fixture import admin
from tests.unit.test_sync_fake import snapshot

SEED = 1
# what a valid address is for these tests, independent of connector.ingest.identity's normaliser
_EMAIL = re.compile(r"^[a-z0-9._%+'-]+@[a-z0-9-]+(\.[a-z0-9-]+)+$")


@dataclass
class Synced:
    """A running sandbox, its config, the SQLite store the config names, the first summary."""

    sandbox: Sandbox
    config: Path
    store: Path
    first: dict[str, Any]

    @property
    def engine(self) -> Engine:
        return create_engine(f"sqlite:///{self.store}")


@contextmanager
def synced_sandbox(
    folder: Path, scale: float, faults: dict[str, dict[str, Any]] | None = None
) -> Iterator[Synced]:
    """The stand-ins started in `folder` (seed 1) with each one's faults set, after `carnet init`
    and one `carnet sync --full --json`; stopped on leaving."""
    with start(seed=SEED, scale=scale, workdir=folder) as sandbox:
        for name, spec in (faults or {}).items():
            admin(sandbox, name, "POST", "/__sandbox/faults", spec)
        config = sandbox.config_file
        done = run_carnet("--config", str(config), "init", env={})
        assert done.returncode == 0, done.stderr
        first = sync(config, "--full")
        yield Synced(sandbox, config, config.parent / "carnet.db", first)


def sync(config: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """`carnet sync --json ARGS`: its summary. Exit 1 is an answer (records were skipped);
    any other code, or a source stopped by an error, fails the test."""
    done = run_carnet("--config", str(config), "sync", "--json", *args, env=env or {}, timeout=600)
    assert done.returncode in (0, 1), f"exit {done.returncode}\n{done.stderr[-3000:]}"
    summary: dict[str, Any] = json.loads(done.stdout)
    stopped = {(s, o): r["stopped"] for s, objs in summary.items() for o, r in objs.items()
               if "stopped" in r}  # fmt: skip
    assert not stopped, stopped
    return summary


def records(sandbox: Sandbox, name: str, obj: str) -> list[dict[str, Any]]:
    """`GET /__sandbox/records/<obj>` of one stand-in: its live records."""
    rows: list[dict[str, Any]] = admin(sandbox, name, "GET", f"/__sandbox/records/{obj}").json()
    return rows


def calls(sandbox: Sandbox) -> dict[str, Counter[str]]:
    """Every stand-in's calls so far by route ("GET /services/data/v{version}/queryAll")."""
    out = {}
    for name in NAMES:
        stats = admin(sandbox, name, "GET", "/__sandbox/stats").json()
        out[name] = Counter(stats["calls"])
    return out


def calls_between(
    before: dict[str, Counter[str]], after: dict[str, Counter[str]]
) -> dict[str, dict[str, int]]:
    """The calls made between two `calls()` readings, per stand-in and route (zeros left out)."""
    return {
        name: {route: n for route, n in (after[name] - before[name]).items() if n} for name in after
    }


def graph_folders(sandbox: Sandbox) -> int:
    """How many contact folders the Graph stand-in's mailboxes hold."""
    graph: Any = sandbox.standins["graph"]  # a GraphStandIn
    store = graph.store
    return sum(len(mb.folders) for mb in store.mailboxes.values())


def valid_email(value: Any) -> str | None:
    """A CRM value as the address it means (trimmed, lower case), None when it is not one."""
    if not isinstance(value, str):
        return None
    email = value.strip().lower()
    return email if _EMAIL.match(email) and ".." not in email else None


def counts(summary: dict[str, Any], key: str) -> dict[tuple[str, str], int]:
    """One count (created, updated, deleted, ...) of every object, where it is not zero."""
    return {(s, o): r[key] for s, objs in summary.items() for o, r in objs.items() if r[key]}


def overlay(store: Path, times: bool = True) -> dict[str, Any]:
    """The overlay by natural keys, without the cursors (they hold the stand-ins' clock times and
    URLs, and the push step's writes move them). `times=False` also drops the activity times
    (relationship.last_interaction_at and each activity's "at"): the stand-ins date activities
    relative to the moment they start, so two sandboxes of one seed differ by those seconds."""
    engine = create_engine(f"sqlite:///{store}")
    try:
        snap = snapshot(engine)
    finally:
        engine.dispose()
    snap.pop("cursors")
    if not times:
        snap["relationships"] = sorted((_timeless(row) for row in snap["relationships"]), key=repr)
    return snap


def _timeless(row: tuple[Any, ...]) -> tuple[Any, ...]:
    member, person, rating, is_owner, signals, _last = row
    parsed = ast.literal_eval(signals)  # the repr of a JSON document
    acts = parsed.get("activities") or []
    parsed["activities"] = sorted(
        ({k: v for k, v in a.items() if k != "at"} for a in acts), key=repr
    )
    return (member, person, rating, is_owner, repr(parsed))


def query(store: Path, sql: str, **params: Any) -> list[Any]:
    engine = create_engine(f"sqlite:///{store}")
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params))
    finally:
        engine.dispose()
