"""The Salesforce adapter's own OAuth login against `login_url/services/oauth2/token`: client
credentials, JWT bearer (signed here with PyJWT) or password grant; gives the session and instance.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import jwt
import requests

from connector.core.errors import AuthError, FatalError, RateLimited, RetriableError
from connector.core.http import parse_retry_after

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_LIFETIME_S = 180  # Salesforce accepts assertions that expire within 3 minutes
TIMEOUT_S = 60


class LoginSettings(Protocol):
    """The attributes of connector.core.config.SalesforceSource that a login reads."""

    login_url: str
    auth: str
    client_id: str
    username: str | None
    private_key_file: Path | None
    security_token_env: str | None
    security_token_file: Path | None


@dataclass(frozen=True)
class Token:
    access_token: str
    instance_url: str


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
    """An RS256 JWT bearer assertion: iss = client id, sub = username, aud = the login URL."""
    if settings.private_key_file is None:
        raise AuthError("Salesforce auth jwt needs private_key_file")
    try:
        key = Path(settings.private_key_file).read_text(encoding="utf-8")
    except OSError as exc:
        raise AuthError(
            f"cannot read private_key_file {settings.private_key_file}: {exc.strerror}"
        ) from None
    issued = time.time() if now is None else now
    claims = {
        "iss": settings.client_id,
        "sub": settings.username,
        "aud": settings.login_url,
        "exp": int(issued) + JWT_LIFETIME_S,
    }
    try:
        return jwt.encode(claims, key, algorithm="RS256")
    except (ValueError, TypeError, jwt.PyJWTError) as exc:
        raise AuthError(
            f"private_key_file {settings.private_key_file} is not an RSA key: {exc}"
        ) from None


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
        error = body.get("error") or f"HTTP {resp.status_code}"
        detail = body.get("error_description") or ""
        raise AuthError(f"Salesforce refused the {settings.auth} login: {error} {detail}".strip())
    instance = str(body["instance_url"]).rstrip("/")
    if not instance.startswith("https://"):
        raise FatalError(f"Salesforce gave a non-https instance URL: {instance}")
    return Token(str(body["access_token"]), instance)


def _json(resp: requests.Response) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
