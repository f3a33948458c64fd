"""The rep's choice is the authority (issue 13, section 1), end to end on the sandbox, on SQLite
and on PostgreSQL, as a user runs Carnet: a Salesforce user who does not own a contact sets the
owner's fields on it (shareability `shared`, the rating cleared) over the owner's `private` and 5.
After `carnet sync`, another rep's who-knows still does not show the relationship, the rating is
still 5, the audit names the CRM user, the source and the run (not the holder), and the CRM record
holds the owner's values again; the same edit made again is undone again (though the outbox had
written those very values) and `carnet push` then has nothing left to do. The owner's own edit in
the CRM applies."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.runner import Sandbox
from tests.conftest import fresh_db_url
from tests.e2e.authority_support import (
    RATING,
    SHARE,
    Carnet,
    Contact,
    carnet_on,
    crm_contact,
    crm_edit,
    holder_rel,
    knowers,
    lone_contact,
    org_keeps_owner_fields,
)
from tests.sandbox_fixture import reset_sandbox

REFUSED = "relationship.crm_edit_refused"


def refusals(carnet: Carnet, reader: str | None) -> list[dict]:
    doc = carnet("audit", "--json", *(("--as", reader) if reader else ()))
    return [e for e in doc["events"] if e["action"] == REFUSED]


def test_a_crm_edit_by_someone_else_is_refused_audited_and_undone(
    sandbox: Sandbox, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    reset_sandbox(sandbox)
    org_keeps_owner_fields(sandbox)
    carnet = carnet_on(sandbox, tmp_path, fresh_db_url(backend, tmp_path, request))
    carnet("init")
    carnet("install", "--source", "salesforce")
    carnet("sync", "--source", "salesforce", "--json")
    c: Contact = lone_contact(carnet)
    assert c.holder in knowers(carnet, c.email, c.other)  # discoverable by default (grace 0)

    # the owner marks it private and rates it 5, in Salesforce: their own act, applied
    crm_edit(sandbox, c.id, c.holder_user, **{RATING: 5, SHARE: "private"})
    carnet("sync", "--source", "salesforce", "--json")
    assert holder_rel(carnet, c) == (5, "private", False, True)
    assert c.holder not in knowers(carnet, c.email, c.other)

    # another Salesforce user shares it and clears the rating: refused
    crm_edit(sandbox, c.id, c.other_user, **{RATING: None, SHARE: "shared"})
    carnet("sync", "--source", "salesforce", "--json")
    assert c.holder not in knowers(carnet, c.email, c.other)
    assert holder_rel(carnet, c) == (5, "private", False, True)
    events = refusals(carnet, c.holder)  # the holder reads who tried
    assert len(events) == 1
    event = events[0]
    assert event["actor"]["email"] == c.other  # the CRM user's member, never the holder
    details = event["details"]
    assert details["source"] == "salesforce" and details["crm_record"] == c.id
    assert details["crm_user"] == c.other_user and details["sync_run"]
    assert details["refused"] == {"rating": None, "shareability": "shared"}
    assert [r["holder"] for r in event["relationships"]] == [c.holder]
    assert refusals(carnet, c.other) == []  # the editor may not see a private relationship
    admins = refusals(carnet, None)  # the admin's log withholds what the CRM may not see
    assert len(admins) == 1 and admins[0]["details"].get("withheld")
    changed = carnet.query(
        "SELECT a.actor_id, a.details FROM audit_event a WHERE a.action = 'relationship.changed'"
    )
    assert len(changed) == 1  # the owner's own edit alone changed the relationship
    # the sync's push wrote the owner's values back
    record = crm_contact(sandbox, c.id)
    assert (record[RATING], record[SHARE]) == (5, "private")

    # the same edit again: the outbox wrote these values already, yet they are written again
    crm_edit(sandbox, c.id, c.other_user, **{SHARE: "shared"})
    carnet("sync", "--source", "salesforce", "--json")
    assert len(refusals(carnet, c.holder)) == 2
    assert crm_contact(sandbox, c.id)[SHARE] == "private"
    assert holder_rel(carnet, c) == (5, "private", False, True)
    pushed = carnet("push", "--source", "salesforce", "--json")
    assert pushed["sources"]["salesforce"]["due"] == 0
    assert (crm_contact(sandbox, c.id)[RATING], crm_contact(sandbox, c.id)[SHARE]) == (5, "private")

    # the owner changes their mind in Salesforce: applied (and nothing to undo)
    crm_edit(sandbox, c.id, c.holder_user, **{SHARE: "shared"})
    carnet("sync", "--source", "salesforce", "--json")
    assert holder_rel(carnet, c) == (5, "shared", False, True)
    assert c.holder in knowers(carnet, c.email, c.other)
    assert crm_contact(sandbox, c.id)[SHARE] == "shared"
    assert len(refusals(carnet, c.holder)) == 2
