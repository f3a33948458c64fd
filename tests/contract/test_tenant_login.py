"""Salesforce logins as a real org takes them: client credentials only on the org's My Domain.

The config check refuses client credentials on a generic login host (login.salesforce.com,
test.salesforce.com) naming the file, the line and why; the Salesforce stand-in serves a generic
login host and a My Domain as two listeners, and the generic one refuses client credentials with
Salesforce's own answer, which the adapter reports as a problem with that setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jwt
import pytest
import requests

from adapters.salesforce.adapter import SalesforceAdapter
from adapters.salesforce.auth import audience, jwt_assertion
from connector.core.config import load_config
from connector.core.errors import ConfigError
from connector.core.records import Write
from sandbox.runner import Sandbox
from tests.contract.cases.salesforce import CASE
from tests.contract.salesforce_adapter_kit import rsa_key
from tests.sandbox_fixture import admin_session

REFUSED = {"error": "invalid_grant", "error_description": "request not supported on this domain"}
SECTION = "version: 1\nsources:\n  salesforce:\n"


def write(tmp_path: Path, body: str) -> Path:
    (tmp_path / "secret").write_text("s3cret-value\n")
    path = tmp_path / "config.yaml"
    path.write_text(SECTION + body + "    client_id: 3MVG9abc\n    client_secret_file: secret\n")
    return path


def refused_problem(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (line,) = caught.value.lines()
    return line


# -- the config check -----------------------------------------------------------------------------
@pytest.mark.parametrize("host", ["login.salesforce.com", "test.salesforce.com"])
def test_client_credentials_on_a_generic_host_are_a_config_error(tmp_path: Path, host: str) -> None:
    path = write(tmp_path, f"    auth: client_credentials\n    login_url: https://{host}\n")
    line = refused_problem(path)
    assert line.startswith(f"{path}:5: sources.salesforce.login_url: ")
    assert "My Domain" in line and host in line and "my_domain" in line


def test_the_default_login_host_needs_a_my_domain(tmp_path: Path) -> None:
    line = refused_problem(write(tmp_path, ""))  # auth and login_url left to their defaults
    assert line.startswith(f"{tmp_path / 'config.yaml'}:3: sources.salesforce.login_url: ")
    assert "client credentials need the org's My Domain" in line


@pytest.mark.parametrize(
    ("my_domain", "url"),
    [
        ("acme", "https://acme.my.salesforce.com"),
        ("acme--uat.sandbox", "https://acme--uat.sandbox.my.salesforce.com"),
        ("https://Acme.my.salesforce.com/", "https://acme.my.salesforce.com"),
    ],
)
def test_my_domain_gives_the_login_url(tmp_path: Path, my_domain: str, url: str) -> None:
    config = load_config(write(tmp_path, f"    my_domain: {my_domain}\n"))
    assert config.sources.salesforce is not None
    assert config.sources.salesforce.login_url == url


@pytest.mark.parametrize(
    ("body", "key", "why"),
    [
        ("    my_domain: login.salesforce.com\n", "salesforce", "is not a My Domain host"),
        (
            "    my_domain: acme\n    login_url: https://acme.my.salesforce.com\n",
            "salesforce",
            "set either my_domain or login_url, not both",
        ),
    ],
)
def test_a_wrong_my_domain_is_named(tmp_path: Path, body: str, key: str, why: str) -> None:
    line = refused_problem(write(tmp_path, body))  # one problem: no login_url one besides
    assert line.startswith(f"{tmp_path / 'config.yaml'}:3: sources.{key}: ") and why in line


def test_jwt_and_password_keep_the_generic_hosts(tmp_path: Path) -> None:
    (tmp_path / "key.pem").write_text("not checked here")
    path = write(
        tmp_path,
        "    auth: jwt\n    login_url: https://test.salesforce.com\n"
        "    username: carnet@acme.example\n    private_key_file: key.pem\n",
    )
    config = load_config(path)
    assert config.sources.salesforce is not None
    assert config.sources.salesforce.login_url == "https://test.salesforce.com"


@pytest.mark.parametrize(
    ("login_url", "aud"),
    [
        ("https://acme.my.salesforce.com", "https://login.salesforce.com"),
        ("https://acme--uat.sandbox.my.salesforce.com", "https://test.salesforce.com"),
        ("https://test.salesforce.com", "https://test.salesforce.com"),
    ],
)
def test_a_jwt_assertion_names_the_generic_host_as_audience(login_url: str, aud: str) -> None:
    assert audience(login_url) == aud


# -- the stand-in's two hosts, through the adapter and requests -----------------------------------
def login_host(sandbox: Sandbox) -> str:
    assert sandbox.salesforce_login is not None
    return sandbox.salesforce_login.url


def token(sandbox: Sandbox, url: str, form: dict[str, str]) -> requests.Response:
    with admin_session(sandbox) as http:
        return http.post(f"{url}/services/oauth2/token", data=form, timeout=10)


def client_credentials(sandbox: Sandbox) -> dict[str, str]:
    creds = sandbox.credentials
    return {
        "grant_type": "client_credentials",
        "client_id": creds.salesforce_client_id,
        "client_secret": creds.salesforce_client_secret,
    }


def test_the_generic_host_refuses_client_credentials_as_salesforce_does(
    fresh_sandbox: Sandbox,
) -> None:
    refused = token(fresh_sandbox, login_host(fresh_sandbox), client_credentials(fresh_sandbox))
    assert (refused.status_code, refused.json()) == (400, REFUSED)
    taken = token(fresh_sandbox, fresh_sandbox.salesforce.url, client_credentials(fresh_sandbox))
    assert taken.status_code == 200
    assert taken.json()["instance_url"] == fresh_sandbox.salesforce.url


def test_the_adapter_names_the_login_url_it_was_refused_on(fresh_sandbox: Sandbox) -> None:
    adapter = CASE.adapter(fresh_sandbox, login_url=login_host(fresh_sandbox))
    adapter.client.sleep = lambda s: None
    try:
        with pytest.raises(ConfigError) as caught:
            adapter.describe("Contact")
    finally:
        adapter.close()
    (line,) = caught.value.lines()
    assert "sources.salesforce.login_url: " in line
    assert "invalid_grant request not supported on this domain" in line
    assert fresh_sandbox.credentials.salesforce_client_secret not in line


def test_jwt_bearer_works_on_the_generic_host_and_lands_on_my_domain(
    fresh_sandbox: Sandbox, tmp_path: Path
) -> None:
    key_file, public = rsa_key(tmp_path)
    user = str(CASE.records(fresh_sandbox, "User")[0]["Username"])
    adapter = make_adapter(fresh_sandbox, auth="jwt", username=user, private_key_file=key_file)
    refused = token(
        fresh_sandbox,
        login_host(fresh_sandbox),
        {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
         "assertion": jwt_assertion(adapter.settings)},
    )  # fmt: skip
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")  # no cert yet
    fresh_sandbox.salesforce.standin.register_certificate(public.decode())
    try:
        assert adapter.describe("Contact")
        assert adapter.client.user_id == user_id(fresh_sandbox, user)
    finally:
        adapter.close()


def make_adapter(sandbox: Sandbox, **overrides: Any) -> SalesforceAdapter:
    adapter = CASE.adapter(sandbox, login_url=login_host(sandbox), **overrides)
    adapter.client.sleep = lambda s: None
    return adapter


def user_id(sandbox: Sandbox, username: str) -> str:
    (found,) = [u["Id"] for u in CASE.records(sandbox, "User") if u["Username"] == username]
    return str(found)


def test_a_wrong_secret_names_the_secret_setting(fresh_sandbox: Sandbox, tmp_path: Path) -> None:
    (tmp_path / "wrong").write_text("not-the-consumer-secret\n")
    adapter = CASE.adapter(fresh_sandbox, client_secret_file=tmp_path / "wrong")
    adapter.client.sleep = lambda s: None
    try:
        with pytest.raises(ConfigError) as caught:
            adapter.describe("Contact")
    finally:
        adapter.close()
    (line,) = caught.value.lines()
    assert "sources.salesforce.client_secret_file: " in line
    assert "invalid_client invalid client credentials" in line
    assert "not-the-consumer-secret" not in line


def test_a_wrong_password_names_the_password_setting(
    fresh_sandbox: Sandbox, tmp_path: Path
) -> None:
    user = str(CASE.records(fresh_sandbox, "User")[0]["Username"])
    fresh_sandbox.salesforce.standin.register_password(user, "right-password")
    (tmp_path / "pw").write_text("wrong-password\n")
    adapter = make_adapter(
        fresh_sandbox, auth="password", username=user, password_file=tmp_path / "pw"
    )
    try:
        with pytest.raises(ConfigError) as caught:
            adapter.describe("Contact")
    finally:
        adapter.close()
    (line,) = caught.value.lines()
    assert "sources.salesforce.password_file: " in line and "authentication failure" in line
    assert "wrong-password" not in line


def test_a_push_with_a_refused_secret_stops_with_that_problem(
    fresh_sandbox: Sandbox, tmp_path: Path
) -> None:
    (tmp_path / "wrong").write_text("not-the-consumer-secret\n")
    adapter = CASE.adapter(fresh_sandbox, client_secret_file=tmp_path / "wrong")
    adapter.client.sleep = lambda s: None
    contact = sorted(CASE.live_ids(fresh_sandbox, "Contact"))[0]
    try:
        with pytest.raises(ConfigError, match="client_secret_file"):  # not a refused record
            adapter.push([Write("Contact", contact, {"Title": "CFO"}, key="k")])
    finally:
        adapter.close()


def test_an_unsigned_jwt_is_refused_once_a_certificate_is_registered(
    fresh_sandbox: Sandbox, tmp_path: Path
) -> None:
    (tmp_path / "registered").mkdir()
    fresh_sandbox.salesforce.standin.register_certificate(
        rsa_key(tmp_path / "registered")[1].decode()
    )
    other, _ = rsa_key(tmp_path)  # a key whose certificate the connected app does not have
    user = str(CASE.records(fresh_sandbox, "User")[0]["Username"])
    adapter = make_adapter(fresh_sandbox, auth="jwt", username=user, private_key_file=other)
    try:
        with pytest.raises(ConfigError) as caught:
            adapter.describe("Contact")
    finally:
        adapter.close()
    assert "sources.salesforce.private_key_file: " in caught.value.lines()[0]
    assert "invalid assertion" in caught.value.lines()[0]
    claims = jwt.decode(jwt_assertion(adapter.settings), options={"verify_signature": False})
    assert claims["aud"] == adapter.settings.login_url  # a loopback host is its own audience
