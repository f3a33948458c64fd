"""OpenID Connect sign-in with Authlib: the authorization code flow with PKCE (S256), state and
nonce, the id_token checked against the provider's JWKS by Authlib (signature, iss, aud, exp,
nonce). What we keep between the redirect and the callback rides in a short-lived cookie signed
with a key derived from the client secret, so several `carnet serve` processes share it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client.sync_app import BaseApp, OAuth2Mixin
from authlib.integrations.base_client.sync_openid import OpenIDMixin
from authlib.integrations.requests_client import OAuth2Session
from joserfc.errors import JoseError

from connector.core.web_config import Web

PENDING_SECONDS = 600
CALLBACK = "/auth/callback"


class SignInError(Exception):
    """The provider's answer could not sign anyone in (bad token, state, nonce, or an error)."""


class _OidcApp(OAuth2Mixin, OpenIDMixin, BaseApp):
    """Authlib's framework-free OpenID client on a requests session."""

    client_cls = OAuth2Session

    def __init__(self, ca_file: str | None, **kwargs: Any) -> None:
        super().__init__(framework=None, **kwargs)
        self._ca_file = ca_file

    def _tls(self, session: requests.Session) -> requests.Session:
        if self._ca_file:
            session.verify = self._ca_file
            session.trust_env = False  # else REQUESTS_CA_BUNDLE would replace the CA given
        return session

    def _get_session(self) -> Any:
        return self._tls(super()._get_session())

    def _get_oauth_client(self, **metadata: Any) -> Any:
        return self._tls(super()._get_oauth_client(**metadata))


@dataclass(frozen=True)
class Identity:
    email: str
    name: str | None
    groups: frozenset[str]


class OidcSignIn:
    def __init__(self, web: Web, client_secret: str) -> None:
        self.web = web
        self._key = hmac.new(client_secret.encode(), b"carnet sign-in state", "sha256").digest()
        self._app = _OidcApp(
            str(web.oidc.ca_file) if web.oidc.ca_file else None,
            client_id=web.oidc.client_id,
            client_secret=client_secret,
            server_metadata_url=web.oidc.discovery_url,
            client_kwargs={
                "scope": " ".join(web.oidc.scopes),
                "code_challenge_method": "S256",
                "default_timeout": 15,
            },
        )

    @property
    def redirect_uri(self) -> str:
        return self.web.base_url + CALLBACK

    def begin(self, next_path: str) -> tuple[str, str]:
        """(the provider's authorize URL, the signed pending state for the cookie)."""
        try:
            rv = self._app.create_authorization_url(self.redirect_uri)
        except (requests.RequestException, AuthlibBaseError, RuntimeError, ValueError) as exc:
            raise SignInError(f"the identity provider cannot be reached: {exc}") from None
        pending = {
            "state": rv["state"],
            "nonce": rv["nonce"],
            "verifier": rv["code_verifier"],
            "next": next_path,
            "exp": int(time.time()) + PENDING_SECONDS,
        }
        return rv["url"], self._sign(pending)

    def finish(self, params: dict[str, str], cookie: str | None) -> tuple[Identity, str]:
        """Check the callback against the pending state; (who signed in, where to go next)."""
        pending = self._unsign(cookie)
        if pending is None:
            raise SignInError("the sign-in took too long or started elsewhere; sign in again")
        if not hmac.compare_digest(str(params.get("state", "")), str(pending["state"])):
            raise SignInError("the sign-in answer does not match the sign-in started here")
        if params.get("error"):
            raise SignInError(f"the identity provider said: {params.get('error_description')}")
        try:
            token = self._app.fetch_access_token(
                self.redirect_uri, code=params.get("code", ""), code_verifier=pending["verifier"]
            )
            claims = self._app.parse_id_token(token, nonce=pending["nonce"], leeway=60)
        except (requests.RequestException, AuthlibBaseError, JoseError, ValueError) as exc:
            raise SignInError(f"the identity provider's answer was refused: {exc}") from None
        if claims is None:
            raise SignInError("the identity provider sent no id_token")
        return self._identity(dict(claims)), str(pending["next"])

    def _identity(self, claims: dict[str, Any]) -> Identity:
        email = claims.get("email") or claims.get("preferred_username") or ""
        if "@" not in str(email):
            raise SignInError("the id_token names no email address")
        groups = claims.get(self.web.oidc.groups_claim) or []
        names = frozenset(str(g) for g in groups) if isinstance(groups, list) else frozenset()
        return Identity(str(email).strip().lower(), claims.get("name"), names)

    def _sign(self, data: dict[str, Any]) -> str:
        body = base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
        mac = hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()
        return f"{body}.{mac}"

    def _unsign(self, value: str | None) -> dict[str, Any] | None:
        body, _, mac = (value or "").rpartition(".")
        good = hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()
        if not body or not hmac.compare_digest(mac, good):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            return None
        if not isinstance(data, dict) or int(data.get("exp", 0)) < time.time():
            return None
        return data
