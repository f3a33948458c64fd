"""What the campaign end-to-end tests share (no tests here): Carnet on a private copy of the
sandbox's config (the campaign owner one of its managers), synced once; reps and the people they
know who have exactly one contact in each CRM; and what the stand-ins hold of each campaign."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from connector.core.records_campaigns import campaign_marker
from sandbox.runner import Sandbox
from tests.e2e.test_writeback import query
from tests.e2e.test_writeback_world import carnet, private_config, records
from tests.sandbox_fixture import admin


@dataclass(frozen=True)
class Guest:
    """A person a rep knows, with their one Salesforce Contact and one HubSpot contact."""

    rep: str  # the holder's email
    email: str
    name: str
    contact: str  # Salesforce Contact Id
    hs_contact: str  # HubSpot contact id


def synced_carnet(sandbox: Sandbox, folder: Path) -> tuple[Path, Path]:
    """A config of its own (store in `folder`), installed and synced once; (config, store)."""
    config = private_config(sandbox, folder)
    carnet(config, "init", "--json")
    assert carnet(config, "install").returncode == 0
    carnet(config, "sync", "--json")
    return config, folder / "carnet.db"


def make_manager(config: Path, email: str) -> None:
    """`email` becomes one of the web section's managers: a campaign owner."""
    yaml = YAML()
    doc = yaml.load(config.read_text(encoding="utf-8"))
    doc["web"]["managers"] = [email]
    with config.open("w", encoding="utf-8") as out:
        yaml.dump(doc, out)


def guests(store: Path, n: int, distinct_reps: bool = False) -> list[Guest]:
    """n people, each known by an active member (their holder) and held exclusively by no one
    else, with one live contact in each CRM; with `distinct_reps`, each known by another rep."""
    rows = query(
        store,
        "SELECT m.email, pe.email, p.name, sf.external_id, hs.external_id "
        "FROM relationship r JOIN member m ON m.id = r.member_id AND m.active "
        "JOIN person p ON p.id = r.person_id "
        "AND p.deleted_at IS NULL AND p.merged_into_id IS NULL "
        "JOIN person_email pe ON pe.person_id = p.id "
        "JOIN source_link sf ON sf.entity = 'person' AND sf.entity_id = p.id "
        "AND sf.source = 'salesforce' AND sf.object = 'Contact' "
        "AND sf.deleted_at IS NULL AND sf.merged_into IS NULL "
        "JOIN source_link hs ON hs.entity = 'person' AND hs.entity_id = p.id "
        "AND hs.source = 'hubspot' AND hs.object = 'contacts' "
        "AND hs.deleted_at IS NULL AND hs.merged_into IS NULL "
        "WHERE (SELECT count(*) FROM source_link l WHERE l.entity = 'person' "
        "  AND l.entity_id = p.id AND l.source IN ('salesforce', 'hubspot') "
        "  AND l.object IN ('Contact', 'contacts') "
        "  AND l.deleted_at IS NULL AND l.merged_into IS NULL) = 2 "
        "AND NOT EXISTS (SELECT 1 FROM relationship x WHERE x.person_id = p.id "
        "  AND x.exclusive AND x.member_id != r.member_id) "
        "AND (SELECT count(*) FROM person_email e WHERE e.person_id = p.id) = 1 "
        "ORDER BY p.id, r.id",
    )
    found: list[Guest] = []
    people: set[str] = set()
    reps: set[str] = set()
    for rep, email, name, sf, hs in rows:
        if email in people or (distinct_reps and rep in reps):
            continue
        people.add(email)
        reps.add(rep)
        found.append(Guest(rep, email, name, sf, hs))
        if len(found) == n:
            return found
    raise AssertionError(f"the sandbox has {len(found)} such people, not {n}")


def members_knowing_none(store: Path, people: list[str], n: int) -> list[str]:
    """n active members (reps: they know someone) who hold no relationship to any of `people`
    (emails)."""
    rows = query(
        store,
        "SELECT m.email FROM member m WHERE m.active AND m.email IS NOT NULL "
        "AND EXISTS (SELECT 1 FROM relationship o WHERE o.member_id = m.id) "
        "AND NOT EXISTS (SELECT 1 FROM relationship r JOIN person_email pe "
        "  ON pe.person_id = r.person_id WHERE r.member_id = m.id "
        f"  AND pe.email IN ({', '.join(repr(p) for p in people)})) "
        "ORDER BY m.id",
    )
    emails = [str(r[0]) for r in rows]
    assert len(emails) >= n
    return emails[:n]


# -- what the stand-ins hold ----------------------------------------------------------------------


def sf_campaigns(sandbox: Sandbox, campaign_id: int) -> list[dict[str, Any]]:
    """The Salesforce Campaigns carrying the campaign's marker."""
    marker = campaign_marker(campaign_id)
    found = records(sandbox, "salesforce", "Campaign").values()
    return [c for c in found if marker in str(c.get("Description") or "")]


def sf_members(sandbox: Sandbox, campaign_ref: str) -> list[tuple[str, str]]:
    """(ContactId, Status) of every CampaignMember of the campaign, duplicates kept."""
    rows = records(sandbox, "salesforce", "CampaignMember").values()
    return sorted(
        (str(r["ContactId"]), str(r["Status"])) for r in rows if r["CampaignId"] == campaign_ref
    )


def hs_lists(sandbox: Sandbox, campaign_id: int) -> list[dict[str, Any]]:
    """The HubSpot lists whose name carries the campaign's marker, with their member ids."""
    marker = campaign_marker(campaign_id)
    found = admin(sandbox, "hubspot", "GET", "/__sandbox/records/lists").json()
    return [x for x in found if str(x["name"]).endswith(marker)]


def write_calls(sandbox: Sandbox) -> dict[str, dict[str, int]]:
    """Per CRM, the calls that change something (reads, searches and logins aside)."""
    out = {}
    for source in ("salesforce", "hubspot"):
        calls = admin(sandbox, source, "GET", "/__sandbox/stats").json()["calls"]
        out[source] = {
            route: n
            for route, n in calls.items()
            if not route.startswith("GET") and "search" not in route and "oauth2/token" not in route
        }
    return out
