"""The credentials the sandbox's stand-ins accept, and the Carnet config that names them, with
its secrets in files beside it (`carnet sandbox serve` writes both; the stand-ins refuse anything
else, as the services do)."""

from __future__ import annotations

import random
import string
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from sandbox.oidc import web_section

SECRET_FILES = {
    "salesforce": "secrets/salesforce_client_secret",
    "hubspot": "secrets/hubspot_token",
    "graph": "secrets/graph_client_secret",
}


@dataclass(frozen=True)
class Credentials:
    """What the config hands the adapters: random-looking, the same for the same seed."""

    salesforce_client_id: str
    salesforce_client_secret: str
    hubspot_token: str
    graph_client_id: str
    graph_client_secret: str
    tenant_id: str

    @classmethod
    def for_seed(cls, seed: int) -> Credentials:
        rng = random.Random(f"carnet-sandbox-credentials:{seed}")
        alnum = string.ascii_letters + string.digits

        def pick(chars: str, n: int) -> str:
            return "".join(rng.choice(chars) for _ in range(n))

        def guid() -> str:
            return str(uuid.UUID(int=rng.getrandbits(128), version=4))

        return cls(
            salesforce_client_id="3MVG9" + pick(alnum + "._", 80),
            salesforce_client_secret=pick("0123456789ABCDEF", 64),
            hubspot_token=f"pat-na1-{guid()}",
            graph_client_id=guid(),
            graph_client_secret=pick(alnum, 3) + "8Q~" + pick(alnum + "_.~-", 34),
            tenant_id=guid(),
        )


def config_document(urls: dict[str, str], creds: Credentials) -> dict[str, Any]:
    """A complete Carnet config for the stand-ins; paths are relative to the config's folder."""
    return {
        "version": 1,
        "database_url": "sqlite:///carnet.db",  # CARNET_DATABASE_URL, when set, overrides it
        # the stand-ins' world has no reps to choose: its relationships are published at once
        # (a real install keeps the default grace period; docs/governance.md)
        "sharing": {
            "default": "discoverable",
            "scope": "company",
            "pilot_teams": [],
            "grace_days": 0,
        },
        "credits": {"percent": 10},
        "logging": {"level": "INFO", "format": "auto"},
        "sources": {
            "salesforce": {
                "enabled": True,
                "login_url": urls["salesforce"],  # the My Domain: client credentials work there
                "api_version": "59.0",
                "auth": "client_credentials",
                "client_id": creds.salesforce_client_id,
                "client_secret_file": SECRET_FILES["salesforce"],
                "ca_file": "ca.pem",
                "every": "5m",
            },
            "hubspot": {
                "enabled": True,
                "base_url": urls["hubspot"],
                "token_file": SECRET_FILES["hubspot"],
                "every": "5m",
            },
            "exchange": {
                "enabled": True,
                "authority": f"{urls['login']}/{creds.tenant_id}",
                "graph_url": urls["graph"],
                "client_id": creds.graph_client_id,
                "client_secret_file": SECRET_FILES["graph"],
                "ca_file": "ca.pem",
                "mailboxes": "all",
                "page_size": 1000,
                "every": "15m",
            },
        },
        "web": web_section(
            urls["login"], creds.tenant_id, creds.graph_client_id, SECRET_FILES["graph"]
        ),
    }


def write_config(path: Path, urls: dict[str, str], creds: Credentials, header: str) -> None:
    """Write the config and its secret files beside it (secrets readable by the owner only)."""
    secrets = {
        "salesforce": creds.salesforce_client_secret,
        "hubspot": creds.hubspot_token,
        "graph": creds.graph_client_secret,
    }
    for name, value in secrets.items():
        secret = path.parent / SECRET_FILES[name]
        secret.parent.mkdir(parents=True, exist_ok=True)
        secret.touch(mode=0o600, exist_ok=True)
        secret.chmod(0o600)
        secret.write_text(value + "\n", encoding="utf-8")
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 4096  # keep long ids on one line
    with path.open("w", encoding="utf-8") as out:
        out.write(header)
        yaml.dump(config_document(urls, creds), out)


def accepted(creds: Credentials) -> dict[str, dict[str, Any]]:
    """Each stand-in's options that make it accept these credentials (and refuse any other)."""
    return {
        "salesforce": {
            "client_id": creds.salesforce_client_id,
            "client_secret": creds.salesforce_client_secret,
        },
        "hubspot": {"tokens": [creds.hubspot_token]},
        "graph": {"clients": {creds.graph_client_id: creds.graph_client_secret}},
    }
