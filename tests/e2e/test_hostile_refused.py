"""A record the store still cannot take, end to end, on SQLite and on PostgreSQL (issue 13,
section 2): it is skipped and listed, the rest of its page and of the run (HubSpot, Exchange) go
on, `carnet sync` exits 1; and neither its output nor the logs of `carnet run` at DEBUG carry a
statement's values (names, emails).

What makes the store refuse the record is a rule of the store itself (a CHECK constraint on
PostgreSQL, a trigger on SQLite, as a DBA might add): whatever the reason, a database refusing one
row is what is tested, the same way on both backends.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from sandbox.runner import Sandbox
from tests.conftest import fresh_db_url
from tests.e2e.hostile_support import Store, add_contact, sales_rep
from tests.e2e.scheduler_support import (
    init_store,
    sqlite_url,
    start_worker,
    stop_worker,
    wait_until,
    worker_config,
)
from tests.sandbox_fixture import admin

REFUSED_NAME = "Quarantined"
STORE_RULE = {
    "sqlite": [
        f"CREATE TRIGGER test_rule_{event.lower()} BEFORE {event} ON person "
        f"WHEN NEW.last_name = '{REFUSED_NAME}' "
        "BEGIN SELECT RAISE(ABORT, 'a rule of this store refuses the row'); END"
        for event in ("INSERT", "UPDATE")
    ],
    "postgresql": [
        f"ALTER TABLE person ADD CONSTRAINT test_rule CHECK (last_name <> '{REFUSED_NAME}')"
    ],
}


def test_a_record_the_store_refuses_is_listed_and_the_rest_goes_on(
    fresh_sandbox: Sandbox, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = Store(fresh_sandbox, fresh_db_url(backend, tmp_path, request))
    assert store.carnet("init").returncode == 0
    for statement in STORE_RULE[backend]:
        store.query(statement)
    account = admin(fresh_sandbox, "salesforce", "GET", "/__sandbox/records/Account").json()[0]
    rep_id, _ = sales_rep(fresh_sandbox)
    refused_email = "q.refused@quarantine.example"
    refused = add_contact(fresh_sandbox, "Quinn", REFUSED_NAME, "CFO", refused_email,
                          account["Id"], rep_id)  # fmt: skip
    add_contact(fresh_sandbox, "Nora", "Nul\x00Byte", "CTO", "nora@quarantine.example",
                account["Id"], rep_id)  # fmt: skip

    done = store.carnet("sync", "--json")
    assert done.returncode == 1, done.stderr  # a record the store refused is a failure
    summary = json.loads(done.stdout)
    contacts = summary["salesforce"]["Contact"]
    assert contacts["refused"] == 1 and contacts["skipped"] == 0, contacts
    (listed,) = contacts["refused_records"]
    assert listed["id"] == refused and listed["reason"].startswith("the store refused it: ")
    live = {
        c["Id"]
        for c in admin(fresh_sandbox, "salesforce", "GET", "/__sandbox/records/Contact").json()
    }
    linked = store.query(
        "SELECT external_id FROM source_link WHERE object = 'Contact' AND deleted_at IS NULL"
    )
    assert {r[0] for r in linked} == live - {refused}  # the rest of its page is stored
    for source in ("salesforce", "hubspot", "exchange"):  # the rest of the run went on
        assert summary[source] and not any("stopped" in run for run in summary[source].values())
    assert summary["exchange"]["contacts"]["created"] > 0
    stored = store.query("SELECT last_name FROM person WHERE last_name LIKE 'Nul%'")
    assert [r[0] for r in stored] == ["NulByte"]
    assert not store.query(f"SELECT id FROM person WHERE last_name = '{REFUSED_NAME}'")

    said = done.stdout + done.stderr
    assert "salesforce Contact: refused 1 by the store" in done.stderr
    assert f"salesforce Contact {refused}: the store refused it" in done.stderr
    assert refused_email not in said and REFUSED_NAME not in said  # no statement's values
    assert "Traceback" not in said and "[parameters" not in said and "[SQL" not in said


@pytest.mark.timeout(120)
def test_the_logs_of_carnet_run_at_debug_hold_no_name_or_email(
    fresh_sandbox: Sandbox, tmp_path: Path
) -> None:
    url = sqlite_url(tmp_path)
    every = {"salesforce": "2s", "hubspot": "3s", "exchange": "2s"}
    config = worker_config(fresh_sandbox, every, level="DEBUG", log_format="json")
    init_store(config, url)
    log = tmp_path / "worker.log"
    worker = start_worker(config, url, log)
    try:
        wait_until(lambda: all(f"sync {s}:" in log.read_text() for s in every), 60, every=0.5)
        time.sleep(1.0)
    finally:
        code, _ = stop_worker(worker)
    text = log.read_text()
    assert code == 0, text[-2000:]
    contacts = admin(fresh_sandbox, "salesforce", "GET", "/__sandbox/records/Contact").json()
    emails = {c["Email"] for c in contacts if c.get("Email")}
    names = {c["LastName"] for c in contacts if len(c.get("LastName") or "") > 5}
    assert emails and names
    leaked = sorted(e for e in emails | names if e in text)
    assert not leaked, leaked[:5]
