"""Contract tests of the Graph + Entra stand-in's tokens: msal gets them with a secret or a
certificate, the token endpoint answers errors in Entra's shape, and Graph checks bearer tokens.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import jwt
import msal
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from sandbox.graph import GraphStandIn
from sandbox.server import Served
from tests.contract.graph_fixtures import (
    GRAPH_SCOPE,
    TENANT,
    _admin,
    _get,
    _msal_app,
    install_fixtures,
    small_world,
)

tls, start, graph, http, token = install_fixtures()


# -- Entra: msal gets tokens --------------------------------------------------------------------
def test_msal_gets_a_token_with_a_client_secret(graph: Served, http: requests.Session) -> None:
    result = _msal_app(graph, http, "s3cret").acquire_token_for_client(scopes=GRAPH_SCOPE)
    assert result["token_type"] == "Bearer"
    assert result["expires_in"] == 3599 and result["ext_expires_in"] == 3599
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
