"""The Salesforce adapter's own OAuth login against `login_url/services/oauth2/token`: client
credentials (on the org's My Domain), JWT bearer (signed here with PyJWT) or password grant; gives
the session, the instance and the user Carnet runs as.

A login Salesforce refuses because of a credential the config names (a wrong consumer key or
secret, password, key, or client credentials sent to a generic login host) is CredentialsRefused
on that setting (a config problem: exit 2, one line, no secret in it; and an AuthError); any
other refusal is a plain AuthError.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import jwt
import requests

from connector.core.errors import (
    AuthError,
    CarnetError,
    ConfigError,
    CredentialsRefused,
    FatalError,
    Problem,
    RateLimited,
    RetriableError,
)
from connector.core.http import parse_retry_after

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_LIFETIME_S = 180  # Salesforce accepts assertions that expire within 3 minutes
TIMEOUT_S = 60
LOGIN_HOST = "login host"  # the setting that names it: my_domain or login_url
# (error, error_description or None for any) of a refused login -> the setting Salesforce refused
REFUSED_SETTING: dict[tuple[str, str | None], str] = {
    ("invalid_client_id", None): "client_id",
    ("invalid_client", None): "client_secret",
    ("invalid_grant", "request not supported on this domain"): LOGIN_HOST,
    ("invalid_grant", "authentication failure"): "password",
    ("invalid_grant", "invalid assertion"): "private_key_file",
}


class LoginSettings(Protocol):
    """The attributes of connector.core.config.SalesforceSource that a login reads."""

    login_url: str
    my_domain: str | None
    auth: str
    client_id: str
    username: str | None
    private_key_file: Path | None
    security_token_env: str | None
    security_token_file: Path | None

    def problem(self, key: str, message: str) -> Problem: ...

    def refused(self, name: str, why: str) -> CredentialsRefused: ...


@dataclass(frozen=True)
class Token:
    access_token: str
    instance_url: str
    user_id: str | None = None  # the user the session runs as (the integration user)


def token_form(settings: LoginSettings, secret: Any) -> dict[str, str]:
    """The token request's form for the configured auth mode (secrets read only here)."""
    if settings.auth == "jwt":
        return {"grant_type": JWT_GRANT, "assertion": jwt_assertion(settings)}
    form = {"client_id": settings.client_id, "client_secret": secret("client_secret")}
    if settings.auth == "client_credentials":
        return {"grant_type": "client_credentials", **form}
    password = secret("password")
    if settings.security_token_env or settings.security_token_file:
        password += secret("security_token")
    return {
        "grant_type": "password",
        **form,
        "username": settings.username or "",
        "password": password,
    }


def jwt_assertion(settings: LoginSettings, now: float | None = None) -> str:
    """An RS256 JWT bearer assertion: iss = client id, sub = username, aud = `audience`."""
    path = settings.private_key_file
    if path is None:
        raise ConfigError([settings.problem("private_key_file", "auth jwt needs a private key")])
    try:
        key = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        why = f"cannot read {path}: {exc.strerror}"
        raise ConfigError([settings.problem("private_key_file", why)]) from None
    issued = time.time() if now is None else now
    claims = {
        "iss": settings.client_id,
        "sub": settings.username,
        "aud": audience(settings.login_url),
        "exp": int(issued) + JWT_LIFETIME_S,
    }
    try:
        return jwt.encode(claims, key, algorithm="RS256")
    except (ValueError, TypeError, jwt.PyJWTError) as exc:
        why = f"{path} is not an RSA private key: {exc}"
        raise ConfigError([settings.problem("private_key_file", why)]) from None


def audience(login_url: str) -> str:
    """A JWT bearer assertion's `aud`: Salesforce wants its generic login host even when the
    token request goes to a My Domain (test.salesforce.com for a sandbox's)."""
    host = (urlsplit(login_url).hostname or "").lower()
    if host.endswith(".sandbox.my.salesforce.com"):
        return "https://test.salesforce.com"
    if host.endswith(".my.salesforce.com"):
        return "https://login.salesforce.com"
    return login_url


def login(settings: LoginSettings, secret: Any, http: requests.Session) -> Token:
    """Ask for a session; refused credentials are an AuthError, passing faults are retriable."""
    url = f"{settings.login_url}/services/oauth2/token"
    try:
        resp = http.post(url, data=token_form(settings, secret), timeout=TIMEOUT_S)
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise RetriableError(f"Salesforce login: {type(exc).__name__}") from None
    if resp.status_code >= 500:
        if resp.status_code == 503 and resp.headers.get("Retry-After"):
            raise RateLimited(
                "Salesforce login: 503", parse_retry_after(resp.headers["Retry-After"])
            )
        raise RetriableError(f"Salesforce login: HTTP {resp.status_code}")
    body = _json(resp)
    if resp.status_code != 200 or "access_token" not in body or "instance_url" not in body:
        error = str(body.get("error") or f"HTTP {resp.status_code}")
        raise refusal(settings, error, str(body.get("error_description") or ""))
    instance = str(body["instance_url"]).rstrip("/")
    if not instance.startswith("https://"):
        raise FatalError(f"Salesforce gave a non-https instance URL: {instance}")
    identity = urlsplit(str(body.get("id") or "")).path.rstrip("/")
    return Token(str(body["access_token"]), instance, identity.rpartition("/")[2] or None)


def refusal(settings: LoginSettings, error: str, detail: str) -> CarnetError:
    """A refused login: CredentialsRefused on the setting Salesforce did not take, else
    AuthError."""
    why = f"Salesforce refused the {settings.auth} login: {error} {detail}".strip()
    name = REFUSED_SETTING.get((error, detail)) or REFUSED_SETTING.get((error, None))
    if name == LOGIN_HOST:
        name = "my_domain" if settings.my_domain else "login_url"
        why += " (client credentials work only on the org's My Domain)"
    return settings.refused(name, why) if name else AuthError(why)


def _json(resp: requests.Response) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
