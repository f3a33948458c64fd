"""The HTTP half of the Exchange adapter: an msal confidential client (secret or certificate) and
one requests session that call Microsoft Graph, map its answers onto Carnet's errors, count calls.

Every call goes through the one retry policy (`retrying`): 429 and 503 become RateLimited with the
Retry-After Graph sent, other 5xx and network faults RetriableError. A 401 drops msal's cached token
(msal trusts its own clock, not Graph's) and the call is repeated once with a fresh token.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msal
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from connector.core.answers import Answer
from connector.core.errors import (
    AuthError,
    FatalError,
    RateLimited,
    RetriableError,
    UsageError,
)
from connector.core.http import check_pagination, parse_retry_after, retrying

log = logging.getLogger(__name__)

TIMEOUT = (10.0, 60.0)  # connect, read (seconds)
# Graph's national clouds answer for their own resource; anything else (a proxy, the sandbox)
# is taken to front the global service.
GRAPH_HOSTS = (
    "graph.microsoft.com",
    "graph.microsoft.us",
    "dod-graph.microsoft.us",
    "microsoftgraph.chinacloudapi.cn",
)


class GraphError(FatalError):
    """Graph refused a call in a way retrying cannot fix; carries its status and error code."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"Microsoft Graph answered {status} {code}: {message}")
        self.status, self.code = status, code


class NotFound(GraphError):
    """404, or 403 for a mailbox the app may not read (an application access policy)."""


class SyncStateGone(GraphError):
    """410: the delta token expired or the sync state is gone; a new round must start."""


def graph_scope(graph_url: str) -> str:
    host = urlsplit(graph_url).hostname or ""
    return f"https://{host if host in GRAPH_HOSTS else GRAPH_HOSTS[0]}/.default"


def certificate_credential(path: Path, thumbprint: str) -> dict[str, str]:
    """msal's certificate credential from a PEM holding the private key and the certificate.
    The thumbprint must be the SHA-1 of that certificate (what Entra shows for it)."""
    try:
        pem = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"certificate_file {path}: cannot read: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(pem, password=None)
        certs = x509.load_pem_x509_certificates(pem)
    except (ValueError, TypeError) as exc:
        raise UsageError(
            f"certificate_file {path}: needs an unencrypted PEM private key and its certificate "
            f"({exc})"
        ) from None
    wanted = thumbprint.replace(":", "").replace(" ", "").upper()
    prints = {c.fingerprint(hashes.SHA1()).hex().upper() for c in certs}
    if wanted not in prints:
        raise UsageError(
            f"certificate_thumbprint {thumbprint} is not the SHA-1 thumbprint of the certificate "
            f"in {path} ({', '.join(sorted(prints))})"
        )
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {"private_key": private, "thumbprint": wanted}


class _TimeoutClient:
    """msal's http_client: the shared session, with a timeout on every call (msal sets none)."""

    def __init__(self, session: requests.Session):
        self.session = session

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT)
        return self.session.get(url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT)
        return self.session.post(url, **kwargs)

    def close(self) -> None:
        self.session.close()


# Entra's AADSTS codes for a credential the config names -> that setting: a wrong or expired
# secret (or a certificate Entra does not know), an application id the tenant does not have
REFUSED_SETTING = {
    7000215: "client_secret",
    7000222: "client_secret",
    700027: "certificate_file",
    700016: "client_id",
}


class GraphClient:
    """GET calls to Graph with a client-credentials token; `sleep` is the retry policy's sleep."""

    def __init__(self, settings: Any, secret: Callable[[str], str]):
        self.settings = settings
        self.base = str(settings.graph_url).rstrip("/")
        self.scope = graph_scope(self.base)
        self.http = requests.Session()
        self.http.trust_env = False  # else REQUESTS_CA_BUNDLE overrides verify
        self.http.verify = str(settings.ca_file) if settings.ca_file else True
        if settings.certificate_file:
            credential: Any = certificate_credential(
                settings.certificate_file, settings.certificate_thumbprint or ""
            )
        else:
            credential = secret("client_secret")
        self.app = msal.ConfidentialClientApplication(
            settings.client_id,
            client_credential=credential,
            authority=settings.authority,
            http_client=_TimeoutClient(self.http),
            instance_discovery=False,
        )
        self.calls = 0
        self.sleep: Callable[[float], None] = time.sleep

    # -- calls ------------------------------------------------------------------------------------
    def get(
        self,
        url: str,
        params: dict[str, str] | None = None,
        prefer: str | None = None,
        *,
        listing: bool = False,
        keys: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """One GET of a path under the Graph URL, or of a nextLink / deltaLink, with the policy:
        a JSON object holding `keys`; for a `listing` (a collection), with its `value` a list
        of objects that have an id, and its links strings."""
        full = self._url(url)
        shape = (listing, keys)
        return retrying(lambda: self._get_once(full, params, prefer, shape), sleep=self._sleep)

    def pages(
        self, path: str, params: dict[str, str] | None = None, prefer: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every page of a collection, following @odata.nextLink."""
        seen: set[Any] = set()
        url: str | None = path
        while url:
            body = self.get(url, params, prefer, listing=True)
            yield body
            url, params = body.get("@odata.nextLink"), None
            if url:
                check_pagination(seen, url)

    def close(self) -> None:
        self.http.close()

    def _sleep(self, seconds: float) -> None:
        self.sleep(seconds)

    def _url(self, url: str) -> str:
        if not url.startswith(("https://", "http://")):
            return f"{self.base}/{url.lstrip('/')}"
        # a link Graph handed back: never send the token to another host
        if urlsplit(url).netloc != urlsplit(self.base).netloc:
            raise FatalError(f"Graph returned a link to another host: {urlsplit(url).netloc}")
        return url

    def _get_once(
        self,
        url: str,
        params: dict[str, str] | None,
        prefer: str | None,
        shape: tuple[bool, tuple[str, ...]],
    ) -> dict[str, Any]:
        resp = self._send(url, params, prefer)
        if resp.status_code == 401:
            # msal keeps a token until its own clock says it expired: drop it and ask again
            self.app.remove_tokens_for_client()
            resp = self._send(url, params, prefer)
            if resp.status_code == 401:
                code, message = _error_of(resp)
                raise AuthError(f"Microsoft Graph refused a fresh token: {code}: {message}")
        return _body(resp, *shape)

    def _send(
        self, url: str, params: dict[str, str] | None, prefer: str | None
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {self._token()}", "Accept": "application/json"}
        if prefer:
            headers["Prefer"] = prefer
        self.calls += 1
        try:
            return self.http.get(url, params=params, headers=headers, timeout=TIMEOUT)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise RetriableError(f"Microsoft Graph unreachable: {type(exc).__name__}") from None

    def _token(self) -> str:
        try:
            result = self.app.acquire_token_for_client(scopes=[self.scope])
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise RetriableError(f"Entra ID unreachable: {type(exc).__name__}") from None
        if "access_token" in result:
            return str(result["access_token"])
        error = str(result.get("error", "unknown_error"))
        description = str(result.get("error_description", "")).split("\r\n")[0]
        if error in ("temporarily_unavailable", "server_error"):
            raise RetriableError(f"Entra ID: {error}: {description}")
        why = f"Entra ID refused the client credentials: {error}: {description}"
        refused = next((REFUSED_SETTING[c] for c in result.get("error_codes") or []
                        if c in REFUSED_SETTING), None)  # fmt: skip
        raise self.settings.refused(refused, why) if refused else AuthError(why)


def _error_of(resp: requests.Response) -> tuple[str, str]:
    try:
        error = resp.json().get("error") or {}
    except ValueError:
        error = {}
    if not isinstance(error, dict):
        return str(error), ""
    return str(error.get("code", resp.reason)), str(error.get("message", ""))


def _body(resp: requests.Response, listing: bool, keys: tuple[str, ...]) -> dict[str, Any]:
    """The JSON of a 2xx answer, of the shape asked for; else the error the caller's next step
    depends on."""
    status = resp.status_code
    where = urlsplit(resp.url).path
    if 200 <= status < 300:
        answer = Answer("Microsoft Graph", f"GET {where}")
        body = answer.object(answer.json(resp.content), *keys, *(["value"] if listing else []))
        if listing:
            answer.rows(body, "value", "id")
            for link in ("@odata.nextLink", "@odata.deltaLink"):
                answer.text(body, link)
        return body
    code, message = _error_of(resp)
    if status in (429, 503):
        wait = parse_retry_after(resp.headers.get("Retry-After"))
        raise RateLimited(f"Microsoft Graph {status} {code} on {where}", wait)
    if status >= 500 or status == 408:
        raise RetriableError(f"Microsoft Graph {status} {code} on {where}")
    if status == 410:
        raise SyncStateGone(status, code, f"{message} ({where})")
    if status in (403, 404):
        raise NotFound(status, code, f"{message} ({where})")
    raise GraphError(status, code, f"{message} ({where})")
