"""The Entra stand-in as an OpenID Connect provider, for signing people in to `carnet serve`.

The authorization code flow as Entra ID v2.0 serves it: `/{tenant}/oauth2/v2.0/authorize` shows a
small "choose a user" page (the tenant's enabled users, those of the Graph half), the choice comes
back to the client's `redirect_uri` with a one-time code; `/{tenant}/oauth2/v2.0/token` trades the
code (PKCE S256 required, the client's secret checked when the tenant knows its clients) for an
RS256 `id_token`; `/{tenant}/discovery/v2.0/keys` publishes the signing key.

`POST /__sandbox/oidc {"next_id_token": KIND}` makes the next id_token bad in one way, so tests
can show the client refuses it: "wrong_key", "expired", "wrong_nonce", "wrong_audience",
"wrong_issuer".
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox.core import Clock, HTTPError, Request, Response
from sandbox.graph_entra import Entra, EntraError, tenant_guid

TAMPERING = ("wrong_key", "expired", "wrong_nonce", "wrong_audience", "wrong_issuer")
CODE_TTL = timedelta(minutes=10)
ID_TOKEN_TTL = timedelta(hours=1)
_NS = uuid.UUID("0d5f8a59-3f0e-4f0e-9d7b-0b3c2b1f6a11")


@dataclass
class PendingCode:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str | None
    user: dict[str, Any]
    tenant: str
    expires_at: datetime


def _new_key() -> tuple[rsa.RSAPrivateKey, str]:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048), secrets.token_hex(8)


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OidcProvider:
    """Authorize, token and keys for the sign-in of people (the Graph half's users)."""

    def __init__(
        self, entra: Entra, clock: Clock, users: Callable[[], Iterable[dict[str, Any]]]
    ) -> None:
        self.entra, self.clock, self._users = entra, clock, users
        self._key, self._kid = _new_key()
        self._codes: dict[str, PendingCode] = {}
        self._tamper: str | None = None
        self._lock = threading.Lock()

    # -- discovery and keys -----------------------------------------------------------------------
    def discovery_extra(self) -> dict[str, Any]:
        return {
            "grant_types_supported": ["authorization_code", "client_credentials"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": [
                *("sub", "iss", "aud", "exp", "iat", "nbf", "nonce", "tid", "ver", "oid"),
                *("email", "name", "preferred_username"),
            ],
        }

    def keys(self, req: Request) -> Response:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        return Response(200, {"keys": [{**jwk, "kid": self._kid, "use": "sig", "alg": "RS256"}]})

    def set_tamper(self, req: Request) -> Response:
        body = req.json() or {}
        kind = body.get("next_id_token")
        if kind is not None and kind not in TAMPERING:
            raise HTTPError(400, "BadRequest", f"next_id_token must be one of {TAMPERING}")
        with self._lock:
            self._tamper = kind
        return Response(200, {"next_id_token": kind})

    # -- authorize --------------------------------------------------------------------------------
    def authorize(self, req: Request, tenant: str) -> Response:
        """GET: the "choose a user" page. POST (the page's form): the code, back to the client."""
        form = _form(req) if req.method == "POST" else {k: v[0] for k, v in req.query.items()}
        redirect_uri = form.get("redirect_uri", "")
        if not form.get("client_id") or urlsplit(redirect_uri).scheme not in ("http", "https"):
            return _page(
                400,
                "Sign-in error",
                "<p>AADSTS900144: The request must contain a client_id and a redirect_uri.</p>",
            )
        problem = _authorize_problem(form)
        if problem:
            return _redirect(redirect_uri, {"error": "invalid_request",
                                            "error_description": problem,
                                            "state": form.get("state")})  # fmt: skip
        if req.method == "GET":
            return self._choose_page(form, tenant)
        user = self._user(form.get("user", ""))
        if user is None:
            return self._choose_page(form, tenant, "That account is not in this directory.")
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = PendingCode(
                form["client_id"],
                redirect_uri,
                form["code_challenge"],
                form.get("nonce"),
                user,
                tenant_guid(tenant),
                self.clock.now() + CODE_TTL,
            )
        return _redirect(redirect_uri, {"code": code, "state": form.get("state")})

    def _user(self, email: str) -> dict[str, Any] | None:
        wanted = email.strip().lower()
        for user in self._users():
            if user.get("accountEnabled", True) and str(user.get("mail", "")).lower() == wanted:
                return user
        return None

    def _choose_page(self, form: dict[str, str], tenant: str, error: str = "") -> Response:
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in form.items()
            if k != "user"
        )
        rows = "".join(
            f'<li><button name="user" value="{html.escape(str(u["mail"]))}">'
            f"{html.escape(str(u.get('displayName') or u['mail']))}"
            f" <small>{html.escape(str(u['mail']))}</small></button></li>"
            for u in sorted(self._users(), key=lambda u: str(u.get("displayName") or ""))
            if u.get("mail") and u.get("accountEnabled", True)
        )
        action = f"/{html.escape(tenant)}/oauth2/v2.0/authorize"
        note = f'<p role="alert">{html.escape(error)}</p>' if error else ""
        body = f'{note}<form method="post" action="{action}">{hidden}<ul>{rows}</ul></form>'
        return _page(200, "Pick an account", body)

    # -- token ------------------------------------------------------------------------------------
    def token(self, req: Request, tenant: str, base: str) -> Response:
        form = _form(req)
        try:
            client_id = self._client(req, form, tenant)
            pending = self._redeem(form, client_id)
        except EntraError as err:
            return self.entra.error_response(err, req)
        id_token = self._id_token(pending, base)
        body = {
            "token_type": "Bearer",
            "scope": "openid email profile",
            "expires_in": int(ID_TOKEN_TTL.total_seconds()),
            "access_token": secrets.token_urlsafe(32),
            "id_token": id_token,
        }
        return Response(200, body, {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"})

    def _client(self, req: Request, form: dict[str, str], tenant: str) -> str:
        """client_secret_basic or client_secret_post; checked when the tenant lists its clients."""
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        auth = req.header("authorization") or ""
        if auth.lower().startswith("basic "):
            try:
                raw = base64.b64decode(auth[6:].strip()).decode()
            except ValueError:
                raw = ""
            user, _, password = raw.partition(":")
            client_id, secret = unquote_plus(user), unquote_plus(password)
        if not client_id:
            raise _invalid("invalid_request", 900144, "The request body must contain client_id.")
        clients = self.entra.clients
        known = clients is None or (
            client_id in clients and secrets.compare_digest(clients[client_id], secret)
        )
        if not secret or not known:
            raise EntraError(
                401,
                "invalid_client",
                7000215,
                "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in "
                f"the request is the client secret value, for a secret added to app '{client_id}'.",
            )
        return client_id

    def _redeem(self, form: dict[str, str], client_id: str) -> PendingCode:
        with self._lock:
            pending = self._codes.pop(form.get("code", ""), None)
        if pending is None or pending.expires_at <= self.clock.now():
            raise _invalid(
                "invalid_grant", 70008, "The provided authorization code or refresh token has "
                "expired due to inactivity, or was already redeemed."
            )  # fmt: skip
        if pending.client_id != client_id or pending.redirect_uri != form.get("redirect_uri"):
            raise _invalid(
                "invalid_grant", 50148, "The redirect_uri or client_id does not match the "
                "authorization request."
            )  # fmt: skip
        verifier = form.get("code_verifier", "")
        if not verifier or not secrets.compare_digest(_s256(verifier), pending.challenge):
            raise _invalid(
                "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge "
                "supplied in the authorization request."
            )  # fmt: skip
        return pending

    def _id_token(self, pending: PendingCode, base: str) -> str:
        with self._lock:
            tamper, self._tamper = self._tamper, None
        now = self.clock.now()
        exp = now - timedelta(minutes=30) if tamper == "expired" else now + ID_TOKEN_TTL
        user = pending.user
        oid = str(uuid.uuid5(_NS, f"{pending.tenant}:{user['id']}"))
        claims = {
            "aud": "someone-else" if tamper == "wrong_audience" else pending.client_id,
            "iss": f"{base}/{pending.tenant}/v2.0" + ("x" if tamper == "wrong_issuer" else ""),
            "iat": int((exp - ID_TOKEN_TTL).timestamp()),
            "nbf": int((exp - ID_TOKEN_TTL).timestamp()),
            "exp": int(exp.timestamp()),
            "sub": str(uuid.uuid5(_NS, f"{pending.client_id}:{oid}")),
            "oid": oid,
            "tid": pending.tenant,
            "ver": "2.0",
            "name": user.get("displayName"),
            "preferred_username": user.get("userPrincipalName") or user.get("mail"),
            "email": user.get("mail"),
        }
        if pending.nonce is not None:
            claims["nonce"] = "not-" + pending.nonce if tamper == "wrong_nonce" else pending.nonce
        key, kid = _new_key() if tamper == "wrong_key" else (self._key, self._kid)
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid, "typ": "JWT"})


def _form(req: Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(req.body.decode(errors="replace")).items()}


def _authorize_problem(form: dict[str, str]) -> str | None:
    if form.get("response_type") != "code":
        return "AADSTS700054: response_type 'code' is the only one served here."
    if "openid" not in form.get("scope", "").split():
        return "AADSTS90009: the scope must include openid to sign a user in."
    if not form.get("code_challenge") or form.get("code_challenge_method") != "S256":
        return "AADSTS501491: a code_challenge with code_challenge_method S256 is required."
    return None


def _invalid(error: str, code: int, text: str) -> EntraError:
    return EntraError(400, error, code, f"AADSTS{code}: {text}")


def _redirect(uri: str, params: dict[str, str | None]) -> Response:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    sep = "&" if urlsplit(uri).query else "?"
    return Response(302, None, {"Location": f"{uri}{sep}{query}", "Cache-Control": "no-store"})


def _page(status: int, title: str, body: str) -> Response:
    text = (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}"
        '</title><meta name=viewport content="width=device-width,initial-scale=1">'
        "<style>body{font:16px system-ui;max-width:30rem;margin:3rem auto;padding:0 1rem}"
        "ul{list-style:none;padding:0}button{display:block;width:100%;text-align:left;"
        "padding:.7rem;margin:.3rem 0;font:inherit;cursor:pointer}small{color:#555}</style>"
        f"</head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return Response(status, text, {"Cache-Control": "no-store"}, content_type="text/html")


def web_section(login_url: str, tenant_id: str, client_id: str, secret_file: str) -> dict[str, Any]:
    """The `web:` section of the sandbox's config: `carnet serve` signs people in here."""
    return {
        "oidc": {
            "issuer": f"{login_url}/{tenant_guid(tenant_id)}/v2.0",
            "client_id": client_id,
            "client_secret_file": secret_file,
            "ca_file": "ca.pem",
        },
        "base_url": "http://127.0.0.1:8000",
        "admins": [],
        "managers": [],
    }
