"""The Salesforce side of the peer loader (bench/peer_dlt.py), without dlt: the objects and fields
Carnet's adapter pulls, a simple-salesforce session got the way Carnet's adapter gets one
(adapters/salesforce/auth.py: the OAuth token request with the config's client credentials, over
the config's CA), and an object's rows page by page (queryAll, then nextRecordsUrl)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from typing import Any

import requests
from simple_salesforce import Salesforce

from adapters.salesforce.records import select_fields
from connector.core.config import load_config
from mappings.loader import load_mapping, mapping_path
from mappings.schema import Mapping

TIMEOUT_S = 60


def salesforce_mapping(config: str) -> tuple[Any, Mapping]:
    """The config's Salesforce settings and the mapping they name."""
    settings = load_config(config).sources.salesforce
    if settings is None:
        raise SystemExit(f"{config} has no Salesforce source")
    return settings, load_mapping(mapping_path("salesforce", settings.mapping), "salesforce")


def mapped_fields(
    mapping: Mapping, describe: Callable[[str], Collection[str]]
) -> dict[str, list[str]]:
    """Per object, in the mapping's order, the fields Carnet's adapter SELECTs: the mapping's
    fields (optional and outbound ones only where `describe(obj)` names them, and only asked for
    objects that have any) plus Id, SystemModstamp, IsDeleted and MasterRecordId."""
    out = {}
    for obj in mapping.objects:
        available = list(describe(obj)) if mapping.optional_fields(obj) else None
        out[obj] = select_fields(mapping.spec(obj, available=available))
    return out


def login(settings: Any) -> Salesforce:
    """A simple-salesforce client on a session from the token endpoint (client credentials)."""
    http = requests.Session()
    http.trust_env = False
    http.verify = str(settings.ca_file) if settings.ca_file else True
    form = {
        "grant_type": "client_credentials",
        "client_id": settings.client_id,
        "client_secret": settings.secret("client_secret"),
    }
    resp = http.post(f"{settings.login_url}/services/oauth2/token", data=form, timeout=TIMEOUT_S)
    resp.raise_for_status()
    body = resp.json()
    return Salesforce(
        instance_url=body["instance_url"],
        session_id=body["access_token"],
        session=http,
        version=settings.api_version,
    )


def describe_names(sf: Salesforce) -> Callable[[str], list[str]]:
    def names(obj: str) -> list[str]:
        return [f["name"] for f in getattr(sf, obj).describe()["fields"]]

    return names


def pages(sf: Salesforce, obj: str, fields: list[str]) -> Iterator[list[dict[str, Any]]]:
    """Every row of `obj`, deleted ones too, a page (a list of rows) at a time."""
    body = sf.query(f"SELECT {', '.join(fields)} FROM {obj}", include_deleted=True)
    while True:
        yield [{k: v for k, v in r.items() if k != "attributes"} for r in body["records"]]
        if body["done"]:
            return
        body = sf.query_more(body["nextRecordsUrl"], identifier_is_url=True, include_deleted=True)


def tables(config: str) -> list[tuple[str, str, Iterator[list[dict[str, Any]]]]]:
    """(table, primary key, pages) per mapped object, for the peer loader."""
    settings, mapping = salesforce_mapping(config)
    sf = login(settings)
    wanted = mapped_fields(mapping, describe_names(sf))
    return [(obj.lower(), "Id", pages(sf, obj, fields)) for obj, fields in wanted.items()]
