"""Contract tests of the Graph + Entra stand-in, driven through msal and plain requests over TLS.

The msal construction in `_msal_app` is the one the Exchange adapter should copy: a requests
session with `trust_env = False` and `verify=<ca file>`, the authority `<url>/<tenant>`, and
`instance_discovery=False` (without it msal first asks login.microsoftonline.com about the host).
"""

from __future__ import annotations

import datetime as dt
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import msal
import pytest
import requests
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from adapters.sandbox.core import Served, serve
from adapters.sandbox.graph import GraphStandIn
from adapters.sandbox.world import AddressBookEntry, Member, World

GRAPH_SCOPE = ["https://graph.microsoft.com/.default"]
TENANT = "contoso.onmicrosoft.com"
ANN, BOB = "ann@acme.test", "bob@acme.test"


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


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, str]:
    ca = trustme.CA()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
    ca_file = tmp_path_factory.mktemp("graph-ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return ctx, str(ca_file)


@pytest.fixture(scope="module")
def start(tls: tuple[ssl.SSLContext, str]) -> Iterator[Callable[[GraphStandIn], Served]]:
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


@pytest.fixture
def graph(start: Callable[[GraphStandIn], Served]) -> Served:
    return start(GraphStandIn(small_world()))


@pytest.fixture
def http(tls: tuple[ssl.SSLContext, str]) -> requests.Session:
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


@pytest.fixture
def token(graph: Served, http: requests.Session) -> str:
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


# -- Entra: msal gets tokens --------------------------------------------------------------------
def test_msal_gets_a_token_with_a_client_secret(graph: Served, http: requests.Session) -> None:
    result = _msal_app(graph, http, "s3cret").acquire_token_for_client(scopes=GRAPH_SCOPE)
    assert result["token_type"] == "Bearer"
    assert result["expires_in"] == 3600 and result["ext_expires_in"] == 3600
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert claims["aud"] == "https://graph.microsoft.com" and claims["appid"] == "carnet-app"
    assert _get(http, graph, "/v1.0/users", result["access_token"]).status_code == 200
    calls = _admin(http, graph, "GET", "/stats").json()["calls"]
    assert calls["GET /{tenant}/v2.0/.well-known/openid-configuration"] == 1
    assert calls["POST /{tenant}/oauth2/v2.0/token"] == 1


def _self_signed() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "carnet-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    thumbprint = cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - Entra's x5t
    return pem, thumbprint


def test_msal_gets_a_token_with_a_certificate(graph: Served, http: requests.Session) -> None:
    pem, thumbprint = _self_signed()
    app = _msal_app(graph, http, {"private_key": pem, "thumbprint": thumbprint})
    result = app.acquire_token_for_client(scopes=GRAPH_SCOPE)
    assert result.get("token_type") == "Bearer", result
    assert _get(http, graph, "/v1.0/users", result["access_token"]).status_code == 200


class _Recorder:
    """An msal http_client that records every URL and refuses any host but loopback."""

    def __init__(self, session: requests.Session) -> None:
        self.session, self.urls = session, []

    def _check(self, url: str) -> None:
        self.urls.append(url)
        if not url.startswith("https://127.0.0.1:"):
            raise requests.ConnectionError(f"no network here: {url}")

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        self._check(url)
        return self.session.get(url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        self._check(url)
        return self.session.post(url, **kwargs)

    def close(self) -> None:
        self.session.close()


@pytest.mark.parametrize(
    "options, reaches_microsoft",
    [({"instance_discovery": False}, False), ({"validate_authority": False}, False), ({}, True)],
)
def test_which_msal_options_keep_it_off_login_microsoftonline(
    graph: Served, http: requests.Session, options: dict[str, bool], reaches_microsoft: bool
) -> None:
    recorder = _Recorder(http)
    try:
        app = msal.ConfidentialClientApplication(
            "carnet-app",
            client_credential="s3cret",
            authority=f"{graph.url}/{TENANT}",
            http_client=recorder,
            **options,
        )
        assert "access_token" in app.acquire_token_for_client(scopes=GRAPH_SCOPE)
    except requests.ConnectionError:
        assert reaches_microsoft
    hosts = {url.split("/")[2] for url in recorder.urls}
    assert ("login.microsoftonline.com" in hosts) is reaches_microsoft


# -- Entra: errors in Entra's shape --------------------------------------------------------------
ENTRA_ERRORS = [
    # (registered clients, form fields, status, error, AADSTS code)
    (None, {"client_secret": ""}, 401, "invalid_client", 7000218),
    ({"carnet-app": "right"}, {"client_secret": "wrong"}, 401, "invalid_client", 7000215),
    ({"other-app": "x"}, {"client_secret": "x"}, 400, "unauthorized_client", 700016),
    (None, {"client_secret": "x", "client_id": ""}, 400, "invalid_request", 900144),
    (None, {"client_secret": "x", "scope": "User.Read"}, 400, "invalid_scope", 1002012),
    (
        None,
        {"client_secret": "x", "scope": "https://x.test/.default"},
        400,
        "invalid_resource",
        500011,
    ),
    (None, {"client_secret": "x", "grant_type": "password"}, 400, "unsupported_grant_type", 70003),
    (
        None,
        {
            "client_assertion": "not-a-jwt",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        },
        401,
        "invalid_client",
        50027,
    ),
]


@pytest.mark.parametrize("clients, fields, status, error, code", ENTRA_ERRORS)
def test_token_endpoint_errors_have_entra_shape(
    start: Callable[[GraphStandIn], Served],
    http: requests.Session,
    clients: dict[str, str] | None,
    fields: dict[str, str],
    status: int,
    error: str,
    code: int,
) -> None:
    served = start(GraphStandIn(small_world(), clients=clients))
    form = {
        "client_id": "carnet-app",
        "grant_type": "client_credentials",
        "scope": GRAPH_SCOPE[0],
        **fields,
    }
    resp = http.post(f"{served.url}/{TENANT}/oauth2/v2.0/token", data=form, timeout=10)
    body = resp.json()
    assert resp.status_code == status
    assert body["error"] == error and body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert {"timestamp", "trace_id", "correlation_id"} <= set(body)


def test_msal_reports_a_wrong_secret(
    start: Callable[[GraphStandIn], Served], http: requests.Session
) -> None:
    served = start(GraphStandIn(small_world(), clients={"carnet-app": "right"}))
    result = _msal_app(served, http, "wrong").acquire_token_for_client(scopes=GRAPH_SCOPE)
    assert result["error"] == "invalid_client" and result["error_codes"] == [7000215]


def test_assertion_for_another_client_is_refused(graph: Served, http: requests.Session) -> None:
    pem, _ = _self_signed()
    assertion = jwt.encode(
        {"aud": "x", "iss": "other", "sub": "other", "exp": 2**31},
        pem,
        algorithm="RS256",
        headers={"x5t": "abc"},
    )
    form = {
        "client_id": "carnet-app",
        "grant_type": "client_credentials",
        "scope": GRAPH_SCOPE[0],
        "client_assertion": assertion,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    }
    resp = http.post(f"{graph.url}/{TENANT}/oauth2/v2.0/token", data=form, timeout=10)
    assert resp.status_code == 401 and resp.json()["error_codes"] == [700021]


# -- Graph: bearer tokens ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "authorization, message",
    [
        (None, "Access token is empty."),
        ("Basic abc", "Access token is empty."),
        ("Bearer garbage", "IDX14100: JWT is not well formed"),
        ("Bearer a.b.c", "Access token validation failure."),
    ],
)
def test_missing_or_bad_token_answers_invalid_authentication_token(
    graph: Served, http: requests.Session, authorization: str | None, message: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    resp = http.get(f"{graph.url}/v1.0/users", headers=headers, timeout=10)
    error = resp.json()["error"]
    assert resp.status_code == 401 and error["code"] == "InvalidAuthenticationToken"
    assert error["message"].startswith(message)
    assert {"date", "request-id", "client-request-id"} <= set(error["innerError"])
    assert resp.headers["WWW-Authenticate"].startswith("Bearer ")


def test_expired_token_and_msal_refresh(graph: Served, http: requests.Session) -> None:
    app = _msal_app(graph, http, "s3cret")
    first = app.acquire_token_for_client(scopes=GRAPH_SCOPE)["access_token"]
    graph.standin.clock.offset += dt.timedelta(seconds=3601)
    resp = _get(http, graph, "/v1.0/users", first)
    assert resp.status_code == 401
    assert resp.json()["error"]["message"] == "Lifetime validation failed, the token is expired."
    # msal's cache runs on the real clock: it hands back the same token until told to drop it
    assert app.acquire_token_for_client(scopes=GRAPH_SCOPE)["access_token"] == first
    app.remove_tokens_for_client()
    fresh = app.acquire_token_for_client(scopes=GRAPH_SCOPE)["access_token"]
    assert fresh != first and _get(http, graph, "/v1.0/users", fresh).status_code == 200


def test_token_ttl_is_configurable(
    start: Callable[[GraphStandIn], Served], http: requests.Session
) -> None:
    served = start(GraphStandIn(small_world(), token_ttl_s=900))
    result = _msal_app(served, http, "s3cret").acquire_token_for_client(scopes=GRAPH_SCOPE)
    assert result["expires_in"] == 900
    served.standin.clock.offset += dt.timedelta(seconds=901)
    assert _get(http, served, "/v1.0/users", result["access_token"]).status_code == 401


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
