"""The HubSpot side of the peer loader (bench/peer_dlt.py), without dlt: the objects of Carnet's
HubSpot mapping with the properties and associations Carnet's adapter asks for, read with
hubspot-api-client the plain way (a list of 100 a page, live then archived; owners 500 a page),
each row flattened to its id, its properties and its associations. Answers of 429 are waited out
(HubSpot's ten-second window; the stand-in keeps it too), as a peer without pacing must."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Iterator
from typing import Any

from hubspot import HubSpot

from adapters.hubspot.api import API_ERRORS  # each API of the client raises its own ApiException
from adapters.hubspot.pull import wanted_props
from connector.core.config import load_config
from mappings.loader import load_mapping, mapping_path
from mappings.schema import Mapping

LIMIT, OWNERS_LIMIT = 100, 500
RATE_LIMITED = 429
WAIT_S = 1.0
TIMEOUT_S = 60
Row = dict[str, Any]


def hubspot_mapping(config: str) -> tuple[Any, Mapping]:
    settings = load_config(config).sources.hubspot
    if settings is None:
        raise SystemExit(f"{config} has no HubSpot source")
    return settings, load_mapping(mapping_path("hubspot", settings.mapping), "hubspot")


def client(settings: Any) -> HubSpot:
    options = {"access_token": settings.secret("token"), "host": str(settings.base_url)}
    if settings.ca_file:
        options["ssl_ca_cert"] = str(settings.ca_file)
    return HubSpot(**options)


def call(fn: Callable[..., Any], *args: Any, **kw: Any) -> Row:
    """`fn`'s JSON answer, waiting out rate limits (from any of the APIs: a 429 of the pipelines'
    API stopped a run when only the objects' exception was caught)."""
    while True:
        try:
            resp = fn(*args, _preload_content=False, _request_timeout=TIMEOUT_S, **kw)
        except API_ERRORS as exc:
            if exc.status != RATE_LIMITED:
                raise
            time.sleep(WAIT_S)
            continue
        if resp.status == RATE_LIMITED:
            time.sleep(WAIT_S)
            continue
        body: Row = json.loads(resp.data)
        return body


def property_names(hs: HubSpot) -> Callable[[str], list[str]]:
    api = hs.crm.properties.core_api

    def names(obj: str) -> list[str]:
        if obj == "owners":
            return []
        return [p["name"] for p in call(api.get_all_with_http_info, obj)["results"]]

    return names


def mapped_props(
    mapping: Mapping, describe: Callable[[str], Collection[str]]
) -> dict[str, tuple[list[str], list[str]]]:
    """Per object: (the properties Carnet's adapter asks for, the associations it reads)."""
    out = {}
    for obj in mapping.objects:
        available = list(describe(obj)) if mapping.optional_fields(obj) else None
        spec = mapping.spec(obj, available=available)
        out[obj] = (wanted_props(spec), list(spec.associations))
    return out


def flat(row: Row, archived: bool) -> Row:
    """A row as one level of columns (an owner's fields are its own, an object's its
    properties), its associations nested."""
    fields = row.get("properties", row)
    out = {**fields, "id": row["id"], "archived": archived}
    if row.get("associations"):
        out["associations"] = row["associations"]
    return out


def pages(hs: HubSpot, obj: str, props: list[str], assocs: list[str]) -> Iterator[list[Row]]:
    """Every live then archived row of `obj`, a page at a time."""
    owners = obj == "owners"
    api = hs.crm.owners.owners_api if owners else hs.crm.objects.basic_api
    for archived in (False, True):
        after = None
        while True:
            if owners:
                body = call(
                    api.get_page_with_http_info, after=after, limit=OWNERS_LIMIT, archived=archived
                )
            else:
                body = call(
                    api.get_page_with_http_info, obj, limit=LIMIT, after=after, properties=props,
                    associations=(assocs or None) if not archived else None, archived=archived,
                )  # fmt: skip
            yield [flat(r, archived) for r in body.get("results") or []]
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if after is None:
                break
    if obj == "deals":  # the stage's open/won/lost, as Carnet reads it
        call(hs.crm.pipelines.pipelines_api.get_all_with_http_info, "deals")


def tables(config: str) -> list[tuple[str, str, Iterator[list[Row]]]]:
    """(table, primary key, pages) per mapped object, for the peer loader."""
    settings, mapping = hubspot_mapping(config)
    hs = client(settings)
    wanted = mapped_props(mapping, property_names(hs))
    return [(obj, "id", pages(hs, obj, p, a)) for obj, (p, a) in wanted.items()]
