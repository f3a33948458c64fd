"""Lists v3 of the HubSpot stand-in (/crm/v3/lists): create, fetch by id or by name, search,
rename, delete, and the memberships of MANUAL / SNAPSHOT lists (add, remove, paged reads).

As HubSpot does: list names are unique in the portal whatever their case (a create or a rename
to a name in use answers 400 VALIDATION_ERROR, subCategory ILS.DUPLICATE_LIST_NAMES); a fetch by
name ignores case; adding a member twice changes nothing, and record ids that are no live record
of the list's object type come back in `recordIdsMissing` (the add answer spells its first key
`recordsIdsAdded`, as HubSpot's own API does); a deleted list answers 404 and frees its name.
Memberships read in record id order, 100 a page by default and at most 250.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .core import HTTPError, Request, Response
from .hubspot_props import hs_time
from .hubspot_request import body_object, int_arg
from .hubspot_schema import OBJECT_TYPES, ObjectType
from .hubspot_store import Store

MAX_MEMBERSHIP_IDS = 100_000  # record ids in one memberships add or remove call
DEFAULT_PAGE, MAX_PAGE = 100, 250  # memberships read a page
MAX_SEARCH = 500  # lists in one search answer
PROCESSING_TYPES = ("MANUAL", "SNAPSHOT", "DYNAMIC")
EDITABLE = ("MANUAL", "SNAPSHOT")  # the processing types whose memberships the API changes
Handler = Callable[[Request], Response]
_TYPE_IDS = {ot.type_id: ot for ot in OBJECT_TYPES.values()}


@dataclass
class ObjectList:
    list_id: str
    name: str
    object_type: ObjectType
    processing_type: str
    created: datetime
    updated: datetime
    version: int = 1
    deleted_at: datetime | None = None
    members: dict[str, datetime] = field(default_factory=dict)  # record id -> when it joined


class ListsApi:
    """Handlers for /crm/v3/lists/...; the lists live here, the records they hold in `store`."""

    def __init__(self, store: Store, base_url: Callable[[], str]):
        self.store, self.base_url = store, base_url
        self.clear()

    def clear(self) -> None:
        """Forget every list (the stand-in's reset)."""
        self.lists: dict[str, ObjectList] = {}
        self.next_id = 1

    def routes(self) -> list[tuple[str, str, Handler]]:
        one = "/crm/v3/lists/{listId}"
        return [
            ("POST", "/crm/v3/lists", self.create),
            ("POST", "/crm/v3/lists/search", self.search),
            ("GET", "/crm/v3/lists/object-type-id/{objectTypeId}/name/{listName}", self.by_name),
            ("GET", one, self.read),
            ("DELETE", one, self.delete),
            ("PUT", one + "/update-list-name", self.rename),
            ("PUT", one + "/memberships/add", self.add),
            ("PUT", one + "/memberships/remove", self.remove),
            ("GET", one + "/memberships", self.memberships),
        ]

    # -- lists ---------------------------------------------------------------------------------
    def create(self, req: Request) -> Response:
        body = body_object(req)
        name, type_id = body.get("name"), body.get("objectTypeId")
        processing = body.get("processingType")
        if not isinstance(name, str) or not name.strip():
            raise _invalid("name is required")
        if processing not in PROCESSING_TYPES:
            raise _invalid(f"processingType must be one of {list(PROCESSING_TYPES)}")
        if processing == "DYNAMIC" and not body.get("filterBranch"):
            raise _invalid("a DYNAMIC list needs a filterBranch")
        ot = _object_type(type_id)
        self._check_free(name, None)
        now = self.store.clock.tick()
        found = ObjectList(str(self.next_id), name, ot, str(processing), now, now)
        self.next_id += 1
        self.lists[found.list_id] = found
        return Response(200, {"list": self.render(found)})

    def read(self, req: Request) -> Response:
        return Response(200, {"list": self.render(self._live(req.params["listId"]))})

    def by_name(self, req: Request) -> Response:
        ot, name = _object_type(req.params["objectTypeId"]), req.params["listName"]
        for found in self.lists.values():
            if found.deleted_at is None and found.object_type is ot and _same(found.name, name):
                return Response(200, {"list": self.render(found)})
        raise HTTPError(
            404, "OBJECT_NOT_FOUND", f"List does not exist with name {name} for {ot.type_id}."
        )

    def search(self, req: Request) -> Response:
        """POST /crm/v3/lists/search: lists whose name holds `query` (any case), by id."""
        body = body_object(req)
        query = str(body.get("query") or "").lower()
        kinds = body.get("processingTypes") or list(PROCESSING_TYPES)
        offset, count = int(body.get("offset") or 0), int(body.get("count") or 20)
        if not 1 <= count <= MAX_SEARCH or offset < 0:
            raise _invalid(f"count must be between 1 and {MAX_SEARCH}; offset at least 0")
        hits = [
            found
            for found in self.lists.values()
            if found.deleted_at is None
            and query in found.name.lower()
            and found.processing_type in kinds
        ]
        page = hits[offset : offset + count]
        return Response(200, {"lists": [self.render(f) for f in page], "total": len(hits),
                              "offset": offset + len(page),
                              "hasMore": offset + len(page) < len(hits)})  # fmt: skip

    def rename(self, req: Request) -> Response:
        found = self._live(req.params["listId"])
        name = req.arg("listName")
        if not name or not name.strip():
            raise _invalid("listName is required")
        self._check_free(name, found.list_id)
        if name != found.name:
            found.name, found.version = name, found.version + 1
            found.updated = self.store.clock.tick()
        return Response(200, {"updatedList": self.render(found)})

    def delete(self, req: Request) -> Response:
        found = self._live(req.params["listId"])
        found.deleted_at = self.store.clock.tick()
        return Response(204)

    # -- memberships ---------------------------------------------------------------------------
    def add(self, req: Request) -> Response:
        found, ids = self._editable(req), _record_ids(req)
        added, missing = [], []
        for record_id in ids:
            rec = self.store.find(found.object_type.name, record_id)
            if rec is None:
                missing.append(record_id)
            elif rec.id not in found.members:
                found.members[rec.id] = self.store.clock.tick()
                added.append(rec.id)
        if added:
            found.updated = self.store.clock.now()
        return Response(200, {"recordsIdsAdded": added, "recordIdsRemoved": [],
                              "recordIdsMissing": missing})  # fmt: skip

    def remove(self, req: Request) -> Response:
        found, ids = self._editable(req), _record_ids(req)
        removed, missing = [], []
        for record_id in ids:
            rec = self.store.find(found.object_type.name, record_id)
            if rec is None:
                missing.append(record_id)
            elif found.members.pop(rec.id, None) is not None:
                removed.append(rec.id)
        if removed:
            found.updated = self.store.clock.now()
        return Response(200, {"recordsIdsAdded": [], "recordIdsRemoved": removed,
                              "recordIdsMissing": missing})  # fmt: skip

    def memberships(self, req: Request) -> Response:
        """GET .../memberships: the live members in record id order from `after` on."""
        found = self._live(req.params["listId"])
        limit = int_arg(req, "limit", DEFAULT_PAGE, MAX_PAGE)
        after = req.arg("after") or "0"
        if not after.isdigit():
            raise _invalid(f"Invalid after: {after}")
        members = self.members(found)
        rest = [(rid, at) for rid, at in members if int(rid) >= int(after)]
        body: dict[str, Any] = {
            "results": [{"recordId": rid, "membershipTimestamp": hs_time(at)}
                        for rid, at in rest[:limit]],
            "total": len(members),
        }  # fmt: skip
        if len(rest) > limit:
            nxt = rest[limit][0]
            link = f"{self.base_url()}/crm/v3/lists/{found.list_id}/memberships?after={nxt}"
            body["paging"] = {"next": {"after": nxt, "link": link}}
        return Response(200, body)

    def members(self, found: ObjectList) -> list[tuple[str, datetime]]:
        """Who is in the list now, in record id order: a deleted record is no member, a merged
        one is its survivor (once)."""
        live: dict[str, datetime] = {}
        for record_id, joined in found.members.items():
            rec = self.store.find(found.object_type.name, record_id)
            if rec is not None:
                live[rec.id] = min(joined, live.get(rec.id, joined))
        return sorted(live.items(), key=lambda item: int(item[0]))

    # -- shared --------------------------------------------------------------------------------
    def render(self, found: ObjectList) -> dict[str, Any]:
        out: dict[str, Any] = {
            "listId": found.list_id,
            "listVersion": found.version,
            "name": found.name,
            "objectTypeId": found.object_type.type_id,
            "processingStatus": "COMPLETE",
            "processingType": found.processing_type,
            "createdAt": hs_time(found.created),
            "updatedAt": hs_time(found.updated),
            "filtersUpdatedAt": hs_time(found.created),
            "size": len(self.members(found)),
        }
        if found.deleted_at is not None:
            out["deletedAt"] = hs_time(found.deleted_at)
        return out

    def admin_view(self) -> list[dict[str, Any]]:
        """Every live list with its member ids (GET /__sandbox/records/lists)."""
        return [
            {**self.render(f), "members": [rid for rid, _ in self.members(f)]}
            for f in self.lists.values()
            if f.deleted_at is None
        ]

    def _live(self, list_id: str) -> ObjectList:
        found = self.lists.get(list_id)
        if found is None or found.deleted_at is not None:
            raise HTTPError(404, "OBJECT_NOT_FOUND", f"List does not exist with ID {list_id}.")
        return found

    def _editable(self, req: Request) -> ObjectList:
        found = self._live(req.params["listId"])
        if found.processing_type not in EDITABLE:
            raise _invalid(
                f"List {found.list_id} has processingType {found.processing_type}: memberships "
                "can only be changed for lists that have a processingType of MANUAL or SNAPSHOT"
            )
        return found

    def _check_free(self, name: str, own_id: str | None) -> None:
        for other in self.lists.values():
            if other.deleted_at is None and other.list_id != own_id and _same(other.name, name):
                raise HTTPError(
                    400,
                    "VALIDATION_ERROR",
                    f"A list named '{other.name}' already exists (list id {other.list_id}).",
                    extra={"subCategory": "ILS.DUPLICATE_LIST_NAMES"},
                )


def _same(a: str, b: str) -> bool:
    return a.casefold() == b.casefold()


def _invalid(message: str) -> HTTPError:
    return HTTPError(400, "VALIDATION_ERROR", f"Invalid input JSON: {message}")


def _object_type(type_id: Any) -> ObjectType:
    ot = _TYPE_IDS.get(str(type_id or ""))
    if ot is None:
        raise HTTPError(
            400,
            "VALIDATION_ERROR",
            f"Unable to infer object type from: {type_id}",
            extra={"subCategory": "ObjectTypeValidationError.UNKNOWN_OBJECT_TYPE"},
        )
    return ot


def _record_ids(req: Request) -> list[str]:
    """The body of a memberships add / remove: a JSON array of record ids (strings or numbers),
    each kept once, at most MAX_MEMBERSHIP_IDS."""
    body = req.json()
    if not isinstance(body, list) or not all(
        isinstance(i, (str, int)) and not isinstance(i, bool) for i in body
    ):
        raise _invalid("expected an array of record ids")
    if len(body) > MAX_MEMBERSHIP_IDS:
        raise HTTPError(
            400,
            "VALIDATION_ERROR",
            f"The maximum number of record ids supported in a membership request is "
            f"{MAX_MEMBERSHIP_IDS}. Please reduce the number of record ids and try again",
            extra={"context": {"recordIds": [str(len(body))]}},
        )
    return list(dict.fromkeys(str(i) for i in body))
