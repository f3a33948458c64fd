"""Write-back end to end on the sandbox, as a user runs it: init, install, sync, plan set, push.
The CRMs then hold the overlay's values and one plan note per planned account; a second push
makes no call; one rating changes exactly its contacts and its account's notes; a private
relationship reaches no CRM value."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from sandbox.runner import Sandbox
from tests.e2e.test_writeback_world import (
    WRITTEN,
    assert_contacts_hold,
    carnet,
    crm_contacts,
    marker_notes,
    private_config,
    records,
    total_calls,
)
from tests.sandbox_fixture import admin, reset_sandbox

STRATEGY = "<b>Grow</b> & win"
ESCAPED = "&lt;b&gt;Grow&lt;/b&gt; &amp; win"  # in HubSpot's HTML note
MD_ESCAPED = "\\<b>Grow\\</b> & win"  # in Salesforce's plain-text note: Markdown, not HTML


@dataclass
class World:
    config: Path
    store: Path
    planned: list[tuple[str, str, str]]  # org name, Salesforce Account id, HubSpot company id
    first: dict[str, Any]


def query(store: Path, sql: str, **params: Any) -> list[Any]:
    engine = create_engine(f"sqlite:///{store}")
    with engine.begin() as conn:
        result = conn.execute(text(sql), params)
        rows = list(result) if result.returns_rows else []
    engine.dispose()
    return rows


def orgs_in_both(store: Path, n: int) -> list[tuple[str, str, str]]:
    """n orgs with people, linked to an Account and a company, with names unique in the store."""
    return [
        tuple(r)
        for r in query(
            store,
            "SELECT o.name, a.external_id, c.external_id FROM org o "
            "JOIN source_link a ON a.entity = 'org' AND a.entity_id = o.id "
            "AND a.object = 'Account' AND a.deleted_at IS NULL "
            "JOIN source_link c ON c.entity = 'org' AND c.entity_id = o.id "
            "AND c.object = 'companies' AND c.deleted_at IS NULL "
            "WHERE (SELECT count(*) FROM org o2 WHERE o2.name = o.name) = 1 "
            "AND (SELECT count(*) FROM person p WHERE p.org_id = o.id) > 2 "
            "ORDER BY o.id LIMIT :n",
            n=n,
        )
    ]


@pytest.fixture(scope="module")
def world(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> World:
    reset_sandbox(sandbox)
    folder = tmp_path_factory.mktemp("writeback")
    config = private_config(sandbox, folder)
    carnet(config, "init", "--json")
    assert carnet(config, "install").returncode == 0
    carnet(config, "sync", "--json")
    store = folder / "carnet.db"
    planned = orgs_in_both(store, 2)
    assert len(planned) == 2
    for name, _, _ in planned:
        r = carnet(config, "plan", "set", name, "--strategy", STRATEGY)
        assert r.returncode == 0, r.stderr
    first = carnet(config, "push", "--json")
    return World(config, store, planned, first)


def test_push_fills_the_crm_records(world: World, sandbox: Sandbox) -> None:
    assert_contacts_hold(sandbox, world.store)
    accounts = records(sandbox, "salesforce", "Account")
    assert sum(1 for a in accounts.values() if a.get("Carnet_Coverage__c") is not None) > 5
    companies = records(sandbox, "hubspot", "companies")
    assert sum(1 for c in companies.values() if c.get("carnet_coverage")) > 5
    for run in world.first["sources"].values():
        assert run["failed"] == run["parked"] == 0


def test_exactly_one_escaped_plan_note_per_planned_account(world: World, sandbox: Sandbox) -> None:
    notes = marker_notes(sandbox)
    wanted = {f"salesforce {sf}" for _, sf, _ in world.planned}
    wanted |= {f"hubspot {hs}" for _, _, hs in world.planned}
    assert set(notes) == wanted
    assert all(len(ids) == 1 for ids in notes.values()), notes
    texts = [str(n.get("Body")) for n in records(sandbox, "salesforce", "Note").values()]
    bodies = [str(n.get("hs_note_body")) for n in records(sandbox, "hubspot", "notes").values()]
    assert all(MD_ESCAPED in t and "&lt;" not in t for t in texts if "[carnet:plan:" in t)
    planned_bodies = [b for b in bodies if "[carnet:plan:" in b]
    assert all(ESCAPED in b and "<b>Grow" not in b for b in planned_bodies)


def test_second_push_makes_no_call(world: World, sandbox: Sandbox) -> None:
    before = {s: total_calls(sandbox, s) for s in ("salesforce", "hubspot")}
    again = carnet(world.config, "push", "--json")
    assert all(run["due"] == 0 and run["api_calls"] == 0 for run in again["sources"].values())
    assert {s: total_calls(sandbox, s) for s in ("salesforce", "hubspot")} == before


def snapshot(sandbox: Sandbox) -> dict[tuple[str, str, str], tuple[Any, ...]]:
    """What Carnet writes, per record: (source, object, id) -> the written fields' values."""
    return {
        (source, obj, rid): tuple(rec.get(f) for f in fields)
        for (source, obj), fields in WRITTEN.items()
        for rid, rec in records(sandbox, source, obj).items()
    }


def known_person(world: World) -> tuple[str, str, int, list[tuple[str, str]]]:
    """(person email, member email, rating now, the person's CRM contacts) for someone of the
    first planned org whom a member knows with a visible relationship."""
    rows = query(
        world.store,
        "SELECT pe.email, m.email, coalesce(r.rating, 3), p.id FROM relationship r "
        "JOIN person p ON p.id = r.person_id JOIN org o ON o.id = p.org_id "
        "JOIN person_email pe ON pe.person_id = p.id JOIN member m ON m.id = r.member_id "
        "WHERE o.name = :org AND m.active AND coalesce(r.shareability, 'x') != 'private' "
        "ORDER BY p.id LIMIT 1",
        org=world.planned[0][0],
    )
    email, member, rating, pid = rows[0]
    links = query(
        world.store,
        "SELECT source, external_id FROM source_link WHERE entity = 'person' AND entity_id = :p "
        "AND source IN ('salesforce', 'hubspot') AND object IN ('Contact', 'contacts') "
        "AND deleted_at IS NULL",
        p=pid,
    )
    return email, member, int(rating), [(s, e) for s, e in links]


def test_one_rating_changes_exactly_its_contacts_and_notes(world: World, sandbox: Sandbox) -> None:
    email, member, rating, contacts = known_person(world)
    assert contacts
    new = 1 if rating != 1 else 5
    r = carnet(world.config, "rate", email, str(new), "--as", member)
    assert r.returncode == 0, r.stderr
    before, calls = (
        snapshot(sandbox),
        {s: total_calls(sandbox, s) for s in ("salesforce", "hubspot")},
    )
    preview = carnet(world.config, "push", "--dry-run", "--json")
    assert {s: total_calls(sandbox, s) for s in ("salesforce", "hubspot")} == calls
    shown = {(c["object"], c["id"]) for run in preview["sources"].values() for c in run["changes"]}
    carnet(world.config, "push", "--json")
    after = snapshot(sandbox)
    touched = {key for key, values in after.items() if before.get(key) != values}
    objects = {"salesforce": "Contact", "hubspot": "contacts"}
    notes = {sid for sid in marker_ids(sandbox, world.planned[0])}
    expected = {(s, objects[s], cid) for s, cid in contacts} | notes
    assert touched == expected
    assert shown == {(obj, rid) for _, obj, rid in expected if obj in ("Contact", "contacts")} | {
        ("Note", world.planned[0][1]),
        ("notes", world.planned[0][2]),
    }
    assert_contacts_hold(sandbox, world.store)


def marker_ids(sandbox: Sandbox, org: tuple[str, str, str]) -> set[tuple[str, str, str]]:
    notes = marker_notes(sandbox)
    _, sf, hs = org
    return {("salesforce", "Note", notes[f"salesforce {sf}"][0])} | {
        ("hubspot", "notes", notes[f"hubspot {hs}"][0])
    }


def scan(sandbox: Sandbox, needles: list[str]) -> list[str]:
    """Every value Carnet wrote (fields and notes) that mentions one of `needles`."""
    hits = []
    for key, values in snapshot(sandbox).items():
        for value in values:
            text_value = str(value or "").casefold()
            hits += [f"{key}: {n}" for n in needles if n.casefold() in text_value]
    return hits


def test_a_private_relationship_reaches_no_crm_value(world: World, sandbox: Sandbox) -> None:
    name, email, mid = most_connected_member(world)
    assert scan(sandbox, [name]), "the member must show somewhere first, or the scan proves nothing"
    query(
        world.store, "UPDATE relationship SET shareability = 'private' WHERE member_id = :m", m=mid
    )
    pushed = carnet(world.config, "push", "--json")
    assert all(run["failed"] == run["parked"] == 0 for run in pushed["sources"].values())
    assert scan(sandbox, [name, email]) == []
    assert_contacts_hold(sandbox, world.store)


def most_connected_member(world: World) -> tuple[str, str, int]:
    """An active member with the most relationships, whose name no other member's contains."""
    rows = query(
        world.store,
        "SELECT m.name, m.email, m.id FROM member m JOIN relationship r ON r.member_id = m.id "
        "WHERE m.active GROUP BY m.id ORDER BY count(*) DESC",
    )
    names = [str(r[0]).casefold() for r in rows]
    for name, email, mid in rows:
        if sum(1 for other in names if name.casefold() in other) == 1:
            return str(name), str(email), int(mid)
    raise AssertionError("no member with a distinctive name")


def test_a_plan_note_deleted_in_the_crm_is_made_again(world: World, sandbox: Sandbox) -> None:
    name, sf, hs = world.planned[1]
    notes = marker_notes(sandbox)
    admin(
        sandbox, "salesforce", "DELETE", f"/__sandbox/records/Note/{notes[f'salesforce {sf}'][0]}"
    )
    admin(sandbox, "hubspot", "DELETE", f"/__sandbox/records/notes/{notes[f'hubspot {hs}'][0]}")
    assert carnet(world.config, "plan", "set", name, "--strategy", "again").returncode == 0
    carnet(world.config, "push", "--json")  # finds the notes gone
    carnet(world.config, "push", "--json")  # makes them again
    notes = marker_notes(sandbox)
    assert len(notes[f"salesforce {sf}"]) == 1 and len(notes[f"hubspot {hs}"]) == 1
    assert carnet(world.config, "push", "--json")["sources"]["salesforce"]["due"] == 0


def test_a_crm_users_edit_of_a_carnet_field_is_written_back(world: World, sandbox: Sandbox) -> None:
    _, _, _, contacts = known_person(world)
    contact = next(cid for source, cid in contacts if source == "salesforce")
    user = {"id": contact, "Carnet_Strength__c": 1, "Carnet_Known_By__c": "someone else"}
    admin(sandbox, "salesforce", "POST", "/__sandbox/records/Contact", json=user)
    assert crm_contacts(sandbox)[("salesforce", contact)] == (1, "someone else")
    carnet(world.config, "sync", "--source", "salesforce", "--json")  # pulls the edit, pushes
    assert_contacts_hold(sandbox, world.store)
