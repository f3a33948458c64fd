"""Microsoft Graph + Entra ID stand-in: msal gets a token from `/{tenant}/oauth2/v2.0/token`, then
`/v1.0/users`, contacts, contact folders and contact delta answer as Graph does, over TLS.

msal against it: `ConfidentialClientApplication(client_id, client_credential=secret or
{"private_key", "thumbprint" | "public_certificate"}, authority=f"{url}/{tenant}",
http_client=<requests.Session, trust_env=False, verify=ca_file>, instance_discovery=False)`.
Without `instance_discovery=False` (or `validate_authority=False`, which msal documents as the
older switch) msal first asks https://login.microsoftonline.com/common/discovery/instance about
the unknown host; one of the two is needed, `instance_discovery=False` is the documented one.
msal's token cache keeps a token until msal's own clock says it expired: after a 401
InvalidAuthenticationToken, call `app.remove_tokens_for_client()` and acquire again.

What it copies from the real service:
- users: 100 a page by default, `$top` 1..999 (else 400 Request_UnsupportedQuery), opaque
  `$skiptoken` paging, the v1.0 default property set unless `$select`, a `$filter` subset
  (eq / startswith, joined by and).
- contacts: 10 a page by default; `$top` or `Prefer: odata.maxpagesize=N` raise it, capped at 1000
  (the documented Outlook range); `Preference-Applied` echoes an honoured Prefer; `$skip` paging as
  Outlook does. `/users/{id}/contacts` is the default Contacts folder only; `/contactFolders` lists
  the sub-folders of that folder (each `parentFolderId` is the default folder's id, which is also
  every default-folder contact's `parentFolderId`).
- delta (the documented folder form only; `/users/{id}/contacts/delta` is not served): 10 a page,
  `Prefer` raises it up to `delta_max_page_size` (200, what Outlook is reported to cap contact
  delta at), `$top` is ignored there; see graph_delta.py.
- per mailbox, at most `mailbox_concurrency` (4) requests at once; more answer 429
  ApplicationThrottled ("MailboxConcurrency") with Retry-After (`retry_after_s`, 1 s).
- query options a resource does not take here answer 400 rather than being silently ignored.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from typing import Any
from urllib.parse import unquote

from sandbox.core import Clock, HTTPError, Request, Response, StandIn
from sandbox.graph_delta import ContactDelta
from sandbox.graph_entra import Entra
from sandbox.graph_odata import graph_error
from sandbox.graph_reads import V1, GraphReads
from sandbox.graph_store import GraphStore
from sandbox.oidc import OidcProvider
from sandbox.world import World

MAILBOX_PATH = "/v1.0/users/{user}"
_MAILBOX_PREFIX = "/v1.0/users/"


class GraphStandIn(GraphReads, StandIn):
    name = "graph"

    def __init__(
        self,
        world: World,
        clock: Clock | None = None,
        *,
        token_ttl_s: int = 3599,  # what Entra answers as expires_in
        delta_ttl_s: float = 30 * 86400,
        delta_max_page_size: int = 200,
        mailbox_concurrency: int | None = 4,
        retry_after_s: int = 1,
        clients: dict[str, str] | None = None,
    ) -> None:
        super().__init__(clock)
        self.mailbox_concurrency = mailbox_concurrency
        self.retry_after_s = retry_after_s
        self.entra = Entra(self.clock, token_ttl_s, clients)
        self.store = GraphStore(world, self.clock)
        self.oidc = OidcProvider(self.entra, self.clock, lambda: self.store.users.values())
        self.delta = ContactDelta(self.store, self.clock, delta_ttl_s, delta_max_page_size)
        self._inflight: Counter[str] = Counter()
        self._inflight_lock = threading.Lock()
        self._add_routes()

    def _add_routes(self) -> None:
        login = [
            ("GET", "/{tenant}/v2.0/.well-known/openid-configuration", self._openid),
            ("POST", "/{tenant}/oauth2/v2.0/token", self._token),
            ("GET", "/{tenant}/oauth2/v2.0/authorize", self._authorize),
            ("POST", "/{tenant}/oauth2/v2.0/authorize", self._authorize),
            ("GET", "/{tenant}/discovery/v2.0/keys", self.oidc.keys),
            ("POST", "/__sandbox/oidc", self.oidc.set_tamper),
            ("POST", "/__sandbox/expire-delta", self._expire_delta),
        ]
        for method, template, handler in login:
            self.add(method, template, handler, faultable=False)
        mailbox = MAILBOX_PATH
        for template, handler in [
            (f"{V1}/users", self._list_users),
            (mailbox, self._get_user),
            (f"{mailbox}/contacts", self._list_default_contacts),
            (f"{mailbox}/contacts/{{contact}}", self._get_contact),
            (f"{mailbox}/contactFolders", self._list_folders),
            (f"{mailbox}/contactFolders/{{folder}}", self._get_folder),
            (f"{mailbox}/contactFolders/{{folder}}/childFolders", self._list_child_folders),
            (f"{mailbox}/contactFolders/{{folder}}/contacts", self._list_folder_contacts),
            (f"{mailbox}/contactFolders/{{folder}}/contacts/delta", self._delta),
        ]:
            self.add("GET", template, handler)

    # -- dispatch: the per-mailbox concurrency limit sits in front of the shared one --------------
    def dispatch(self, req: Request) -> Response:
        key = self._mailbox_key(req.path)
        if key is None or self.mailbox_concurrency is None:
            return super().dispatch(req)
        with self._inflight_lock:
            busy = self._inflight[key] >= self.mailbox_concurrency
            if not busy:
                self._inflight[key] += 1
        if busy:
            self._count_call(req)
            return self._throttled(
                req, "ApplicationThrottled", "Application is over its MailboxConcurrency limit."
            )
        try:
            return super().dispatch(req)
        finally:
            with self._inflight_lock:
                self._inflight[key] -= 1

    def _mailbox_key(self, path: str) -> str | None:
        if not path.startswith(_MAILBOX_PREFIX):
            return None
        parts = path[len(_MAILBOX_PREFIX) :].split("/")
        if len(parts) < 2 or parts[1] not in ("contacts", "contactFolders"):
            return None
        user = self.store.find_user(parts[0])
        return user["id"] if user else unquote(parts[0]).lower()

    def _count_call(self, req: Request) -> None:
        for route in self.routes:
            if route.method == req.method and route.regex.match(req.path):
                with self.lock:
                    self.calls[f"{route.method} {route.template}"] += 1
                return

    # -- errors, faults, headers ------------------------------------------------------------------
    def render_error(self, err: HTTPError, req: Request) -> Response:
        status, code, message = err.status, err.code, err.message
        if code == "NOT_FOUND":
            segment = req.path.rstrip("/").rsplit("/", 1)[-1]
            status, code = 400, "BadRequest"
            message = f"Resource not found for the segment '{segment}'."
        elif code == "METHOD_NOT_ALLOWED":
            code = "Request_BadRequest"
            message = f"Specified HTTP method is not allowed for the request target: {req.method}."
        return graph_error(status, code, message, req, self.clock.now(), err.headers)

    def render_fault(self, kind: str, req: Request) -> Response:
        now = self.clock.now()
        if kind == "429":
            return self._throttled(req, "TooManyRequests", "Please retry again later.")
        if kind == "429-no-retry-after":
            return graph_error(429, "TooManyRequests", "Please retry again later.", req, now)
        if kind == "503":
            return graph_error(
                503,
                "serviceNotAvailable",
                "The service is not available. Try the request again after a delay.",
                req,
                now,
                self._retry_after(),
            )
        if kind == "expire":
            self.entra.expire(req.header("authorization"))
            return self._unauthorized(req, "Lifetime validation failed, the token is expired.")
        if kind == "401":  # refused, the token kept: a fresh one meets the same answer
            return self._unauthorized(req, "Access token validation failure. Invalid audience.")
        if kind == "403":  # the app lacks the permission (User.Read.All, Contacts.Read)
            if "/contact" in req.path:
                message = "Access is denied. Check credentials and try again."
                return graph_error(403, "ErrorAccessDenied", message, req, now)
            message = "Insufficient privileges to complete the operation."
            return graph_error(403, "Authorization_RequestDenied", message, req, now)
        return graph_error(500, "generalException", "An unspecified error has occurred.", req, now)

    def decorate(self, resp: Response, req: Request) -> Response:
        """Graph tags every answer with request-id and echoes client-request-id."""
        if "request-id" not in resp.headers:
            request_id = str(uuid.uuid4())
            resp.headers["request-id"] = request_id
            resp.headers["client-request-id"] = req.header("client-request-id") or request_id
        return resp

    def _retry_after(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}

    def _throttled(self, req: Request, code: str, message: str) -> Response:
        return graph_error(429, code, message, req, self.clock.now(), self._retry_after())

    def _unauthorized(self, req: Request, message: str) -> Response:
        return self.render_error(_unauthorized(message), req)

    def _guard(self, req: Request, *options: str) -> None:
        """Check the bearer token, then refuse query options this resource does not take here
        (rather than silently ignore a `$filter` or `$orderby` and answer the wrong rows)."""
        problem = self.entra.check(req.header("authorization"))
        if problem is not None:
            raise _unauthorized(problem[1])
        for name in req.query:
            if name.startswith("$") and name not in options:
                raise HTTPError(
                    400, "BadRequest", f"Query option '{name}' is not supported on this resource."
                )

    # -- Entra ----------------------------------------------------------------------------------
    def _openid(self, req: Request) -> Response:
        doc = self.entra.openid_configuration(self.base_url, req.params["tenant"])
        return Response(200, {**doc, **self.oidc.discovery_extra()})

    def _token(self, req: Request) -> Response:
        if b"grant_type=authorization_code" in req.body:  # signing a person in (sandbox/oidc.py)
            return self.oidc.token(req, req.params["tenant"], self.base_url)
        return self.entra.token(req, req.params["tenant"])

    def _authorize(self, req: Request) -> Response:
        return self.oidc.authorize(req, req.params["tenant"])

    # -- admin ------------------------------------------------------------------------------------
    def _expire_delta(self, req: Request) -> Response:
        return Response(200, {"generation": self.delta.expire_all()})

    def admin_records(self, obj: str) -> list[dict[str, Any]]:
        if obj == "users":
            return [dict(u) for u in self.store.users.values()]
        if obj == "contacts":
            return [{**c.render(), "_mailbox": c.mailbox} for c in self.store.contacts.values()]
        raise _unknown_object(obj)

    def admin_upsert(self, obj: str, body: dict[str, Any]) -> dict[str, Any]:
        if obj == "users":
            return dict(self.store.upsert_user(body))
        if obj == "contacts":
            contact = self.store.upsert_contact(body)
            return {**contact.render(), "_mailbox": contact.mailbox}
        raise _unknown_object(obj)

    def admin_delete(self, obj: str, record_id: str) -> None:
        if obj == "users":
            self.store.delete_user(record_id)
        elif obj == "contacts":
            self.store.delete_contact(record_id)
        else:
            raise _unknown_object(obj)

    def admin_merge(self, obj: str, winner: str, loser: str) -> dict[str, Any]:
        if obj not in ("users", "contacts"):
            raise _unknown_object(obj)
        raise HTTPError(400, "notSupported", "Microsoft Graph has no merge operation.")

    def reset(self) -> None:
        """Reload the world; delta tokens issued before become expired (410), access tokens stay."""
        self.store.load()
        self.delta.expire_all()


def _unknown_object(obj: str) -> HTTPError:
    return HTTPError(
        404,
        "Request_ResourceNotFound",
        f"Unknown object '{obj}'; the Graph stand-in holds 'users' and 'contacts'.",
    )


def _unauthorized(message: str) -> HTTPError:
    www = (
        'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/'
        'oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"'
    )
    return HTTPError(401, "InvalidAuthenticationToken", message, {"WWW-Authenticate": www})
