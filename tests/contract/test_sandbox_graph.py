"""Contract tests of the Graph stand-in's resources, driven through plain requests over TLS with
an msal token: users, contact folders, contacts and contact delta (see graph_fixtures.py).
"""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import Callable
from typing import Any

import pytest
import requests

from sandbox.graph import GraphStandIn
from sandbox.server import Served
from tests.contract.graph_fixtures import (
    ANN,
    BOB,
    CONTACT_KEYS,
    GRAPH_SCOPE,
    _admin,
    _follow,
    _get,
    _msal_app,
    install_fixtures,
    small_world,
)

tls, start, graph, http, token = install_fixtures()


# -- Graph: users -------------------------------------------------------------------------------
def test_users_default_shape_paging_and_lookup(
    graph: Served, http: requests.Session, token: str
) -> None:
    pages = _follow(http, graph, "/v1.0/users", token, {"$top": "1"})
    users = [u for page in pages for u in page["value"]]
    assert len(pages) == 2 and {u["mail"] for u in users} == {ANN, BOB}  # no mailbox, no user
    assert "$skiptoken=" in pages[0]["@odata.nextLink"]
    assert set(users[0]) == {
        "businessPhones",
        "displayName",
        "givenName",
        "jobTitle",
        "mail",
        "mobilePhone",
        "officeLocation",
        "preferredLanguage",
        "surname",
        "userPrincipalName",
        "id",
    }
    by_upn = _get(http, graph, f"/v1.0/users/{ANN}", token).json()
    by_id = _get(http, graph, f"/v1.0/users/{by_upn['id']}", token).json()
    assert by_upn["id"] == by_id["id"] and by_id["displayName"] == "Ann Lee"


def test_users_select_and_filter(graph: Served, http: requests.Session, token: str) -> None:
    params = {"$select": "id,mail,department,accountEnabled,country", "$filter": f"mail eq '{BOB}'"}
    body = _get(http, graph, "/v1.0/users", token, params).json()
    assert body["value"] == [
        {
            "id": body["value"][0]["id"],
            "mail": BOB,
            "accountEnabled": False,
            "department": "NA Mid-Market",
            "country": "US",
        }
    ]
    enabled = _get(http, graph, "/v1.0/users", token, {"$filter": "accountEnabled eq true"})
    assert [u["mail"] for u in enabled.json()["value"]] == [ANN]
    starts = _get(http, graph, "/v1.0/users", token, {"$filter": "startswith(displayName,'bo')"})
    assert [u["mail"] for u in starts.json()["value"]] == [BOB]


@pytest.mark.parametrize(
    "path, params, status, code",
    [
        ("/v1.0/users", {"$top": "1000"}, 400, "Request_UnsupportedQuery"),
        ("/v1.0/users", {"$top": "0"}, 400, "Request_UnsupportedQuery"),
        ("/v1.0/users", {"$filter": "mail ne 'x'"}, 400, "Request_UnsupportedQuery"),
        ("/v1.0/users", {"$select": "id,shoeSize"}, 400, "Request_BadRequest"),
        ("/v1.0/users/nobody@acme.test", {}, 404, "Request_ResourceNotFound"),
        ("/v1.0/users/nobody@acme.test/contacts", {}, 404, "ErrorInvalidUser"),
        (f"/v1.0/users/{ANN}/contactFolders/AQMkAnope", {}, 404, "ErrorItemNotFound"),
        (f"/v1.0/users/{ANN}/contacts/AAMkAnope", {}, 404, "ErrorItemNotFound"),
        (f"/v1.0/users/{ANN}/contacts", {"$select": "shoeSize"}, 400, "RequestBroker--ParseUri"),
        ("/v1.0/groups", {}, 400, "BadRequest"),
        ("/v1.0/users", {"$skiptoken": "bogus"}, 400, "Request_BadRequest"),
        ("/v1.0/users", {"$orderby": "displayName"}, 400, "BadRequest"),
        (f"/v1.0/users/{ANN}/contacts", {"$filter": "surname eq 'x'"}, 400, "BadRequest"),
        (f"/v1.0/users/{ANN}/contacts", {"$top": "0"}, 400, "BadRequest"),
    ],
)
def test_graph_errors_have_graph_shape(
    graph: Served,
    http: requests.Session,
    token: str,
    path: str,
    params: dict[str, str],
    status: int,
    code: str,
) -> None:
    resp = _get(http, graph, path, token, params, **{"client-request-id": "abc-123"})
    error = resp.json()["error"]
    assert resp.status_code == status and error["code"] == code, resp.text
    assert error["message"] and error["innerError"]["client-request-id"] == "abc-123"
    assert resp.headers["client-request-id"] == "abc-123" and resp.headers["request-id"]


# -- Graph: contacts and folders ---------------------------------------------------------------
def test_contacts_page_ten_by_default_and_only_the_default_folder(
    graph: Served, http: requests.Session, token: str
) -> None:
    pages = _follow(http, graph, f"/v1.0/users/{ANN}/contacts", token)
    assert [len(p["value"]) for p in pages] == [10, 10, 5]
    assert "$skip=10" in pages[0]["@odata.nextLink"]
    contacts = [c for p in pages for c in p["value"]]
    assert len({c["id"] for c in contacts}) == 25
    first = contacts[0]
    assert set(first) == CONTACT_KEYS and first["@odata.etag"] == f'W/"{first["changeKey"]}"'
    assert first["emailAddresses"][0]["address"].endswith(".test")
    assert first["displayName"] == f"{first['givenName']} Surname"
    assert len({c["parentFolderId"] for c in contacts}) == 1


@pytest.mark.parametrize(
    "params, prefer, sizes, applied",
    [
        ({"$top": "20"}, None, [20, 5], None),
        ({}, "odata.maxpagesize=15", [15, 10], "odata.maxpagesize=15"),
        ({}, "odata.maxpagesize=5000", [25], "odata.maxpagesize=1000"),
        ({"$top": "5000"}, None, [25], None),
        ({"$select": "displayName", "$top": "12"}, None, [12, 12, 1], None),
    ],
)
def test_contacts_page_size(
    graph: Served,
    http: requests.Session,
    token: str,
    params: dict[str, str],
    prefer: str | None,
    sizes: list[int],
    applied: str | None,
) -> None:
    headers = {"Prefer": prefer} if prefer else {}
    path = f"/v1.0/users/{ANN}/contacts"
    first = _get(http, graph, path, token, params, **headers)
    assert first.headers.get("Preference-Applied") == applied
    pages = _follow(http, graph, path, token, params, **headers)
    assert [len(p["value"]) for p in pages] == sizes
    if "$select" in params:
        assert set(pages[0]["value"][0]) == {"@odata.etag", "id", "displayName"}


def test_contact_folders_children_and_their_contacts(
    graph: Served, http: requests.Session, token: str
) -> None:
    base = f"/v1.0/users/{ANN}"
    default_id = _get(http, graph, f"{base}/contacts", token).json()["value"][0]["parentFolderId"]
    folders = _get(http, graph, f"{base}/contactFolders", token).json()["value"]
    assert [(f["displayName"], f["parentFolderId"]) for f in folders] == [("Clients", default_id)]
    clients = folders[0]["id"]
    children = _get(http, graph, f"{base}/contactFolders/{clients}/childFolders", token).json()
    assert [f["displayName"] for f in children["value"]] == ["Key accounts"]
    one = _get(http, graph, f"{base}/contactFolders/{clients}", token).json()
    assert one["displayName"] == "Clients" and one["id"] == clients
    in_clients = _get(http, graph, f"{base}/contactFolders/{clients}/contacts", token).json()
    assert len(in_clients["value"]) == 3
    assert {c["parentFolderId"] for c in in_clients["value"]} == {clients}
    one_contact = in_clients["value"][0]
    got = _get(http, graph, f"{base}/contacts/{one_contact['id']}", token).json()
    assert got["id"] == one_contact["id"] and got["changeKey"] == one_contact["changeKey"]
    default = _get(
        http, graph, f"{base}/contactFolders/{default_id}/contacts", token, {"$top": "100"}
    ).json()
    assert len(default["value"]) == 25


# -- Graph: contact delta -----------------------------------------------------------------------
def _folder_ids(http: requests.Session, served: Served, token: str) -> tuple[str, str]:
    """(default Contacts folder id, Clients folder id) of Ann's mailbox."""
    base = f"/v1.0/users/{ANN}"
    clients = _get(http, served, f"{base}/contactFolders", token).json()["value"][0]
    return clients["parentFolderId"], clients["id"]


def _delta_round(
    http: requests.Session,
    served: Served,
    token: str,
    url: str,
    params: dict[str, str] | None = None,
    page: int = 4,
) -> tuple[list[dict[str, Any]], str, int]:
    """Follow one delta round: (items, deltaLink, number of pages)."""
    pages = _follow(http, served, url, token, params, Prefer=f"odata.maxpagesize={page}")
    assert all("$skiptoken=" in p["@odata.nextLink"] for p in pages[:-1])
    assert "@odata.nextLink" not in pages[-1] and "$deltatoken=" in pages[-1]["@odata.deltaLink"]
    return [i for p in pages for i in p["value"]], pages[-1]["@odata.deltaLink"], len(pages)


def test_delta_initial_round_then_only_changes(
    graph: Served, http: requests.Session, token: str
) -> None:
    default_id, clients_id = _folder_ids(http, graph, token)
    url = f"/v1.0/users/{ANN}/contactFolders/{default_id}/contacts/delta"
    items, delta_link, pages = _delta_round(
        http, graph, token, url, {"$select": "displayName,emailAddresses"}
    )
    assert pages == 7 and len({i["id"] for i in items}) == 25
    assert set(items[0]) == {"@odata.type", "@odata.etag", "id", "displayName", "emailAddresses"}
    assert items[0]["@odata.type"] == "#microsoft.graph.contact"

    changed, gone, moved = items[0]["id"], items[1]["id"], items[2]["id"]
    _admin(http, graph, "POST", "/records/contacts", {"id": changed, "displayName": "Renamed"})
    _admin(http, graph, "DELETE", f"/records/contacts/{gone}")
    _admin(http, graph, "POST", "/records/contacts", {"id": moved, "parentFolderId": clients_id})
    created = _admin(
        http,
        graph,
        "POST",
        "/records/contacts",
        {
            "_mailbox": ANN,
            "givenName": "New",
            "surname": "Person",
            "emailAddresses": [{"name": "New Person", "address": "new@client.test"}],
        },
    ).json()

    changes, next_link, _ = _delta_round(http, graph, token, delta_link)
    by_id = {i["id"]: i for i in changes}
    assert set(by_id) == {changed, gone, moved, created["id"]}
    assert by_id[changed]["displayName"] == "Renamed"
    assert set(by_id[changed]) == set(items[0])  # $select of the first call still applies
    assert by_id[created["id"]]["displayName"] == "New Person"
    for removed in (gone, moved):
        assert by_id[removed] == {
            "@odata.type": "#microsoft.graph.contact",
            "id": removed,
            "@removed": {"reason": "deleted"},
        }
    quiet, _, _ = _delta_round(http, graph, token, next_link)
    assert quiet == []
    clients_url = f"/v1.0/users/{ANN}/contactFolders/{clients_id}/contacts/delta"
    clients_items, _, _ = _delta_round(http, graph, token, clients_url)
    assert moved in {i["id"] for i in clients_items} and len(clients_items) == 4


def test_delta_item_changed_during_a_round_comes_again(
    graph: Served, http: requests.Session, token: str
) -> None:
    default_id, _ = _folder_ids(http, graph, token)
    url = f"/v1.0/users/{ANN}/contactFolders/{default_id}/contacts/delta"
    first = _get(http, graph, url, token, Prefer="odata.maxpagesize=5").json()
    seen = first["value"][0]["id"]
    _admin(http, graph, "POST", "/records/contacts", {"id": seen, "jobTitle": "CEO"})
    rest = _follow(http, graph, first["@odata.nextLink"], token, Prefer="odata.maxpagesize=50")
    changes = _get(http, graph, rest[-1]["@odata.deltaLink"], token).json()
    assert [(i["id"], i["jobTitle"]) for i in changes["value"]] == [(seen, "CEO")]


def test_delta_page_size(
    tls: tuple[ssl.SSLContext, str], start: Callable[[GraphStandIn], Served], http: requests.Session
) -> None:
    served = start(GraphStandIn(small_world(), delta_max_page_size=12))
    token = _msal_app(served, http, "s").acquire_token_for_client(scopes=GRAPH_SCOPE)
    default_id, _ = _folder_ids(http, served, token["access_token"])
    url = f"/v1.0/users/{ANN}/contactFolders/{default_id}/contacts/delta"
    plain = _get(http, served, url, token["access_token"], {"$top": "20"})
    assert len(plain.json()["value"]) == 10 and "Preference-Applied" not in plain.headers
    big = _get(http, served, url, token["access_token"], Prefer="odata.maxpagesize=1000")
    assert len(big.json()["value"]) == 12
    assert big.headers["Preference-Applied"] == "odata.maxpagesize=12"


def _delta_link(http: requests.Session, served: Served, token: str) -> tuple[str, str]:
    """(a nextLink of a first round, the deltaLink that round ends with)."""
    default_id, _ = _folder_ids(http, served, token)
    url = f"/v1.0/users/{ANN}/contactFolders/{default_id}/contacts/delta"
    pages = _follow(http, served, url, token, Prefer="odata.maxpagesize=10")
    return pages[0]["@odata.nextLink"], pages[-1]["@odata.deltaLink"]


@pytest.mark.parametrize("how", ["admin", "time", "reset"])
def test_expired_delta_token_answers_410(
    start: Callable[[GraphStandIn], Served], http: requests.Session, how: str
) -> None:
    served = start(GraphStandIn(small_world(), delta_ttl_s=600))
    token = _msal_app(served, http, "s").acquire_token_for_client(scopes=GRAPH_SCOPE)
    next_link, delta_link = _delta_link(http, served, token["access_token"])
    if how == "admin":
        assert _admin(http, served, "POST", "/expire-delta").status_code == 200
    elif how == "time":
        served.standin.clock.offset += dt.timedelta(seconds=601)
    else:
        assert _admin(http, served, "POST", "/reset").status_code == 204
    for link in (next_link, delta_link):
        resp = _get(http, served, link, token["access_token"])
        assert resp.status_code == 410, resp.text
        assert resp.json()["error"]["code"] == "SyncStateNotFound"


def test_tampered_delta_token_is_refused(graph: Served, http: requests.Session, token: str) -> None:
    _, delta_link = _delta_link(http, graph, token)
    resp = _get(http, graph, delta_link.replace("$deltatoken=", "$deltatoken=zz"), token)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "ErrorInvalidSyncStateData"
