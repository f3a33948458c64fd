"""The Entra ID (Azure AD) half of the Graph stand-in: the tenant's OpenID configuration, the v2.0
token endpoint (client credentials with a secret or a certificate assertion), and the access
tokens it issues, which the Graph half checks on every call.

msal fetches `/{tenant}/v2.0/.well-known/openid-configuration` and then posts to the
`token_endpoint` it names. Errors come back in Entra's own shape (`error`, `error_description`
with an AADSTS code, `error_codes`, `timestamp`, `trace_id`, `correlation_id`, `error_uri`).
Access tokens are RS256 JWTs (header `kid` and `x5t`, like Entra's) that live `token_ttl_s`;
Entra's own answer says `expires_in: 3599`, which is the Graph stand-in's default.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox.core import Clock, Request, Response

GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ROLES = ["Contacts.Read", "User.Read.All"]
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_TENANT_NS = uuid.UUID("4b1c6d1e-6a43-4c61-9a55-3c0b7a6d2f10")


def tenant_guid(tenant: str) -> str:
    """Entra names a tenant by GUID in its endpoints, whatever name the authority used."""
    if _GUID.match(tenant):
        return tenant.lower()
    return str(uuid.uuid5(_TENANT_NS, tenant.lower()))


@dataclass
class IssuedToken:
    client_id: str
    tenant: str
    expires_at: datetime


class EntraError(Exception):
    def __init__(self, status: int, error: str, code: int, description: str):
        super().__init__(description)
        self.status, self.error, self.code, self.description = status, error, code, description


class Entra:
    """Issues and checks access tokens. `clients` (client id -> secret), when given, is the app
    registrations the tenant knows; otherwise any non-empty client id and secret are accepted."""

    def __init__(self, clock: Clock, token_ttl_s: int, clients: dict[str, str] | None) -> None:
        self.clock = clock
        self.token_ttl_s = token_ttl_s
        self.clients = clients
        self.tokens: dict[str, IssuedToken] = {}
        self._key = signing_key()
        self.key_id = _key_id(self._key)
        self._lock = threading.Lock()

    def public_key_pem(self) -> str:
        """The public half of the access tokens' signing key (what a verifier would fetch)."""
        pem = self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return pem.decode("ascii")

    # -- discovery --------------------------------------------------------------------------------
    def openid_configuration(self, base: str, tenant: str) -> dict[str, Any]:
        tid = tenant_guid(tenant)
        root = f"{base}/{tid}"
        return {
            "token_endpoint": f"{root}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/{tid}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{root}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{base}/oidc/userinfo",
            "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{root}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "tid", "ver"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }

    # -- the token endpoint -----------------------------------------------------------------------
    def token(self, req: Request, tenant: str) -> Response:
        form = {k: v[0] for k, v in parse_qs(req.body.decode(errors="replace")).items()}
        try:
            client_id = self._authenticate(form, tenant)
            _check_scope(form.get("scope", ""), tenant)
        except EntraError as err:
            return self.error_response(err, req)
        access_token = self._issue(client_id, tenant_guid(tenant))
        body = {
            "token_type": "Bearer",
            "expires_in": self.token_ttl_s,
            "ext_expires_in": self.token_ttl_s,
            "access_token": access_token,
        }
        return Response(200, body, {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"})

    def _authenticate(self, form: dict[str, str], tenant: str) -> str:
        grant = form.get("grant_type", "")
        if not grant:
            raise _missing("grant_type", 900144)
        if grant != "client_credentials":
            raise EntraError(
                400,
                "unsupported_grant_type",
                70003,
                f"AADSTS70003: The app requested an unsupported grant type '{grant}'.",
            )
        client_id = form.get("client_id", "")
        if not client_id:
            raise _missing("client_id", 900144)
        if self.clients is not None and client_id not in self.clients:
            raise EntraError(
                400,
                "unauthorized_client",
                700016,
                f"AADSTS700016: Application with identifier '{client_id}' was not found in the "
                f"directory '{tenant}'. This can happen if the application has not been installed "
                "by the administrator of the tenant or consented to by any user in the tenant. "
                "You may have sent your authentication request to the wrong tenant.",
            )
        if form.get("client_assertion"):
            _check_assertion(form, client_id)
        elif form.get("client_secret"):
            self._check_secret(client_id, form["client_secret"])
        else:
            raise EntraError(
                401,
                "invalid_client",
                7000218,
                "AADSTS7000218: The request body must contain the following parameter: "
                "'client_assertion' or 'client_secret'.",
            )
        return client_id

    def _check_secret(self, client_id: str, secret: str) -> None:
        if self.clients is None or secrets.compare_digest(self.clients[client_id], secret):
            return
        raise EntraError(
            401,
            "invalid_client",
            7000215,
            "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the "
            "request is the client secret value, not the client secret ID, for a secret added "
            f"to app '{client_id}'.",
        )

    def _issue(self, client_id: str, tid: str) -> str:
        now = self.clock.now()
        exp = now + timedelta(seconds=self.token_ttl_s)
        claims = {
            "aud": GRAPH_RESOURCE,
            "iss": f"https://sts.windows.net/{tid}/",
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(exp.timestamp()),
            "appid": client_id,
            "idtyp": "app",
            "oid": str(uuid.uuid5(_TENANT_NS, f"sp:{tid}:{client_id}")),
            "roles": ROLES,
            "sub": str(uuid.uuid5(_TENANT_NS, f"sp:{tid}:{client_id}")),
            "tid": tid,
            "uti": secrets.token_urlsafe(16),
            "ver": "1.0",
        }
        headers = {"typ": "JWT", "kid": self.key_id, "x5t": self.key_id}
        token = jwt.encode(claims, self._key, algorithm="RS256", headers=headers)
        with self._lock:
            self.tokens[token] = IssuedToken(client_id, tid, exp)
        return token

    # -- checking a bearer token (the Graph half calls this) ---------------------------------------
    def check(self, authorization: str | None) -> tuple[str, str] | None:
        """None when the token is good; else (reason, message) with reason "empty", "malformed",
        "invalid" or "expired" and the message Graph answers with."""
        token = _bearer(authorization)
        if not token:
            return "empty", "Access token is empty."
        issued = self.tokens.get(token)
        if issued is None:
            if token.count(".") < 2:
                return "malformed", (
                    "IDX14100: JWT is not well formed, there are no dots (.).\nThe token needs to "
                    "be in JWS or JWE Compact Serialization Format."
                )
            return "invalid", "Access token validation failure. Invalid signature."
        if issued.expires_at <= self.clock.now():
            return "expired", "Lifetime validation failed, the token is expired."
        return None

    def expire(self, authorization: str | None) -> None:
        """Make the token of this call expired (the "expire" fault)."""
        token = _bearer(authorization)
        with self._lock:
            if token in self.tokens:
                self.tokens[token].expires_at = self.clock.now() - timedelta(seconds=1)

    def error_response(self, err: EntraError, req: Request) -> Response:
        now = self.clock.now()
        stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
        trace_id = str(uuid.uuid4())
        correlation_id = req.header("client-request-id") or str(uuid.uuid4())
        body = {
            "error": err.error,
            "error_description": f"{err.description}\r\nTrace ID: {trace_id}\r\n"
            f"Correlation ID: {correlation_id}\r\nTimestamp: {stamp}",
            "error_codes": [err.code],
            "timestamp": stamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"https://login.microsoftonline.com/error?code={err.code}",
        }
        return Response(err.status, body, {"Cache-Control": "no-store, no-cache"})


@cache
def signing_key() -> rsa.RSAPrivateKey:
    """The tenant's token-signing key: one per process (generating RSA keys is slow)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _key_id(key: rsa.RSAPrivateKey) -> str:
    """A stable key id from the public key (Entra's look like base64url SHA-1 thumbprints)."""
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashlib.sha1(der).digest()  # an identifier, not a security measure
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _bearer(authorization: str | None) -> str:
    if not authorization:
        return ""
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _missing(param: str, code: int) -> EntraError:
    return EntraError(
        400,
        "invalid_request",
        code,
        f"AADSTS{code}: The request body must contain the following parameter: '{param}'.",
    )


def _check_assertion(form: dict[str, str], client_id: str) -> None:
    """A certificate credential: any well-formed JWT whose iss and sub are the client id."""
    if not form.get("client_assertion_type"):
        raise _missing("client_assertion_type", 900144)
    if form["client_assertion_type"] != ASSERTION_TYPE:
        raise EntraError(
            400,
            "invalid_request",
            50027,
            "AADSTS50027: JWT token is invalid or malformed. The client_assertion_type must be "
            f"'{ASSERTION_TYPE}'.",
        )
    try:
        header = jwt.get_unverified_header(form["client_assertion"])
        claims = jwt.decode(form["client_assertion"], options={"verify_signature": False})
    except jwt.PyJWTError:
        raise EntraError(
            401, "invalid_client", 50027, "AADSTS50027: JWT token is invalid or malformed."
        ) from None
    if not ({"x5t", "x5t#S256", "kid"} & set(header)) or not {"aud", "exp"} <= set(claims):
        raise EntraError(
            401, "invalid_client", 50027, "AADSTS50027: JWT token is invalid or malformed."
        )
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise EntraError(
            401,
            "invalid_client",
            700021,
            "AADSTS700021: Client assertion application identifier doesn't match 'client_id' "
            "parameter.",
        )


def _check_scope(scope: str, tenant: str) -> None:
    scopes = scope.split()
    if len(scopes) != 1 or not scopes[0].endswith("/.default"):
        raise EntraError(
            400,
            "invalid_scope",
            1002012,
            f"AADSTS1002012: The provided value for scope {scope} is not valid. Client credential "
            "flows must have a scope value with /.default suffixed to the resource identifier "
            "(application ID URI).",
        )
    resource = scopes[0][: -len("/.default")].rstrip("/")
    if resource not in (GRAPH_RESOURCE, GRAPH_APP_ID):
        raise EntraError(
            400,
            "invalid_resource",
            500011,
            f"AADSTS500011: The resource principal named {resource} was not found in the tenant "
            f"named {tenant}. This can happen if the application has not been installed by the "
            "administrator of the tenant or consented to by any user in the tenant.",
        )
