"""Contact delta of one contact folder, as Outlook serves it through Graph
(`GET /users/{id}/contactFolders/{fid}/contacts/delta`).

A round starts without a token and pages through every live contact of the folder (by id) with
`@odata.nextLink` ($skiptoken); its last page carries `@odata.deltaLink` ($deltatoken). Calling
the deltaLink starts a round of the changes since: each contact changed, created or moved in once
(its current state), each deleted or moved-out one as `@removed`. A contact changed while a round
runs comes again in the next round. The tokens are opaque (base64 JSON: mailbox, folder, cursor,
`$select`, the generation and time they were issued); one older than `ttl_s` or from an earlier
generation (`expire_all`, a reset) answers 410 SyncStateNotFound.
"""

from __future__ import annotations

from typing import Any

from sandbox.core import Clock, HTTPError, Request, Response
from sandbox.graph_odata import (
    CONTACT_TYPE,
    applied,
    decode_state,
    encode_state,
    link,
    parse_select,
    prefer_maxpagesize,
    project,
)
from sandbox.graph_records import CONTACT_FIELDS, Contact, Mailbox
from sandbox.graph_store import GraphStore

DEFAULT_PAGE = 10
CONTACT_ODATA_TYPE = "#microsoft.graph.contact"


def contact_select(req: Request) -> list[str] | None:
    return parse_select(req, CONTACT_FIELDS, CONTACT_TYPE, "RequestBroker--ParseUri")


def show_contact(contact: Contact, select: list[str] | None) -> dict[str, Any]:
    return project(contact.render(), select, ("@odata.etag", "id"))


class ContactDelta:
    def __init__(self, store: GraphStore, clock: Clock, ttl_s: float, max_page_size: int) -> None:
        self.store, self.clock = store, clock
        self.ttl_s, self.max_page_size = ttl_s, max_page_size
        self.generation = 0

    def expire_all(self) -> int:
        """Every token issued so far becomes expired (410 from now on)."""
        self.generation += 1
        return self.generation

    def answer(self, req: Request, base_url: str, mb: Mailbox, folder_id: str) -> Response:
        state = self._state(req, mb, folder_id)
        prefer = prefer_maxpagesize(req)
        size = min(prefer or DEFAULT_PAGE, self.max_page_size)
        items, state["a"], done = self._page(mb, folder_id, state, size)
        path = f"/v1.0/users/{mb.user_id}/contactFolders/{folder_id}/contacts/delta"
        body: dict[str, Any] = {"@odata.context": f"{base_url}/v1.0/$metadata#Collection(contact)"}
        state["t"] = self.clock.now().timestamp()
        if done:
            token = {**state, "p": "c", "s": state["h"], "a": 0}
            body["@odata.deltaLink"] = link(base_url, path, {"$deltatoken": encode_state(token)})
        else:
            body["@odata.nextLink"] = link(base_url, path, {"$skiptoken": encode_state(state)})
        body["value"] = items
        resp = Response(200, body)
        return applied(resp, size) if prefer is not None else resp

    def _state(self, req: Request, mb: Mailbox, folder_id: str) -> dict[str, Any]:
        """Where this round stands: a fresh round (no token), the next page of a round
        ($skiptoken), or the changes since a finished round ($deltatoken)."""
        raw = req.arg("$skiptoken") or req.arg("$deltatoken")
        if raw is None:
            return {
                "u": mb.user_id,
                "f": folder_id,
                "g": self.generation,
                "p": "i",
                "s": 0,
                "h": self.store.seq,
                "a": "",
                "sel": contact_select(req),
            }
        state = decode_state(raw)
        if state is None or state.get("u") != mb.user_id or state.get("f") != folder_id:
            raise HTTPError(
                400,
                "ErrorInvalidSyncStateData",
                "The sync state data is corrupted or otherwise invalid.",
            )
        age = self.clock.now().timestamp() - float(state.get("t", 0))
        if state.get("g") != self.generation or age > self.ttl_s:
            raise HTTPError(
                410,
                "SyncStateNotFound",
                "The sync state generation is not found. The delta token is expired and data "
                "must be synchronized again.",
            )
        if req.arg("$deltatoken") is not None:  # a round of the changes since the last one
            state["h"] = self.store.seq
        return state

    def _page(
        self, mb: Mailbox, folder_id: str, state: dict[str, Any], size: int
    ) -> tuple[list[dict[str, Any]], Any, bool]:
        """The items of one page, the cursor after it, and whether the round is done."""
        select = state.get("sel")
        if state["p"] == "i":  # the first round: every live contact, by id
            live = sorted(
                (c for c in self.store.folder_contacts(mb, folder_id) if c.id > state["a"]),
                key=lambda c: c.id,
            )
            page = live[:size]
            cursor = page[-1].id if page else state["a"]
            return [_item(c, select) for c in page], cursor, len(live) <= size
        changes = [
            (seq, cid)
            for seq, cid in self.store.changes(mb, folder_id, state["s"], state["h"])
            if seq > state["a"]
        ]
        items = []
        for _seq, cid in changes[:size]:
            contact = self.store.contacts.get(cid)
            if contact is not None and contact.folder_id == folder_id:
                items.append(_item(contact, select))
            else:
                items.append(
                    {
                        "@odata.type": CONTACT_ODATA_TYPE,
                        "id": cid,
                        "@removed": {"reason": "deleted"},
                    }
                )
        cursor = changes[size - 1][0] if len(changes) > size else state["h"]
        return items, cursor, len(changes) <= size


def _item(contact: Contact, select: list[str] | None) -> dict[str, Any]:
    return {"@odata.type": CONTACT_ODATA_TYPE, **show_contact(contact, select)}
