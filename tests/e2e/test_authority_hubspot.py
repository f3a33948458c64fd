"""The rep's choice is the authority in HubSpot too (issue 13, section 1), end to end on the
sandbox, on SQLite and on PostgreSQL: HubSpot names the user who last changed a contact
(`hs_updated_by_user_id`), which Carnet traces to a member through the owners' user ids. The
owner's own edit of `carnet_shareability` applies; another user's is refused, audited with that
user's id, and undone by the sync's push."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sandbox.runner import Sandbox
from tests.conftest import fresh_db_url
from tests.e2e.authority_support import Carnet, carnet_on, knowers, portal_keeps_owner_fields
from tests.sandbox_fixture import admin, reset_sandbox

SHARE, RATING = "carnet_shareability", "carnet_owner_rating"


def lone_hubspot_contact(carnet: Carnet) -> tuple[str, str, str, str, str, str]:
    """(contact id, its email, owner's email, owner's user id, another rep's email and user id)."""
    rows = carnet.query(
        "SELECT l.external_id, e.email, m.email, m.hubspot_user_id FROM relationship r "
        "JOIN member m ON m.id = r.member_id JOIN person_email e ON e.person_id = r.person_id "
        "JOIN source_link l ON l.entity = 'person' AND l.entity_id = r.person_id "
        "AND l.source = 'hubspot' AND l.object = 'contacts' AND l.deleted_at IS NULL "
        "WHERE r.is_owner AND m.active AND m.hubspot_user_id IS NOT NULL "
        "AND (SELECT count(*) FROM relationship r2 WHERE r2.person_id = r.person_id) = 1 "
        "AND (SELECT count(*) FROM person_email e2 WHERE e2.person_id = r.person_id) = 1 "
        "ORDER BY l.external_id"
    )
    assert rows, "no HubSpot contact known by its owner alone"
    ext, email, holder, user = rows[0]
    other, other_user = carnet.query(
        "SELECT email, hubspot_user_id FROM member WHERE active AND email != :me "
        "AND hubspot_user_id IS NOT NULL ORDER BY email",
        me=holder,
    )[0]
    return ext, email, holder, user, other, other_user


def edit(sandbox: Sandbox, contact: str, user: str, **values: Any) -> None:
    body = {"id": contact, "properties": {**values, "hs_updated_by_user_id": user}}
    admin(sandbox, "hubspot", "POST", "/__sandbox/records/contacts", body)


def contact(sandbox: Sandbox, contact_id: str) -> dict[str, Any]:
    rows = admin(sandbox, "hubspot", "GET", "/__sandbox/records/contacts").json()
    return dict(next(r for r in rows if str(r["id"]) == contact_id)["properties"])


def relationship(carnet: Carnet, holder: str, email: str) -> tuple[Any, ...]:
    return tuple(
        carnet.query(
            "SELECT r.rating, r.shareability FROM relationship r "
            "JOIN member m ON m.id = r.member_id JOIN person_email e ON e.person_id = r.person_id "
            "WHERE m.email = :holder AND e.email = :email",
            holder=holder,
            email=email,
        )[0]
    )


def test_hubspot_names_the_editor_and_only_the_owner_changes_the_relationship(
    sandbox: Sandbox, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    reset_sandbox(sandbox)
    portal_keeps_owner_fields(sandbox)
    carnet = carnet_on(sandbox, tmp_path, fresh_db_url(backend, tmp_path, request))
    carnet("init")
    carnet("install", "--source", "hubspot")
    carnet("sync", "--source", "hubspot", "--json")
    cid, email, holder, user, other, other_user = lone_hubspot_contact(carnet)

    edit(sandbox, cid, user, **{SHARE: "private", RATING: "5"})  # the owner, in HubSpot
    carnet("sync", "--source", "hubspot", "--json")
    assert relationship(carnet, holder, email) == (5, "private")
    assert holder not in knowers(carnet, email, other)

    edit(sandbox, cid, other_user, **{SHARE: "shared"})  # someone else
    carnet("sync", "--source", "hubspot", "--json")
    assert relationship(carnet, holder, email) == (5, "private")
    assert holder not in knowers(carnet, email, other)
    events = [
        e
        for e in carnet("audit", "--as", holder, "--json")["events"]
        if e["action"] == "relationship.crm_edit_refused"
    ]
    assert [(e["details"]["crm_user"], e["details"]["source"]) for e in events] == [
        (other_user, "hubspot")
    ]
    assert events[0]["actor"]["email"] == other
    assert contact(sandbox, cid)[SHARE] == "private"  # the sync's push undid it
