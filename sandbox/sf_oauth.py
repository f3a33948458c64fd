"""The Salesforce stand-in's OAuth endpoints: `POST /services/oauth2/token` (client credentials,
JWT bearer, password grant) and `/services/oauth2/revoke`, refusing what Salesforce refuses.

- The org's connected app (`ConnectedApp`) holds the consumer key and secret it accepts; the
  certificates JWT assertions must be signed with and the users' passwords (with their security
  token) are registered on the stand-in (`register_certificate`, `register_password`; a reset
  forgets them). When the stand-in is built without a connected app (contract tests of the API
  shapes), any non-empty client id and secret, any well-formed assertion and any password are
  accepted; the sandbox runner always gives it one, with the secrets it writes into the
  generated config.
- The client-credentials flow works only on the org's My Domain: a token request that reaches a
  generic login host (login.salesforce.com, test.salesforce.com: the hosts in `login_hosts`)
  answers 400 `invalid_grant` "request not supported on this domain", as Salesforce does.
- Wrong credentials get Salesforce's answers: 400 `invalid_client_id` "client identifier
  invalid" (unknown consumer key), `invalid_client` "invalid client credentials" (wrong secret),
  `invalid_grant` "authentication failure" (wrong password) or "invalid assertion" (a JWT not
  signed with the connected app's certificate).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import jwt

from .core import HTTPError, Request, Response

if TYPE_CHECKING:
    from .salesforce import SalesforceStandIn, Session

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass(frozen=True)
class ConnectedApp:
    """What the org's connected app accepts."""

    client_id: str
    client_secret: str


class OAuth:
    def __init__(self, sf: SalesforceStandIn, app: ConnectedApp | None):
        self.sf, self.app = sf, app
        self.login_hosts: set[str] = set()  # host:port of the generic login listener(s)
        self.certificates: list[str] = []  # PEM public keys JWT assertions may be signed for
        self.passwords: dict[str, str] = {}  # lower-cased username -> password + security token

    def reset(self) -> None:
        self.certificates.clear()
        self.passwords.clear()

    def register(self) -> None:
        self.sf.add("POST", "/services/oauth2/token", self.token, faultable=False)
        self.sf.add("POST", "/services/oauth2/revoke", self.revoke, faultable=False)

    def token(self, req: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace")).items()}
        grant = form.get("grant_type", "")
        if grant == "client_credentials":
            if (req.header("host") or "").lower() in self.login_hosts:
                raise HTTPError(400, "INVALID_GRANT", "request not supported on this domain")
            user = self._client_credentials(req, form)
        elif grant == JWT_GRANT:
            user = self._jwt_user(form.get("assertion", ""))
        elif grant == "password":
            user = self._password_user(form)
        else:
            raise HTTPError(400, "UNSUPPORTED_GRANT_TYPE", "grant type not supported")
        return Response(200, self._token_body(self.sf.issue_session(user)))

    # -- the grants ------------------------------------------------------------------------------
    def _client_credentials(self, req: Request, form: dict[str, str]) -> str:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        header = req.header("authorization") or ""
        if header.startswith("Basic "):
            try:
                decoded = base64.b64decode(header[6:]).decode()
            except (ValueError, UnicodeDecodeError):
                decoded = ""
            client_id, _, secret = decoded.partition(":")
        if not client_id:
            raise HTTPError(400, "INVALID_CLIENT_ID", "client identifier invalid")
        if not secret:
            raise HTTPError(400, "INVALID_CLIENT", "invalid client credentials")
        self._check_client(client_id, secret)
        return self.sf.api_user

    def _check_client(self, client_id: str, secret: str | None) -> None:
        """The consumer key, then (when given) the consumer secret, against the connected app."""
        if self.app is None:
            return
        if not secrets.compare_digest(client_id, self.app.client_id):
            raise HTTPError(400, "INVALID_CLIENT_ID", "client identifier invalid")
        if secret is not None and not secrets.compare_digest(secret, self.app.client_secret):
            raise HTTPError(400, "INVALID_CLIENT", "invalid client credentials")

    def _password_user(self, form: dict[str, str]) -> str:
        if not form.get("client_id"):
            raise HTTPError(400, "INVALID_CLIENT_ID", "client identifier invalid")
        self._check_client(form["client_id"], form.get("client_secret", ""))
        username, password = form.get("username", ""), form.get("password", "")
        if not username or not password:
            raise HTTPError(400, "INVALID_GRANT", "authentication failure")
        if self.app is not None:
            known = self.passwords.get(username.lower())
            if known is None or not secrets.compare_digest(known, password):
                raise HTTPError(400, "INVALID_GRANT", "authentication failure")
        return self._user_named(username)

    def _jwt_user(self, assertion: str) -> str:
        try:
            claims = jwt.decode(assertion, options={"verify_signature": False, "verify_exp": False})
        except jwt.PyJWTError:
            raise HTTPError(400, "INVALID_GRANT", "invalid assertion") from None
        if any(not claims.get(k) for k in ("iss", "sub", "aud", "exp")):
            raise HTTPError(400, "INVALID_GRANT", "invalid assertion")
        self._check_client(str(claims["iss"]), None)
        if self.app is not None and not self._signed(assertion):
            raise HTTPError(400, "INVALID_GRANT", "invalid assertion")
        try:
            expired = float(claims["exp"]) <= self.sf.clock.now().timestamp()
        except (TypeError, ValueError):
            expired = True
        if expired:
            raise HTTPError(400, "INVALID_GRANT", "expired authorization code")
        return self._user_named(str(claims["sub"]))

    def _signed(self, assertion: str) -> bool:
        """Whether one of the connected app's certificates verifies the assertion's signature."""
        for key in self.certificates:
            try:
                jwt.decode(
                    assertion,
                    key,
                    algorithms=["RS256"],
                    options={"verify_exp": False, "verify_aud": False},
                )
            except (jwt.PyJWTError, ValueError):
                continue
            return True
        return False

    def _user_named(self, username: str) -> str:
        for rec in self.sf.store.rows("User"):
            if rec["Username"].lower() == username.lower() and rec["IsActive"]:
                return str(rec["Id"])
        return self.sf.api_user

    def _token_body(self, session: Session) -> dict[str, Any]:
        base = self.sf.base_url or "https://127.0.0.1"
        issued = str(int(self.sf.clock.now().timestamp() * 1000))
        identity = f"{base}/id/{self.sf.org_id}/{session.user_id}"
        digest = hmac.new(b"carnet-sandbox", (identity + issued).encode(), hashlib.sha256)
        return {
            "access_token": session.token,
            "instance_url": base,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued,
            "signature": base64.b64encode(digest.digest()).decode(),
            "scope": "api",
        }

    def revoke(self, req: Request) -> Response:
        form = parse_qs(req.body.decode("utf-8", "replace"))
        token = (form.get("token") or [req.arg("token") or ""])[0]
        with self.sf.lock:
            self.sf.sessions.pop(token, None)
        return Response(200, None)
