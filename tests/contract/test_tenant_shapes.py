"""The answer shapes a real tenant shows, on the session's sandbox through the real clients
(simple-salesforce, hubspot-api-client, msal): each one the vendors' own specifications give.

Salesforce queryAll's follow-up pages sit under /query/; HubSpot's v4 batch read gives
`toObjectId` as a string, its 207 batch errors carry `errors`, `links` and an object
`subCategory`, its OAuth-token calls come without the daily rate-limit headers, and a
`booleancheckbox` property needs its two options; Entra's tokens are RS256 and live 3599 s.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import msal
import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.associations.v4 import (
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicFetchAssociationsBatchRequest,
)
from hubspot.crm.objects import BatchReadInputSimplePublicObjectId, SimplePublicObjectId
from hubspot.crm.properties import ApiException, PropertyCreate
from simple_salesforce import Salesforce

from adapters.hubspot.adapter import HubSpotAdapter
from connector.core.config import HubSpotSource
from connector.core.records import FieldSpec
from sandbox.runner import Sandbox
from tests.contract.cases.hubspot import CASE as HS
from tests.sandbox_fixture import admin, admin_session

DAILY = ("X-HubSpot-RateLimit-Daily", "X-HubSpot-RateLimit-Daily-Remaining")
NOBODY = "999999999"  # an id no record has


@pytest.fixture
def http(fresh_sandbox: Sandbox) -> Iterator[requests.Session]:
    with admin_session(fresh_sandbox) as session:
        yield session


# -- Salesforce -----------------------------------------------------------------------------------
def salesforce(sandbox: Sandbox, http: requests.Session) -> Salesforce:
    creds = sandbox.credentials
    form = {"grant_type": "client_credentials", "client_id": creds.salesforce_client_id,
            "client_secret": creds.salesforce_client_secret}  # fmt: skip
    answer = http.post(f"{sandbox.salesforce.url}/services/oauth2/token", data=form, timeout=10)
    body = answer.json()
    return Salesforce(
        instance_url=body["instance_url"], session_id=body["access_token"], session=http,
        version="59.0",
    )  # fmt: skip


def test_query_all_follow_up_pages_are_under_query(
    fresh_sandbox: Sandbox, http: requests.Session
) -> None:
    sf = salesforce(fresh_sandbox, http)
    ids = sorted(r["Id"] for r in admin(fresh_sandbox, "salesforce", "GET",
                                         "/__sandbox/records/Task").json())  # fmt: skip
    admin(fresh_sandbox, "salesforce", "DELETE", f"/__sandbox/records/Task/{ids[-1]}")
    options = {"include_deleted": True, "headers": {"Sforce-Query-Options": "batchSize=200"}}
    first = sf.query("SELECT Id, IsDeleted FROM Task ORDER BY Id", **options)
    url = first["nextRecordsUrl"]
    assert "/query/" in url and "/queryAll/" not in url
    rest = sf.query_more(url, identifier_is_url=True, **options)
    rows = first["records"] + rest["records"]
    assert rest["done"] and len(rows) == first["totalSize"] == len(ids)
    assert rows[-1]["Id"] == ids[-1] and rows[-1]["IsDeleted"] is True  # still queryAll's rows


# -- HubSpot --------------------------------------------------------------------------------------
def hubspot(sandbox: Sandbox, token: str | None = None) -> HubSpot:
    return HubSpot(access_token=token or sandbox.credentials.hubspot_token,
                   host=sandbox.urls["hubspot"])  # fmt: skip


def contact_ids(client: HubSpot, n: int = 20) -> list[str]:
    return [c.id for c in client.crm.contacts.basic_api.get_page(limit=n).results]


def test_v4_batch_read_gives_string_ids_and_207_errors_in_their_shape(
    fresh_sandbox: Sandbox,
) -> None:
    client = hubspot(fresh_sandbox)
    inputs = [PublicFetchAssociationsBatchRequest(id=i) for i in [*contact_ids(client), NOBODY]]
    answer = client.crm.associations.v4.batch_api.get_page_with_http_info(
        "contacts", "companies",
        BatchInputPublicFetchAssociationsBatchRequest(inputs=inputs), _preload_content=False,
    )  # fmt: skip
    assert answer.status == 207
    body = json.loads(answer.data)
    links = [to for result in body["results"] for to in result["to"]]
    assert links and all(isinstance(to["toObjectId"], str) for to in links)
    (error,) = body["errors"]
    assert error["context"]["fromObjectId"] == [NOBODY]
    assert error["errors"] == [] and error["links"] == {}
    assert isinstance(error["subCategory"], dict)


def test_a_207_batch_read_deserialises_through_the_client_models(fresh_sandbox: Sandbox) -> None:
    client = hubspot(fresh_sandbox)
    known = contact_ids(client, 1)
    read = BatchReadInputSimplePublicObjectId(
        inputs=[SimplePublicObjectId(id=i) for i in [*known, NOBODY]],
        properties=["email"], properties_with_history=[],
    )  # fmt: skip
    got = client.crm.contacts.batch_api.read(read)  # the client checks the required keys
    assert [r.id for r in got.results] == known
    (error,) = got.errors
    assert error.category == "OBJECT_NOT_FOUND" and error.context == {"ids": [NOBODY]}
    assert (error.errors, error.links) == ([], {})


def oauth_token(sandbox: Sandbox) -> str:
    tokens = HubSpot(host=sandbox.urls["hubspot"]).oauth.tokens_api
    issued = tokens.create(
        grant_type="refresh_token", refresh_token="rt-1", client_id="id", client_secret="secret"
    )
    return str(issued.access_token)


def test_oauth_token_calls_come_without_the_daily_headers(
    fresh_sandbox: Sandbox, http: requests.Session, tmp_path: Path
) -> None:
    url = f"{fresh_sandbox.urls['hubspot']}/crm/v3/objects/contacts"
    headers: dict[str, Any] = {}
    for kind, token in (("private", fresh_sandbox.credentials.hubspot_token),
                        ("oauth", oauth_token(fresh_sandbox))):  # fmt: skip
        resp = http.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert resp.ok
        headers[kind] = resp.headers
    assert all(name in headers["private"] for name in DAILY)
    assert not any(name in headers["oauth"] for name in DAILY)
    assert "X-HubSpot-RateLimit-Remaining" in headers["oauth"]

    (tmp_path / "token").write_text(oauth_token(fresh_sandbox) + "\n")
    settings = HubSpotSource(base_url=fresh_sandbox.urls["hubspot"], token_file=tmp_path / "token")
    adapter = HubSpotAdapter(settings, settings.secret, sleep=lambda s: None)
    try:
        pages = list(adapter.pull(HS.spec("owners"), None, True))
        assert pages and adapter.usage().limit is None and adapter.usage().calls
    finally:
        adapter.close()


def test_a_booleancheckbox_property_needs_its_two_options(fresh_sandbox: Sandbox) -> None:
    properties = hubspot(fresh_sandbox).crm.properties.core_api
    bare = {"name": "carnet_flag", "label": "Flag", "type": "bool",
            "field_type": "booleancheckbox", "group_name": "companyinformation"}  # fmt: skip
    with pytest.raises(ApiException) as exc:
        properties.create("companies", PropertyCreate(**bare))
    assert exc.value.status == 400 and json.loads(exc.value.body)["category"] == "VALIDATION_ERROR"

    adapter = HS.adapter(fresh_sandbox)
    try:
        spec = FieldSpec("carnet_single_threaded", "bool", "Single-threaded")
        steps = adapter.ensure_fields("companies", [spec], HS.mapping.outbound.group)
    finally:
        adapter.close()
    assert [(s.name, s.action) for s in steps][-1] == ("carnet_single_threaded", "create")
    made = properties.get_by_name("companies", "carnet_single_threaded")
    assert made.field_type == "booleancheckbox"
    assert sorted((o.value, bool(o.label)) for o in made.options) == [
        ("false", True),
        ("true", True),
    ]


# -- Entra ----------------------------------------------------------------------------------------
def entra_app(sandbox: Sandbox, http: requests.Session, secret: str) -> Any:
    creds = sandbox.credentials
    return msal.ConfidentialClientApplication(
        creds.graph_client_id, client_credential=secret,
        authority=f"{sandbox.urls['login']}/{creds.tenant_id}", http_client=http,
        instance_discovery=False,
    )  # fmt: skip


def test_entra_tokens_are_rs256_and_live_3599_seconds(
    fresh_sandbox: Sandbox, http: requests.Session
) -> None:
    creds = fresh_sandbox.credentials
    result = entra_app(fresh_sandbox, http, creds.graph_client_secret).acquire_token_for_client(
        scopes=["https://graph.microsoft.com/.default"]
    )
    assert result["expires_in"] == 3599
    header = jwt.get_unverified_header(result["access_token"])
    assert header["alg"] == "RS256" and header["kid"]
    public = fresh_sandbox.graph.standin.entra.public_key_pem()  # type: ignore[attr-defined]
    claims = jwt.decode(
        result["access_token"], public, algorithms=["RS256"], audience="https://graph.microsoft.com"
    )
    assert claims["appid"] == creds.graph_client_id


def test_a_wrong_entra_secret_is_aadsts7000215(
    fresh_sandbox: Sandbox, http: requests.Session
) -> None:
    result = entra_app(fresh_sandbox, http, "not-the-secret").acquire_token_for_client(
        scopes=["https://graph.microsoft.com/.default"]
    )
    assert result["error"] == "invalid_client" and result["error_codes"] == [7000215]
