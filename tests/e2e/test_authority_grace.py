"""The grace period (issue 13, section 1), end to end on the sandbox, on SQLite and on PostgreSQL,
with `sharing.grace_days: 7`: after the first `carnet sync`, no relationship it discovered is
shown to another rep nor written to a CRM; `carnet review --as` lists the holder's waiting
relationships with the day each is published by default; the holder's choice (`carnet rate
--share`, or their own edit of the owner's fields in Salesforce) ends the wait, and only then do
colleagues and the CRM see that relationship."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from sandbox.runner import Sandbox
from tests.conftest import fresh_db_url
from tests.e2e.authority_support import (
    SHARE,
    Carnet,
    carnet_on,
    crm_contact,
    crm_edit,
    knowers,
    lone_contact,
    org_keeps_owner_fields,
)
from tests.e2e.test_writeback_world import records
from tests.sandbox_fixture import reset_sandbox

KNOWN_BY = "Carnet_Known_By__c"


def waiting(carnet: Carnet, member: str) -> dict[str, dict]:
    doc = carnet("review", "--as", member, "--json")
    assert doc["grace_days"] == 7
    return {w["person"]["email"]: w for w in doc["waiting"]}


def known_by(sandbox: Sandbox) -> dict[str, str]:
    """Contact Id -> what Carnet wrote in its Known by field, where it wrote anything."""
    return {
        i: r[KNOWN_BY]
        for i, r in records(sandbox, "salesforce", "Contact").items()
        if r.get(KNOWN_BY)
    }


def test_nothing_a_sync_discovers_is_shown_before_its_holder_chose(
    sandbox: Sandbox, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    reset_sandbox(sandbox)
    org_keeps_owner_fields(sandbox)
    carnet = carnet_on(sandbox, tmp_path, fresh_db_url(backend, tmp_path, request), grace_days=7)
    carnet("init")
    carnet("install", "--source", "salesforce")
    carnet("sync", "--source", "salesforce", "--json")  # pull, then push
    c = lone_contact(carnet)
    assert c.holder not in knowers(carnet, c.email, c.other)
    assert known_by(sandbox) == {}  # nothing reached the CRM
    accounts = records(sandbox, "salesforce", "Account").values()
    assert not any(a.get("Carnet_Coverage__c") for a in accounts)

    mine = waiting(carnet, c.holder)
    assert c.email in mine and c.email not in waiting(carnet, c.other)
    entry = mine[c.email]
    found = datetime.fromisoformat(entry["discovered_at"])
    assert datetime.fromisoformat(entry["published_at"]) == found + timedelta(days=7)
    assert entry["shareability"] == "discoverable"  # the default, once published
    shown = carnet("review", "--as", c.holder)
    assert c.email in shown.stdout and "carnet rate" in shown.stdout

    # the holder chooses: the wait is over, the rule as usual
    carnet("rate", c.email, "4", "--as", c.holder, "--share", "discoverable")
    assert c.email not in waiting(carnet, c.holder)
    assert c.holder in knowers(carnet, c.email, c.other)
    carnet("push", "--source", "salesforce", "--json")
    written = known_by(sandbox)
    assert list(written) == [c.id]  # the chosen relationship alone reached the CRM
    name = carnet.query("SELECT name FROM member WHERE email = :e", e=c.holder)[0][0]
    assert name in written[c.id]

    # another holder chooses in Salesforce, by their own edit of the owner's fields
    d = next(
        x for x in (lone_contact(carnet, skip=i) for i in range(1, 50)) if x.holder != c.holder
    )
    assert d.email in waiting(carnet, d.holder) and d.holder not in knowers(
        carnet, d.email, d.other
    )
    crm_edit(sandbox, d.id, d.holder_user, **{SHARE: "shared"})
    carnet("sync", "--source", "salesforce", "--json")
    assert d.email not in waiting(carnet, d.holder)
    assert d.holder in knowers(carnet, d.email, d.other)
    assert set(known_by(sandbox)) == {c.id, d.id}
    assert crm_contact(sandbox, d.id)[SHARE] == "shared"
