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

from sandbox.core import Served, serve
from sandbox.graph import GraphStandIn
from sandbox.world import AddressBookEntry, Member, World

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


def _self_signed() -> tuple[str, str, str]:
    """A throw-away RSA key, its self-signed certificate (PEM) and the SHA-1 thumbprint."""
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
    thumbprint = cert.fingerprint(hashes.SHA1()).hex().upper()  # Entra x5t: SHA-1 of the DER
    return pem, cert.public_bytes(serialization.Encoding.PEM).decode(), thumbprint


@pytest.mark.parametrize(
    "form, header", [("thumbprint", "x5t"), ("public_certificate", "x5t#S256")]
)
def test_msal_gets_a_token_with_a_certificate(
    graph: Served, http: requests.Session, form: str, header: str
) -> None:
    key_pem, cert_pem, thumbprint = _self_signed()
    credential = {"private_key": key_pem, form: thumbprint if form == "thumbprint" else cert_pem}
    recorder = _Recorder(http)
    app = msal.ConfidentialClientApplication(
        "carnet-app",
        client_credential=credential,
        authority=f"{graph.url}/{TENANT}",
        http_client=recorder,
        instance_discovery=False,
    )
    result = app.acquire_token_for_client(scopes=GRAPH_SCOPE)
    assert result.get("token_type") == "Bearer", result
    assertion = recorder.posted[-1]["client_assertion"]
    assert header in jwt.get_unverified_header(assertion)
    assert recorder.posted[-1]["client_assertion_type"].endswith(":jwt-bearer")
    assert _get(http, graph, "/v1.0/users", result["access_token"]).status_code == 200


class _Recorder:
    """An msal http_client that records every URL and refuses any host but loopback."""

    def __init__(self, session: requests.Session) -> None:
        self.session, self.urls = session, list[str]()
        self.posted = list[dict[str, Any]]()

    def _check(self, url: str) -> None:
        self.urls.append(url)
        if not url.startswith("https://127.0.0.1:"):
            raise requests.ConnectionError(f"no network here: {url}")

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        self._check(url)
        return self.session.get(url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        self._check(url)
        self.posted.append(dict(kwargs.get("data") or {}))
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
    pem, _, _ = _self_signed()
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


# -- faults, throttling, stats ------------------------------------------------------------------
@pytest.mark.parametrize(
    "kind, status, code, retry_after",
    [
        ("429", 429, "TooManyRequests", "1"),
        ("429-no-retry-after", 429, "TooManyRequests", None),
        ("503", 503, "serviceNotAvailable", "1"),
        ("500", 500, "generalException", None),
        ("expire", 401, "InvalidAuthenticationToken", None),
    ],
)
def test_faults_answer_as_graph(
    graph: Served,
    http: requests.Session,
    token: str,
    kind: str,
    status: int,
    code: str,
    retry_after: str | None,
) -> None:
    assert _admin(http, graph, "POST", "/faults", {"once": [kind]}).status_code == 200
    resp = _get(http, graph, f"/v1.0/users/{ANN}/contacts", token)
    assert resp.status_code == status and resp.json()["error"]["code"] == code
    assert resp.headers.get("Retry-After") == retry_after
    again = _get(http, graph, f"/v1.0/users/{ANN}/contacts", token)
    assert again.status_code == (401 if kind == "expire" else 200)  # the token stays expired
    if kind == "expire":
        assert again.json()["error"]["message"].startswith("Lifetime validation failed")


def test_token_endpoint_is_never_faulted(graph: Served, http: requests.Session) -> None:
    _admin(http, graph, "POST", "/faults", {"rate": 1.0, "kinds": ["500", "429"], "seed": 3})
    result = _msal_app(graph, http, "s3cret").acquire_token_for_client(scopes=GRAPH_SCOPE)
    assert "access_token" in result
    assert _get(http, graph, "/v1.0/users", result["access_token"]).status_code in (429, 500)


def test_more_than_four_concurrent_calls_to_one_mailbox_are_throttled(
    tls: tuple[ssl.SSLContext, str], graph: Served, token: str
) -> None:
    sessions = [_session(tls) for _ in range(6)]
    for session in sessions:  # connect first, so the six calls really overlap
        assert _admin(session, graph, "GET", "/stats").status_code == 200
    _admin(sessions[0], graph, "POST", "/faults", {"rate": 1.0, "kinds": ["slow"], "slow_ms": 800})
    barrier, results = threading.Barrier(6), list[requests.Response]()

    def call(session: requests.Session) -> None:
        barrier.wait()
        results.append(_get(session, graph, f"/v1.0/users/{ANN}/contacts", token))

    threads = [threading.Thread(target=call, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    throttled = [r for r in results if r.status_code == 429]
    assert sorted(r.status_code for r in results) == [200] * 4 + [429] * 2
    assert {r.json()["error"]["code"] for r in throttled} == {"ApplicationThrottled"}
    assert "MailboxConcurrency" in throttled[0].json()["error"]["message"]
    assert all(r.headers["Retry-After"] == "1" for r in throttled)
    stats = _admin(sessions[0], graph, "GET", "/stats").json()
    assert stats["calls"]["GET /v1.0/users/{user}/contacts"] == 6


def _session(tls: tuple[ssl.SSLContext, str]) -> requests.Session:
    session = requests.Session()
    session.trust_env, session.verify = False, tls[1]
    return session


def test_stats_count_every_call_by_route(graph: Served, http: requests.Session, token: str) -> None:
    _get(http, graph, "/v1.0/users", token)
    _get(http, graph, f"/v1.0/users/{ANN}", token)
    _follow(http, graph, f"/v1.0/users/{ANN}/contacts", token)
    _get(http, graph, "/v1.0/users", None)  # refused calls count too
    stats = _admin(http, graph, "GET", "/stats").json()
    assert stats["calls"] == {
        "GET /{tenant}/v2.0/.well-known/openid-configuration": 1,
        "POST /{tenant}/oauth2/v2.0/token": 1,
        "GET /v1.0/users": 2,
        "GET /v1.0/users/{user}": 1,
        "GET /v1.0/users/{user}/contacts": 3,
    }
    assert stats["total"] == 8


# -- admin ----------------------------------------------------------------------------------------
def test_admin_records_upsert_delete_and_reset(
    graph: Served, http: requests.Session, token: str
) -> None:
    users = _admin(http, graph, "GET", "/records/users").json()
    assert {u["mail"] for u in users} == {ANN, BOB}
    assert {"department", "accountEnabled", "country"} <= set(users[0])
    contacts = _admin(http, graph, "GET", "/records/contacts").json()
    assert len(contacts) == 33 and all(set(c) == CONTACT_KEYS | {"_mailbox"} for c in contacts)
    ann_id = _user_id(http, graph, token, ANN)
    assert sum(c["_mailbox"] == ann_id for c in contacts) == 30

    target = contacts[0]
    updated = _admin(
        http, graph, "POST", "/records/contacts", {**target, "companyName": "Globex"}
    ).json()  # read-only fields are ignored
    assert updated["companyName"] == "Globex" and updated["changeKey"] != target["changeKey"]
    assert updated["lastModifiedDateTime"] >= target["lastModifiedDateTime"]
    assert _admin(http, graph, "DELETE", f"/records/contacts/{target['id']}").status_code == 204
    assert len(_admin(http, graph, "GET", "/records/contacts").json()) == 32
    _admin(http, graph, "POST", "/records/users", {"id": ann_id, "jobTitle": "VP Sales"})
    assert _get(http, graph, f"/v1.0/users/{ann_id}", token).json()["jobTitle"] == "VP Sales"

    assert _admin(http, graph, "POST", "/reset").status_code == 204
    assert len(_admin(http, graph, "GET", "/records/contacts").json()) == 33
    assert (
        _get(http, graph, f"/v1.0/users/{ann_id}", token).json()["jobTitle"] == "Account Executive"
    )


@pytest.mark.parametrize(
    "method, path, body, status, code",
    [
        ("GET", "/records/events", None, 404, "Request_ResourceNotFound"),
        ("POST", "/records/contacts", {"displayName": "x"}, 404, "ErrorInvalidUser"),
        (
            "POST",
            "/records/contacts",
            {"_mailbox": ANN, "shoeSize": 4},
            400,
            "ErrorInvalidProperty",
        ),
        ("POST", "/records/contacts", {"id": "AAMkAnope"}, 404, "ErrorItemNotFound"),
        ("DELETE", "/records/contacts/AAMkAnope", None, 404, "ErrorItemNotFound"),
        ("POST", "/merge/contacts", {"winner": "a", "loser": "b"}, 400, "notSupported"),
    ],
)
def test_admin_errors(
    graph: Served, http: requests.Session, method: str, path: str, body: Any, status: int, code: str
) -> None:
    resp = _admin(http, graph, method, path, body)
    assert resp.status_code == status and resp.json()["error"]["code"] == code


def test_admin_creates_users_with_an_empty_mailbox(
    graph: Served, http: requests.Session, token: str
) -> None:
    new = _admin(
        http,
        graph,
        "POST",
        "/records/users",
        {"userPrincipalName": "dee@acme.test", "displayName": "Dee"},
    ).json()
    got = _get(http, graph, "/v1.0/users/dee@acme.test/contacts", token).json()
    assert new["id"] and got["value"] == []
    assert _admin(http, graph, "DELETE", f"/records/users/{new['id']}").status_code == 204
    assert _get(http, graph, "/v1.0/users/dee@acme.test", token).status_code == 404


# -- loading worlds -------------------------------------------------------------------------------
def test_ids_are_deterministic_for_the_same_world() -> None:
    one, two = GraphStandIn(small_world()), GraphStandIn(small_world())
    assert [u["id"] for u in one.admin_records("users")] == [
        u["id"] for u in two.admin_records("users")
    ]
    assert [c["id"] for c in one.admin_records("contacts")] == [
        c["id"] for c in two.admin_records("contacts")
    ]


def test_loads_a_generated_world() -> None:
    try:
        from sandbox import seed
    except ImportError:
        pytest.skip("adapters/sandbox/seed.py (generate(seed, scale)) is not written yet")
    world = seed.generate(11, 0.01)
    begun = time.perf_counter()
    standin = GraphStandIn(world)
    assert time.perf_counter() - begun < 2.0
    with_mailbox = {m.key for m in world.members if m.has_mailbox}
    assert len(standin.admin_records("users")) == len(with_mailbox)
    entries = [e for e in world.address_books if e.member_key in with_mailbox]
    contacts = standin.admin_records("contacts")
    assert len(contacts) == len(entries) > 0
    assert all(c["emailAddresses"] or not e.emails for c, e in zip(contacts, entries, strict=True))
    again = GraphStandIn(seed.generate(11, 0.01))
    assert [c["id"] for c in again.admin_records("contacts")] == [c["id"] for c in contacts]
