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
from sandbox.graph_delta import ContactDelta, contact_select, show_contact
from sandbox.graph_entra import Entra
from sandbox.graph_odata import (
    USER_TYPE,
    applied,
    decode_state,
    encode_state,
    graph_error,
    link,
    parse_select,
    parse_top,
    prefer_maxpagesize,
    user_filter,
)
from sandbox.graph_store import (
    USER_DEFAULT_FIELDS,
    USER_EXTRA_FIELDS,
    GraphStore,
    Mailbox,
)
from sandbox.world import World

USERS_PAGE, USERS_MAX = 100, 999
CONTACTS_PAGE, CONTACTS_MAX = 10, 1000
V1 = "/v1.0"
MAILBOX_PATH = "/v1.0/users/{user}"
_MAILBOX_PREFIX = "/v1.0/users/"


class GraphStandIn(StandIn):
    name = "graph"

    def __init__(
        self,
        world: World,
        clock: Clock | None = None,
        *,
        token_ttl_s: int = 3600,
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
        self.delta = ContactDelta(self.store, self.clock, delta_ttl_s, delta_max_page_size)
        self._inflight: Counter[str] = Counter()
        self._inflight_lock = threading.Lock()
        self._add_routes()

    def _add_routes(self) -> None:
        login = [
            ("GET", "/{tenant}/v2.0/.well-known/openid-configuration", self._openid),
            ("POST", "/{tenant}/oauth2/v2.0/token", self._token),
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
        return Response(200, self.entra.openid_configuration(self.base_url, req.params["tenant"]))

    def _token(self, req: Request) -> Response:
        return self.entra.token(req, req.params["tenant"])

    # -- users ------------------------------------------------------------------------------------
    def _list_users(self, req: Request) -> Response:
        self._guard(req, "$select", "$top", "$filter", "$skiptoken")
        select = self._user_select(req)
        top = parse_top(req)
        if top is not None and not 1 <= top <= USERS_MAX:
            raise HTTPError(
                400,
                "Request_UnsupportedQuery",
                f"Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive.",
            )
        size = top or USERS_PAGE
        keep = user_filter(req.arg("$filter"))
        after = _users_after(req.arg("$skiptoken"))
        users = sorted(
            (u for u in self.store.users.values() if u["id"] > after and keep(u)),
            key=lambda u: u["id"],
        )
        page = users[:size]
        body: dict[str, Any] = {"@odata.context": f"{self.base_url}{V1}/$metadata#users"}
        if len(users) > size:
            params = {
                "$top": req.arg("$top"),
                "$select": req.arg("$select"),
                "$filter": req.arg("$filter"),
                "$skiptoken": encode_state({"after": page[-1]["id"]}),
            }
            body["@odata.nextLink"] = link(self.base_url, f"{V1}/users", params)
        body["value"] = [self._show_user(u, select) for u in page]
        return Response(200, body)

    def _get_user(self, req: Request) -> Response:
        self._guard(req, "$select")
        select = self._user_select(req)
        user = self.store.user(req.params["user"])
        body = {"@odata.context": f"{self.base_url}{V1}/$metadata#users/$entity"}
        return Response(200, {**body, **self._show_user(user, select)})

    def _user_select(self, req: Request) -> list[str] | None:
        known = set(USER_DEFAULT_FIELDS + USER_EXTRA_FIELDS)
        return parse_select(req, known, USER_TYPE, "Request_BadRequest")

    @staticmethod
    def _show_user(user: dict[str, Any], select: list[str] | None) -> dict[str, Any]:
        fields = select if select is not None else list(USER_DEFAULT_FIELDS)
        return {name: user.get(name) for name in fields}

    # -- contact folders --------------------------------------------------------------------------
    def _list_folders(self, req: Request) -> Response:
        self._guard(req, "$top", "$skip")
        mb = self.store.mailbox(req.params["user"])
        return self._folder_page(req, mb, mb.default_id)

    def _list_child_folders(self, req: Request) -> Response:
        self._guard(req, "$top", "$skip")
        mb = self.store.mailbox(req.params["user"])
        return self._folder_page(req, mb, self.store.folder(mb, req.params["folder"]).id)

    def _folder_page(self, req: Request, mb: Mailbox, parent_id: str) -> Response:
        folders = [f.render() for f in mb.children(parent_id)]
        return self._offset_page(req, folders, f"{req.path}", "contactFolders")

    def _get_folder(self, req: Request) -> Response:
        self._guard(req)
        mb = self.store.mailbox(req.params["user"])
        folder = self.store.folder(mb, req.params["folder"])
        context = f"{self.base_url}{V1}/$metadata#users('{mb.user_id}')/contactFolders/$entity"
        return Response(200, {"@odata.context": context, **folder.render()})

    # -- contacts ---------------------------------------------------------------------------------
    def _list_default_contacts(self, req: Request) -> Response:
        self._guard(req, "$select", "$top", "$skip")
        mb = self.store.mailbox(req.params["user"])
        return self._contact_page(req, mb, mb.default_id)

    def _list_folder_contacts(self, req: Request) -> Response:
        self._guard(req, "$select", "$top", "$skip")
        mb = self.store.mailbox(req.params["user"])
        return self._contact_page(req, mb, self.store.folder(mb, req.params["folder"]).id)

    def _get_contact(self, req: Request) -> Response:
        self._guard(req, "$select")
        mb = self.store.mailbox(req.params["user"])
        select = contact_select(req)
        contact = self.store.contacts.get(unquote(req.params["contact"]))
        if contact is None or contact.mailbox != mb.user_id:
            raise HTTPError(
                404, "ErrorItemNotFound", "The specified object was not found in the store."
            )
        context = f"{self.base_url}{V1}/$metadata#users('{mb.user_id}')/contacts/$entity"
        return Response(200, {"@odata.context": context, **show_contact(contact, select)})

    def _contact_page(self, req: Request, mb: Mailbox, folder_id: str) -> Response:
        select = contact_select(req)
        rows = sorted(self.store.folder_contacts(mb, folder_id), key=lambda c: (c.created, c.id))
        return self._offset_page(
            req, [show_contact(c, select) for c in rows], req.path, "contacts", user_id=mb.user_id
        )

    def _offset_page(
        self, req: Request, rows: list[dict[str, Any]], path: str, what: str, user_id: str = ""
    ) -> Response:
        """One Outlook page: `$top` or Prefer sets the size (10 by default, at most 1000), `$skip`
        the offset; the nextLink keeps the query options (not the Prefer header)."""
        top, prefer = parse_top(req), prefer_maxpagesize(req)
        if top is not None and top < 1:
            raise HTTPError(400, "BadRequest", f"Invalid $top query option value '{top}'.")
        size = min(top or prefer or CONTACTS_PAGE, CONTACTS_MAX)
        skip = _int_arg(req, "$skip")
        page = rows[skip : skip + size]
        owner = f"users('{user_id}')/" if user_id else ""
        body: dict[str, Any] = {"@odata.context": f"{self.base_url}{V1}/$metadata#{owner}{what}"}
        if skip + size < len(rows):
            params = {k: req.arg(k) for k in ("$select", "$top")}
            body["@odata.nextLink"] = link(
                self.base_url, path, {**params, "$skip": str(skip + size)}
            )
        body["value"] = page
        resp = Response(200, body)
        return applied(resp, size) if prefer is not None and top is None else resp

    def _delta(self, req: Request) -> Response:
        self._guard(req, "$select", "$top", "$skiptoken", "$deltatoken")
        mb = self.store.mailbox(req.params["user"])
        folder = self.store.folder(mb, req.params["folder"])
        return self.delta.answer(req, self.base_url, mb, folder.id)

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


def _int_arg(req: Request, name: str) -> int:
    raw = req.arg(name)
    try:
        value = int(raw) if raw is not None else 0
    except ValueError:
        raise HTTPError(400, "BadRequest", f"Invalid {name} query option value '{raw}'.") from None
    return max(value, 0)


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


def _users_after(token: str | None) -> str:
    """The id a users `$skiptoken` continues after."""
    if token is None:
        return ""
    state = decode_state(token)
    if state is None or not isinstance(state.get("after"), str):
        raise HTTPError(
            400, "Request_BadRequest", "The specified page token value has expired or is invalid."
        )
    return str(state["after"])
