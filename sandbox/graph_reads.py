"""The Graph resources the stand-in answers: users (paged, `$select`, the `$filter` subset),
contact folders, contacts (Outlook paging: `$top` / `Prefer` / `$skip`) and the delta entry point.

`GraphStandIn` (graph.py) mixes these handlers in and routes to them; it brings the token check
(`_guard`), the records (`store`), the delta state (`delta`) and `base_url`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from sandbox.core import HTTPError, Request, Response
from sandbox.graph_delta import ContactDelta, contact_select, show_contact
from sandbox.graph_odata import (
    USER_TYPE,
    applied,
    decode_state,
    encode_state,
    link,
    parse_select,
    parse_top,
    prefer_maxpagesize,
    user_filter,
)
from sandbox.graph_records import USER_DEFAULT_FIELDS, USER_EXTRA_FIELDS, Mailbox
from sandbox.graph_store import GraphStore

USERS_PAGE, USERS_MAX = 100, 999
CONTACTS_PAGE, CONTACTS_MAX = 10, 1000
V1 = "/v1.0"


class GraphReads:
    """The GET handlers of users, contact folders, contacts and contact delta."""

    base_url: str
    store: GraphStore
    delta: ContactDelta

    def _guard(self, req: Request, *options: str) -> None:
        raise NotImplementedError  # GraphStandIn checks the token and the query options

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


def _int_arg(req: Request, name: str) -> int:
    raw = req.arg(name)
    try:
        value = int(raw) if raw is not None else 0
    except ValueError:
        raise HTTPError(400, "BadRequest", f"Invalid {name} query option value '{raw}'.") from None
    return max(value, 0)


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
