"""`carnet install` on the sandbox: --dry-run shows the plan and creates nothing; it creates the
Salesforce custom fields and the HubSpot group and properties; run again it changes nothing; an
existing field of another type stops it with exit 2, naming the mapping file and line, before
anything is created."""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML

from mappings.loader import mapping_path
from sandbox.runner import Sandbox
from tests.e2e.test_writeback_world import carnet, private_config
from tests.sandbox_fixture import admin

CREATES = {
    "salesforce": "POST /services/data/v{version}/tooling/sobjects/CustomField",
    "hubspot": "POST /crm/v3/properties/{objectType}",
}
GROUPS = "POST /crm/v3/properties/{objectType}/groups"


def creations(sandbox: Sandbox) -> dict[str, int]:
    calls = {n: admin(sandbox, n, "GET", "/__sandbox/stats").json()["calls"] for n in CREATES}
    out = {n: calls[n].get(route, 0) for n, route in CREATES.items()}
    out["groups"] = calls["hubspot"].get(GROUPS, 0)
    return out


def described(sandbox: Sandbox) -> set[str]:
    """The Carnet fields a Contact and a HubSpot contact carry (as the admin records show)."""
    contact = admin(sandbox, "salesforce", "GET", "/__sandbox/records/Contact").json()[0]
    return {k for k in contact if k.startswith("Carnet_")}


def clashing_config(sandbox: Sandbox, folder: Path) -> Path:
    """A config whose HubSpot mapping writes text into carnet_strength (a number property)."""
    yaml = YAML()
    doc = yaml.load(mapping_path("hubspot", None).read_text())
    doc["outbound"]["objects"]["contacts"]["carnet_strength"] = {
        "value": "known_by", "type": "string", "label": "Known by (text)",
    }  # fmt: skip
    with (folder / "hubspot.yaml").open("w") as out:
        yaml.dump(doc, out)
    return private_config(sandbox, folder, hubspot={"mapping": "hubspot.yaml"})


def test_install_plans_creates_once_and_refuses_a_clash(
    fresh_sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox = fresh_sandbox
    config = private_config(sandbox, _mk(tmp_path / "plain"))
    carnet(config, "init", "--json")
    dry = carnet(config, "install", "--dry-run")
    assert dry.returncode == 0 and "would create" in dry.stdout
    assert creations(sandbox) == {"salesforce": 0, "hubspot": 0, "groups": 0}

    assert carnet(config, "install", "--source", "hubspot").returncode == 0
    assert creations(sandbox) == {"salesforce": 0, "hubspot": 11, "groups": 3}

    clash = clashing_config(sandbox, _mk(tmp_path / "clash"))
    carnet(clash, "init", "--json")
    refused = carnet(clash, "install", check=False)
    assert refused.returncode == 2
    assert "hubspot.yaml:" in refused.stderr and "carnet_strength" in refused.stderr
    assert "exists as number" in refused.stderr
    assert creations(sandbox) == {"salesforce": 0, "hubspot": 11, "groups": 3}
    assert described(sandbox) == set()

    assert carnet(config, "install").returncode == 0
    assert creations(sandbox) == {"salesforce": 11, "hubspot": 11, "groups": 3}
    assert len(described(sandbox)) == 5  # with the link to Carnet
    again = carnet(config, "install")
    assert again.returncode == 0 and "create" not in again.stdout
    assert creations(sandbox) == {"salesforce": 11, "hubspot": 11, "groups": 3}


def _mk(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder
