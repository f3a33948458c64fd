"""Helpers of the write-back end-to-end tests (no tests here): a private copy of the sandbox's
config with its own store, `carnet` as a subprocess on it, the sandbox's records and call counts,
and the values the outbound mapping should have put in each record, computed from the store
independently of the code under test (the visibility rule re-derived in plain SQL)."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from sqlalchemy import create_engine, text

from sandbox.runner import Sandbox
from tests.conftest import run_carnet
from tests.sandbox_fixture import admin

SF_FIELDS = ("Carnet_Strength__c", "Carnet_Known_By__c", "Carnet_Relationship_Owner__c")
HS_FIELDS = ("carnet_strength", "carnet_known_by", "carnet_relationship_owner")
WRITTEN = {  # object -> fields Carnet writes there (what the privacy scan reads)
    ("salesforce", "Contact"): (*SF_FIELDS, "Carnet_Last_Interaction__c"),
    ("salesforce", "Account"): ("Carnet_Coverage__c", "Carnet_Single_Threaded__c"),
    ("salesforce", "Opportunity"): ("Carnet_Referrer__c",),
    ("salesforce", "Note"): ("Title", "Body"),
    ("hubspot", "contacts"): (*HS_FIELDS, "carnet_last_interaction"),
    ("hubspot", "companies"): ("carnet_coverage", "carnet_single_threaded"),
    ("hubspot", "deals"): ("carnet_referrer",),
    ("hubspot", "notes"): ("hs_note_body",),
}


def private_config(sandbox: Sandbox, folder: Path, **changes: dict[str, Any]) -> Path:
    """The sandbox's config, secrets and CA copied into `folder` (its store goes there too);
    `changes` updates source sections, e.g. salesforce={"api_budget_share": 0.001}."""
    src = Path(sandbox.config_file).parent
    shutil.copytree(src / "secrets", folder / "secrets", dirs_exist_ok=True)
    shutil.copy(src / "ca.pem", folder / "ca.pem")
    yaml = YAML()
    doc = yaml.load(Path(sandbox.config_file).read_text())
    doc["database_url"] = "sqlite:///carnet.db"
    for source, values in changes.items():
        doc["sources"][source].update(values)
    config = folder / "config.yaml"
    with config.open("w") as out:
        yaml.dump(doc, out)
    return config


def carnet(config: Path, *args: str, check: bool = True) -> Any:
    """`carnet --config CONFIG ARGS...`: the parsed --json document (or the completed process
    when the command takes no --json); exit codes 0 and 1 are answers, 2 fails the test."""
    r = run_carnet("--config", str(config), *args, env={"COLUMNS": "200"})
    if check:
        assert r.returncode in (0, 1), f"carnet {' '.join(args)}: {r.returncode}\n{r.stderr}"
    return json.loads(r.stdout) if "--json" in args and r.returncode in (0, 1) else r


def records(sandbox: Sandbox, source: str, obj: str) -> dict[str, dict[str, Any]]:
    """Every live record of `obj` by id; HubSpot records as their properties."""
    rows = admin(sandbox, source, "GET", f"/__sandbox/records/{obj}").json()
    if source == "hubspot":
        return {str(r["id"]): dict(r.get("properties") or {}) for r in rows}
    return {str(r["Id"]): r for r in rows}


def total_calls(sandbox: Sandbox, source: str) -> int:
    return int(admin(sandbox, source, "GET", "/__sandbox/stats").json()["total"])


def write_calls(sandbox: Sandbox, source: str) -> dict[str, int]:
    calls = admin(sandbox, source, "GET", "/__sandbox/stats").json()["calls"]
    return {
        route: n
        for route, n in calls.items()
        if not route.startswith("GET") and "search" not in route
    }


def marker_notes(sandbox: Sandbox) -> dict[str, list[str]]:
    """'<source> <account id>' -> ids of notes carrying that account's plan marker."""
    found: dict[str, list[str]] = defaultdict(list)
    for nid, note in records(sandbox, "salesforce", "Note").items():
        title = str(note.get("Title") or "")
        if title.startswith("[carnet:plan:"):
            found["salesforce " + title.split("]")[0].removeprefix("[carnet:plan:")].append(nid)
    for nid, props in records(sandbox, "hubspot", "notes").items():
        body = str(props.get("hs_note_body") or "")
        if "[carnet:plan:" in body:
            parent = body.split("[carnet:plan:", 1)[1].split("]")[0]
            found["hubspot " + parent].append(nid)
    return dict(found)


def expected_contacts(store: Path) -> dict[tuple[str, str], tuple[int | None, str | None]]:
    """(source, contact id) -> (strongest strength, known-by text) from the store: relationships
    that are not private (the config's default is discoverable, scope company) of active
    members, strongest first, then the most recent interaction, then the oldest."""
    engine = create_engine(f"sqlite:///{store}")
    q = text(
        "SELECT l.source, l.external_id, m.name, r.rating, r.score, r.last_interaction_at, r.id, "
        "coalesce(r.shareability, 'discoverable') "
        "FROM source_link l JOIN relationship r ON r.person_id = l.entity_id "
        "JOIN member m ON m.id = r.member_id "
        "WHERE l.entity = 'person' AND l.source IN ('salesforce', 'hubspot') "
        "AND l.object IN ('Contact', 'contacts') "
        "AND l.deleted_at IS NULL AND l.merged_into IS NULL AND m.active "
        "AND coalesce(r.shareability, 'discoverable') != 'private'"
    )
    with engine.connect() as conn:
        rows = list(conn.execute(q))
        links = list(conn.execute(text(
            "SELECT source, external_id FROM source_link WHERE entity = 'person' "
            "AND source IN ('salesforce', 'hubspot') "
            "AND object IN ('Contact', 'contacts') AND deleted_at IS NULL AND merged_into IS NULL"
        )))  # fmt: skip
    engine.dispose()
    by_contact: dict[tuple[str, str], list[tuple[int, float, str, int]]] = defaultdict(list)
    for source, ext, name, rating, score, last, rid, share in rows:
        strength = rating if rating is not None else (None if score is None else int(score + 0.5))
        # the last interaction is part of a relationship shown in full only (shared)
        at = datetime.fromisoformat(str(last)).timestamp() if last and share == "shared" else 0.0
        by_contact[(source, ext)].append((strength or 0, at, name, rid))
    out: dict[tuple[str, str], tuple[int | None, str | None]] = {
        (s, e): (None, None) for s, e in links
    }
    for key, rels in by_contact.items():
        rels.sort(key=lambda r: (-r[0], -r[1], r[3]))
        known = "; ".join(f"{n} ({s})" if s else n for s, _, n, _ in rels)
        out[key] = (max(r[0] for r in rels) or None, known or None)
    return out


def crm_contacts(sandbox: Sandbox) -> dict[tuple[str, str], tuple[Any, Any]]:
    """(source, contact id) -> (strength, known-by) as the CRM holds them now."""
    out: dict[tuple[str, str], tuple[Any, Any]] = {}
    for cid, rec in records(sandbox, "salesforce", "Contact").items():
        value = rec.get("Carnet_Strength__c")
        out[("salesforce", cid)] = (
            None if value is None else int(value),
            rec.get("Carnet_Known_By__c"),
        )
    for cid, props in records(sandbox, "hubspot", "contacts").items():
        value = props.get("carnet_strength")
        out[("hubspot", cid)] = (
            None if value in (None, "") else int(float(value)),
            props.get("carnet_known_by") or None,
        )
    return out


def assert_contacts_hold(sandbox: Sandbox, store: Path) -> None:
    want = expected_contacts(store)
    have = crm_contacts(sandbox)
    wrong = {k: (v, have.get(k)) for k, v in want.items() if have.get(k) != v}
    assert not wrong, f"{len(wrong)} contacts differ, e.g. {list(wrong.items())[:3]}"
    assert sum(1 for v in want.values() if v[0]) > 50  # the check is about something
