"""The hand-made world, fixtures and request helpers the Graph + Entra stand-in's contract tests
share, over TLS through msal and plain requests.

The msal construction in `_msal_app` is the one the Exchange adapter should copy: a requests
session with `trust_env = False` and `verify=<ca file>`, the authority `<url>/<tenant>`, and
`instance_discovery=False` (without it msal first asks login.microsoftonline.com about the host).
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator
from typing import Any

import msal
import pytest
import requests
import trustme

from sandbox.graph import GraphStandIn
from sandbox.server import Served, serve
from sandbox.world import AddressBookEntry, Member, World

GRAPH_SCOPE = ["https://graph.microsoft.com/.default"]
TENANT = "contoso.onmicrosoft.com"
ANN, BOB = "ann@acme.test", "bob@acme.test"
CONTACT_KEYS = {
    "@odata.etag",
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "categories",
    "parentFolderId",
    "birthday",
    "fileAs",
    "displayName",
    "givenName",
    "initials",
    "middleName",
    "nickName",
    "surname",
    "title",
    "yomiGivenName",
    "yomiSurname",
    "yomiCompanyName",
    "generation",
    "imAddresses",
    "jobTitle",
    "companyName",
    "department",
    "officeLocation",
    "profession",
    "businessHomePage",
    "assistantName",
    "manager",
    "homePhones",
    "mobilePhone",
    "businessPhones",
    "spouseName",
    "personalNotes",
    "children",
    "emailAddresses",
    "homeAddress",
    "businessAddress",
    "otherAddress",
}


# -- fixtures ---------------------------------------------------------------------------------
def small_world() -> World:
    members = [
        Member("m1", "Ann", "Lee", ANN, "EMEA Enterprise", "DE", "Account Executive"),
        Member("m2", "Bob", "Ray", BOB, "NA Mid-Market", "US", "Sales Manager", active=False),
        Member(
            "m3", "Cid", "Moe", "cid@acme.test", "EMEA Enterprise", "FR", "SDR", has_mailbox=False
        ),
    ]
    entries = [_entry(f"a{i}", "m1", "Contacts", i) for i in range(25)]
    entries += [_entry(f"c{i}", "m1", "Clients", i) for i in range(3)]
    entries += [_entry(f"k{i}", "m1", "Clients/Key accounts", i) for i in range(2)]
    entries += [_entry(f"b{i}", "m2", "Contacts", i) for i in range(3)]
    entries += [_entry("x0", "m3", "Contacts", 0)]  # no mailbox: not shown
    return World(seed=7, scale=0.01, members=members, address_books=entries)


def _entry(key: str, member: str, folder: str, i: int) -> AddressBookEntry:
    return AddressBookEntry(
        key=key,
        member_key=member,
        folder=folder,
        given_name=f"Given{key}",
        surname="Surname",
        emails=[f"{key}@client{i % 4}.test", f"{key}.alt@client.test"],
        company=f"Client {i % 4}",
        job_title="CFO",
        phone="+49 30 1234" if i % 2 else None,
        age_days=float(i),
    )


def tls_fixture(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, str]:
    ca = trustme.CA()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
    ca_file = tmp_path_factory.mktemp("graph-ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return ctx, str(ca_file)


def start_fixture(tls: tuple[ssl.SSLContext, str]) -> Iterator[Callable[[GraphStandIn], Served]]:
    """Serve stand-ins; all are stopped together at the end of the module (each stop waits for
    the server loop's 0.5 s poll, so stopping them one by one would cost that per test)."""
    running: list[Served] = []

    def _start(standin: GraphStandIn) -> Served:
        running.append(serve(standin, tls=tls[0]))
        return running[-1]

    yield _start
    stoppers = [threading.Thread(target=s.stop) for s in running]
    for thread in stoppers:
        thread.start()
    for thread in stoppers:
        thread.join()


def graph_fixture(start: Callable[[GraphStandIn], Served]) -> Served:
    return start(GraphStandIn(small_world()))


def http_fixture(tls: tuple[ssl.SSLContext, str]) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify otherwise
    session.verify = tls[1]
    return session


def _msal_app(
    served: Served, http: requests.Session, credential: Any, client_id: str = "carnet-app"
) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        client_id,
        client_credential=credential,
        authority=f"{served.url}/{TENANT}",
        http_client=http,
        instance_discovery=False,
    )


def token_fixture(graph: Served, http: requests.Session) -> str:
    result = _msal_app(graph, http, "s3cret").acquire_token_for_client(scopes=GRAPH_SCOPE)
    return str(result["access_token"])


def _get(
    http: requests.Session,
    served: Served,
    path: str,
    token: str | None,
    params: dict[str, str] | None = None,
    **headers: str,
) -> requests.Response:
    url = path if path.startswith("https://") else f"{served.url}{path}"
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return http.get(url, params=params, headers=headers, timeout=10)


def _follow(
    http: requests.Session,
    served: Served,
    path: str,
    token: str,
    params: dict[str, str] | None = None,
    **headers: str,
) -> list[dict[str, Any]]:
    """Every page of a collection until no nextLink; returns the pages' bodies."""
    pages, url = [], path
    while url:
        resp = _get(http, served, url, token, params if url == path else None, **headers)
        assert resp.status_code == 200, resp.text
        pages.append(resp.json())
        url = resp.json().get("@odata.nextLink")
    return pages


def _admin(
    http: requests.Session, served: Served, method: str, path: str, body: Any = None
) -> requests.Response:
    return http.request(method, f"{served.url}/__sandbox{path}", json=body, timeout=10)


def _user_id(http: requests.Session, served: Served, token: str, upn: str) -> str:
    return str(_get(http, served, f"/v1.0/users/{upn}", token).json()["id"])


def install_fixtures() -> tuple[Any, Any, Any, Any, Any]:
    """(tls, start, graph, http, token) fixtures for a test module to bind to those names."""
    return (
        pytest.fixture(scope="module", name="tls")(tls_fixture),
        pytest.fixture(scope="module", name="start")(start_fixture),
        pytest.fixture(name="graph")(graph_fixture),
        pytest.fixture(name="http")(http_fixture),
        pytest.fixture(name="token")(token_fixture),
    )
