"""`carnet install` on a fresh org with field-level security, as sales ops runs it: a field made
earlier without access is granted (not made again), the others are made, the `Carnet_Integration`
permission set grants read and edit on all nine and is assigned to Carnet's user (`--dry-run`
lists those steps and changes nothing); a second install changes nothing; the push then writes
the fields (no INVALID_FIELD_FOR_INSERT_UPDATE), and `mappings check --online` reports each one
editable. On both store backends.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from connector.store.db import make_engine
from sandbox.runner import Sandbox
from tests.conftest import fresh_db_url, run_carnet
from tests.e2e.test_writeback_world import private_config, records
from tests.sandbox_fixture import admin, admin_session, reset_sandbox

SF_OUTBOUND = {
    "Contact": ("Carnet_Strength__c", "Carnet_Known_By__c", "Carnet_Relationship_Owner__c",
                "Carnet_Last_Interaction__c", "Carnet_Link__c"),
    "Account": ("Carnet_Coverage__c", "Carnet_Single_Threaded__c", "Carnet_Link__c"),
    "Opportunity": ("Carnet_Referrer__c", "Carnet_Credit_Amount__c", "Carnet_Credit_Percent__c"),
}  # fmt: skip
FILLED = {  # fields a seeded org's Salesforce sync gives values to (credits need introductions)
    "Contact": ("Carnet_Strength__c", "Carnet_Known_By__c", "Carnet_Relationship_Owner__c"),
    "Account": ("Carnet_Coverage__c",),
}
CREATE = "POST /services/data/v{version}/tooling/sobjects/CustomField"


def org_calls(sandbox: Sandbox) -> dict[str, int]:
    """Salesforce calls that change the org (logins and reads aside)."""
    calls = admin(sandbox, "salesforce", "GET", "/__sandbox/stats").json()["calls"]
    return {k: v for k, v in calls.items() if not k.startswith(("GET", "POST /services/oauth2"))}


def field_made_without_access(sandbox: Sandbox) -> None:
    """Contact.Carnet_Strength__c made through the Tooling API by Carnet's user (an earlier,
    half-done install): Salesforce grants it to nobody."""
    creds = sandbox.credentials
    form = {"grant_type": "client_credentials", "client_id": creds.salesforce_client_id,
            "client_secret": creds.salesforce_client_secret}  # fmt: skip
    meta = {"type": "Number", "label": "Relationship strength", "precision": 1, "scale": 0}
    with admin_session(sandbox) as http:
        base = sandbox.salesforce.url
        token = http.post(f"{base}/services/oauth2/token", data=form, timeout=10).json()
        made = http.post(
            f"{base}/services/data/v59.0/tooling/sobjects/CustomField",
            json={"FullName": "Contact.Carnet_Strength__c", "Metadata": meta},
            headers={"Authorization": f"Bearer {token['access_token']}"},
            timeout=10,
        )
    assert made.status_code == 201, made.text


def run(config: Path, url: str, *args: str) -> Any:
    done = run_carnet("--config", str(config), *args,
                      env={"CARNET_DATABASE_URL": url, "COLUMNS": "250"}, timeout=600)  # fmt: skip
    assert done.returncode == 0, f"carnet {' '.join(args)}: {done.returncode}\n{done.stderr}"
    return json.loads(done.stdout) if "--json" in args else done.stdout


def install_rows(stdout: str) -> list[tuple[str, str, str]]:
    """(object, field, action) of each row of the install table."""
    rows = []
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if len(cells) == 5 and cells[0] == "salesforce":
            rows.append((cells[1], cells[2], cells[3]))
    return rows


def test_install_grants_once_then_push_writes_every_field(
    sandbox: Sandbox, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    reset_sandbox(sandbox)
    config = private_config(sandbox, tmp_path)
    url = fresh_db_url(backend, tmp_path, request)
    run(config, url, "init")
    field_made_without_access(sandbox)
    before = org_calls(sandbox)

    planned = install_rows(run(config, url, "install", "--source", "salesforce", "--dry-run"))
    assert org_calls(sandbox) == before
    assert ("PermissionSet", "Carnet_Integration", "would create") in planned
    assert ("PermissionSetAssignment", "Carnet_Integration", "would assign") in planned
    grants = {(o, f) for o, f, a in planned if a == "would grant"}
    assert grants == {(o, f) for o, fields in SF_OUTBOUND.items() for f in fields}
    assert ("Contact", "Carnet_Strength__c", "exists") in planned  # found, hidden: not made

    done = install_rows(run(config, url, "install", "--source", "salesforce"))
    assert [(o, f, a.replace("would", "did")) for o, f, a in planned] == done
    assert org_calls(sandbox)[CREATE] == 1 + 10  # the earlier one, then the ten missing

    made = org_calls(sandbox)
    again = install_rows(run(config, url, "install", "--source", "salesforce"))
    assert {a for _, _, a in again} == {"exists", "granted", "assigned"}
    assert org_calls(sandbox) == made  # the second install changes nothing

    run(config, url, "sync", "--source", "salesforce", "--json")  # pull, derive, push
    pushed = run(config, url, "push", "--source", "salesforce", "--json")["sources"]["salesforce"]
    assert pushed["failed"] == pushed["parked"] == 0
    wanted = desired(url)
    assert not [row for row in wanted if row["last_error"]]  # no INVALID_FIELD_FOR_INSERT_UPDATE
    written: dict[str, set[str]] = {}
    for row in wanted:
        record = records(sandbox, "salesforce", row["object"])[row["external_id"]]
        for field, value in row["desired"]["values"].items():
            if value is not None:
                assert record.get(field) is not None, (row["object"], field)
                written.setdefault(row["object"], set()).add(field)
    for obj, fields in FILLED.items():
        assert set(fields) <= written.get(obj, set()), obj

    checked = run(config, url, "mappings", "check", "--online")
    for obj, fields in SF_OUTBOUND.items():
        for field in fields:
            assert f"writes {obj}.{field}: editable by Carnet's user" in checked


def desired(url: str) -> list[dict[str, Any]]:
    """The Salesforce outbox: what Carnet wanted in each record, and how writing it went."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT object, external_id, desired, last_error FROM outbox"
                     " WHERE source = 'salesforce' AND field_set = 'fields'")
            )  # fmt: skip
            return [
                {"object": o, "external_id": i, "last_error": e,
                 "desired": d if isinstance(d, dict) else json.loads(d)}
                for o, i, d, e in rows
            ]  # fmt: skip
    finally:
        engine.dispose()
