"""A fake Salesforce for sync tests: an in-memory world of raw records shaped for the packaged
mapping, an adapter that pages through it by SystemModstamp like the real one (overlap included,
deleted and merged records too), a config to run on, and a canonical snapshot of the overlay.

No tests here; test_sync.py and test_sync_crash.py use it (the crash test in a subprocess).
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from connector.core.errors import BudgetExhausted
from connector.core.records import (
    ApiUsage,
    FieldInfo,
    ObjectSpec,
    Outcome,
    Page,
    RawRecord,
    Write,
    WriteResult,
)
from connector.store import models as m

T0 = datetime(2026, 10, 1, tzinfo=UTC)
World = dict[str, list[RawRecord]]


def world(seed: int = 7, accounts: int = 6, contacts: int = 40) -> World:
    """Users, accounts (some parents listed after their children), contacts (reports-to in any
    order, one deleted, one merged away, one malformed), deals, contact roles and tasks."""
    rng = random.Random(seed)
    clock = iter(range(100_000))

    def raw(prefix: str, i: int, **fields: Any) -> RawRecord:
        stamp = T0 + timedelta(seconds=next(clock))
        return RawRecord(id=f"{prefix}{i:04d}", fields=fields, modstamp=stamp)

    users = [raw("005", i, Email=f"rep{i}@us.example", FirstName="Rep", LastName=str(i),
                 Department="EMEA", Country="Germany", Title="AE", IsActive=True,
                 UserType="Standard") for i in range(3)]  # fmt: skip
    accts = [raw("001", i, Name=f"Acct {i}", Website=f"acct{i}.example", BillingCountry="France",
                 Industry="Tech", OwnerId=users[i % 3].id,
                 ParentId=f"001{i + 1:04d}" if i % 3 == 0 and i + 1 < accounts else None)
             for i in range(accounts)]  # fmt: skip
    people = []
    for i in range(contacts):
        boss = f"003{rng.randrange(contacts):04d}" if i % 2 else None
        email = None if i == 13 else f"c{i}@acct{i % accounts}.example"
        people.append(raw("003", i, Email=email, FirstName=f"F{i}", LastName=f"L{i}",
                          Title=rng.choice(["VP Sales", "CTO", "Buyer"]), MailingCountry="Spain",
                          AccountId=None if i == 13 else accts[i % accounts].id,
                          ReportsToId=boss, OwnerId=users[i % 3].id))  # fmt: skip
    rng.shuffle(people)
    people.append(RawRecord(id="0030005", fields={}, deleted=True, modstamp=_later(people)))
    people.append(RawRecord(id="0030006", fields={}, deleted=True, merged_into="0030007",
                            modstamp=_later(people)))  # fmt: skip
    deals = [raw("006", i, Name=f"Deal {i}", Amount=1000 * i, StageName="Closed Won",
                 IsClosed=i % 2 == 0, IsWon=i % 4 == 0, CloseDate="2026-12-01",
                 CreatedDate="2026-01-01T00:00:00.000+0000", AccountId=accts[i % accounts].id,
                 OwnerId=users[i % 3].id) for i in range(8)]  # fmt: skip
    roles = [raw("00K", i, Role="Decision Maker", IsPrimary=i % 2 == 0,
                 OpportunityId=deals[i % 8].id, ContactId=f"003{(i * 7) % contacts:04d}")
             for i in range(12)]  # fmt: skip
    tasks = [raw("00T", i, TaskSubtype=rng.choice(["Call", "Email", "Task"]),
                 ActivityDate=f"2026-09-{1 + i % 28:02d}", Subject="x",
                 WhoId=f"003{rng.randrange(contacts):04d}", OwnerId=users[i % 3].id)
             for i in range(30)]  # fmt: skip
    return {"User": users, "Account": accts, "Contact": people, "Opportunity": deals,
            "OpportunityContactRole": roles, "Task": tasks, "Event": []}  # fmt: skip


def _later(records: list[RawRecord]) -> datetime:
    return max(r.modstamp for r in records if r.modstamp) + timedelta(seconds=1)


@dataclass
class FakeSalesforce:
    """Pages of `page_size` records by SystemModstamp; the cursor is the last one's ISO time and
    the next pull starts there again (the overlap). `budget`: calls before BudgetExhausted."""

    records: World
    page_size: int = 4
    delay: float = 0.0
    budget: int | None = None
    calls: int = 0
    pulls: list[tuple[str, str | None, bool]] = field(default_factory=list)
    closed: bool = False
    source: str = "salesforce"

    def pull(self, spec: ObjectSpec, cursor: str | None, full: bool) -> Iterator[Page]:
        self.pulls.append((spec.name, cursor, full))
        full = full or cursor is None
        rows = sorted(self.records.get(spec.name, []), key=lambda r: (r.modstamp, r.id))
        if not full:
            rows = [r for r in rows if r.modstamp and r.modstamp.isoformat() >= str(cursor)]
        chunks = [rows[i : i + self.page_size] for i in range(0, len(rows), self.page_size)]
        for n, chunk in enumerate(chunks or [[]]):
            if self.budget is not None and self.calls >= self.budget:
                raise BudgetExhausted(f"{self.calls} calls made")
            self.calls += 1
            time.sleep(self.delay)
            stamp = chunk[-1].modstamp.isoformat() if chunk and chunk[-1].modstamp else cursor
            yield Page(list(chunk), stamp, full=full, done=n == len(chunks) - 1 or not chunks)

    def push(self, writes: list[Write]) -> list[WriteResult]:
        return [WriteResult(w.key, Outcome.REFUSED, error="read only") for w in writes]

    def describe(self, object_name: str) -> dict[str, FieldInfo]:
        names = {f for r in self.records.get(object_name, []) for f in r.fields}
        return {n: FieldInfo(n, "string", writable=False) for n in names}

    def usage(self) -> ApiUsage:
        return ApiUsage(used=self.calls, limit=1000, calls=self.calls)

    def close(self) -> None:
        self.closed = True


def write_config(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sf.secret").write_text("s3cret\n", encoding="utf-8")
    path = folder / "config.yaml"
    path.write_text(
        "version: 1\n"
        "database_url: sqlite:///carnet.db\n"
        "sources:\n"
        "  salesforce:\n"
        "    login_url: https://login.example.com\n"
        "    client_id: test\n"
        "    client_secret_file: sf.secret\n",
        encoding="utf-8",
    )
    return path


def snapshot(engine: Engine) -> dict[str, Any]:
    """The overlay in natural keys (no ids, no clock times), to compare two stores."""
    with engine.connect() as c:
        emails: dict[int, list[str]] = {}
        for pid, email in c.execute(select(m.PersonEmail.person_id, m.PersonEmail.email)):
            emails.setdefault(pid, []).append(email)
        people = {r.id: r for r in c.execute(select(m.Person))}
        pkey = {i: (sorted(emails.get(i, [])) or [p.name])[0] for i, p in people.items()}
        orgs = {r.id: r for r in c.execute(select(m.Org))}
        members = {r.id: r for r in c.execute(select(m.Member))}
        opps = {r.id: r for r in c.execute(select(m.Opportunity))}
        ekey = {"person": pkey, "org": {i: o.name for i, o in orgs.items()},
                "member": {i: x.email for i, x in members.items()},
                "opportunity": {i: o.name for i, o in opps.items()}}  # fmt: skip

        def deals(signals: dict[str, Any]) -> dict[str, Any]:
            out = dict(signals)
            for role in out.get("deal_roles", []):
                role["opportunity_id"] = opps[int(role["opportunity_id"])].name
            return out

        return {
            "members": _sorted((x.email, x.name, x.active, x.salesforce_user_id)
                              for x in members.values()),
            "orgs": _sorted((o.name, o.country, ekey["org"].get(o.parent_id),
                            o.deleted_at is not None, ekey["org"].get(o.merged_into_id))
                           for o in orgs.values()),
            "people": _sorted((pkey[i], p.name, p.title, p.level, ekey["org"].get(p.org_id),
                              pkey.get(p.reports_to_id), p.deleted_at is not None,
                              pkey.get(p.merged_into_id), _sorted(emails.get(i, [])))
                             for i, p in people.items()),
            "deals": _sorted((o.name, ekey["org"].get(o.org_id), ekey["member"].get(o.owner_id),
                             o.status, o.deleted_at is not None) for o in opps.values()),
            "roles": _sorted((opps[r.opportunity_id].name, pkey[r.person_id], r.role, r.is_primary)
                            for r in c.execute(select(m.ContactRole))),
            "relationships": _sorted((ekey["member"][r.member_id], pkey[r.person_id], r.rating,
                                     r.is_owner, repr(deals(r.signals)), r.last_interaction_at)
                                    for r in c.execute(select(m.Relationship))),
            "links": _sorted((k.source, k.object, k.external_id, k.entity,
                             ekey.get(k.entity, {}).get(k.entity_id), k.deleted_at is not None,
                             k.merged_into, repr(k.pending))
                            for k in c.execute(select(m.SourceLink))),
            "cursors": _sorted((s.source, s.object, s.cursor)
                              for s in c.execute(select(m.SyncState))
                              if s.object != "(describes)"),  # a cache, dated when it was read
        }  # fmt: skip


def _sorted(rows: Any) -> list[Any]:
    return sorted(rows, key=repr)


def child() -> None:
    """`python -c 'from tests.unit.test_sync_fake import child; child()' CONFIG DELAY`: one sync
    of the fake world, slowed by DELAY seconds a page; prints "started" once it is under way."""
    from connector.store.app import App
    from connector.sync import run_sync

    config, delay = Path(sys.argv[1]), float(sys.argv[2])
    fake = FakeSalesforce(world(), delay=delay)
    print("started", flush=True)
    run_sync(App(config), open_adapter=lambda name, settings: fake)
