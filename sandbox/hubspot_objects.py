"""CRM v3 object endpoints of the HubSpot stand-in: basic list / read / create / update / archive,
merge, search, and the batch read / create / update / upsert / archive calls (100 inputs a call,
207 with per-record errors when some fail).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from .core import HTTPError, Request, Response
from .hubspot_request import batch_response, body_object, bool_arg, int_arg, list_arg
from .hubspot_schema import ASSOC_TYPES, ObjectType, object_type
from .hubspot_search import Search
from .hubspot_store import Record, Store

MAX_PAGE, DEFAULT_PAGE, MAX_BATCH, MAX_HISTORY_BATCH = 100, 10, 100, 50
Handler = Callable[[Request], Response]


class ObjectsApi:
    """Handlers for /crm/v3/objects/...; `partial` decides whether one batch record fails."""

    def __init__(
        self,
        store: Store,
        partial: Callable[[], bool],
        base_url: Callable[[], str],
        search_lag_s: float = 0.0,
    ):
        self.store, self.partial, self.base_url = store, partial, base_url
        self.search_engine = Search(store, search_lag_s)

    def routes(self) -> list[tuple[str, str, Handler]]:
        base = "/crm/v3/objects/{objectType}"
        return [
            ("POST", base + "/search", self.search),
            ("POST", base + "/merge", self.merge),
            ("POST", base + "/batch/read", self.batch_read),
            ("POST", base + "/batch/create", self.batch_create),
            ("POST", base + "/batch/update", self.batch_update),
            ("POST", base + "/batch/upsert", self.batch_upsert),
            ("POST", base + "/batch/archive", self.batch_archive),
            ("GET", base, self.list_page),
            ("POST", base, self.create),
            ("GET", base + "/{objectId}", self.read),
            ("PATCH", base + "/{objectId}", self.update),
            ("DELETE", base + "/{objectId}", self.archive),
        ]

    # -- basic ---------------------------------------------------------------------------------
    def list_page(self, req: Request) -> Response:
        ot = object_type(req.params["objectType"])
        limit = int_arg(req, "limit", DEFAULT_PAGE, MAX_PAGE)
        after_raw = req.arg("after") or "0"
        if not after_raw.isdigit():
            raise HTTPError(400, "VALIDATION_ERROR", f"Invalid after: {after_raw}")
        records, nxt = self.store.page(ot.name, int(after_raw), limit, bool_arg(req, "archived"))
        body: dict[str, Any] = {"results": [self._render(req, r) for r in records]}
        if nxt is not None:
            link = f"{self.base_url()}/crm/v3/objects/{ot.name}?limit={limit}&after={nxt}"
            body["paging"] = {"next": {"after": nxt, "link": link}}
        return Response(200, body)

    def _render(self, req: Request, rec: Record) -> dict[str, Any]:
        return self.store.render(
            rec,
            list_arg(req, "properties"),
            list_arg(req, "propertiesWithHistory"),
            list_arg(req, "associations"),
        )

    def read(self, req: Request) -> Response:
        ot = object_type(req.params["objectType"])
        object_id = req.params["objectId"]
        rec = self.store.lookup(
            ot.name, object_id, req.arg("idProperty"), bool_arg(req, "archived")
        )
        if rec is None:
            raise HTTPError(
                404,
                "OBJECT_NOT_FOUND",
                "Object not found.  objectId are usually numeric.",
                extra={"context": {"id": [object_id]}},
            )
        return Response(200, self._render(req, rec))

    def create(self, req: Request) -> Response:
        ot, body = object_type(req.params["objectType"]), body_object(req)
        values = body.get("properties") or {}
        links = self._associations(ot, body.get("associations") or [])
        rec = self.store.create(ot.name, values)
        for to_type, to_id, types in links:
            self.store.associate(ot.name, rec.id, to_type, to_id, types)
        return Response(201, self.store.render(rec, list(values)))

    def update(self, req: Request) -> Response:
        ot, body = object_type(req.params["objectType"]), body_object(req)
        object_id = req.params["objectId"]
        values = body.get("properties") or {}
        rec = self.store.lookup(ot.name, object_id, req.arg("idProperty"))
        if rec is None:
            raise HTTPError(
                404,
                "OBJECT_NOT_FOUND",
                "Object not found.  objectId are usually numeric.",
                extra={"context": {"id": [object_id]}},
            )
        self.store.update(rec, values)
        return Response(200, self.store.render(rec, list(values)))

    def archive(self, req: Request) -> Response:
        ot = object_type(req.params["objectType"])
        rec = self.store.find(ot.name, req.params["objectId"])
        if rec is not None:
            self.store.archive(rec)
        return Response(204)

    def merge(self, req: Request) -> Response:
        ot, body = object_type(req.params["objectType"]), body_object(req)
        primary, other = body.get("primaryObjectId"), body.get("objectIdToMerge")
        if not primary or not other:
            raise HTTPError(
                400,
                "VALIDATION_ERROR",
                "Invalid input JSON: primaryObjectId and objectIdToMerge are required",
            )
        rec = self.store.merge(ot.name, str(primary), str(other))
        return Response(200, self.store.render(rec))

    def search(self, req: Request) -> Response:
        ot = object_type(req.params["objectType"])
        return Response(200, self.search_engine.run(ot.name, req.json()))

    def _associations(self, ot: ObjectType, raw: Any) -> list[tuple[str, str, list[int]]]:
        """`associations` of a create, checked before anything is written."""
        if not isinstance(raw, list):
            raise HTTPError(
                400, "VALIDATION_ERROR", "Invalid input JSON: associations must be an array"
            )
        links = []
        for item in raw:
            to_id = str(((item or {}).get("to") or {}).get("id") or "")
            types = [
                t.get("associationTypeId")
                for t in (item or {}).get("types") or []
                if isinstance(t, dict)
            ]
            if not to_id or not types:
                raise HTTPError(
                    400,
                    "VALIDATION_ERROR",
                    "One or more associations are invalid",
                    extra={"subCategory": "crm.associations.INVALID_ASSOCIATIONS"},
                )
            to_type = _association_target(ot, types)
            if self.store.find(to_type, to_id) is None:
                raise HTTPError(
                    400,
                    "VALIDATION_ERROR",
                    "One or more associations are invalid",
                    extra={
                        "subCategory": "crm.associations.INVALID_OBJECT_IDS",
                        "context": {"ids": [to_id]},
                    },
                )
            links.append((to_type, self.store.get(to_type, to_id).id, [int(str(t)) for t in types]))
        return links

    # -- batch ---------------------------------------------------------------------------------
    def batch_read(self, req: Request) -> Response:
        ot, body = object_type(req.params["objectType"]), body_object(req)
        inputs, started = _inputs(body), self.store.clock.now()
        history = [str(p) for p in body.get("propertiesWithHistory") or []]
        if history and len(inputs) > MAX_HISTORY_BATCH:
            raise HTTPError(
                400,
                "VALIDATION_ERROR",
                "The maximum number of inputs supported in a batch request for "
                f"property histories is {MAX_HISTORY_BATCH}. Please reduce the "
                "number of items and try again",
            )
        names = [str(p) for p in body.get("properties") or []] or None
        id_property, archived = body.get("idProperty"), bool_arg(req, "archived")
        found: dict[str, Record] = {}
        missing: list[str] = []
        for item in inputs:
            key = str(item.get("id", ""))
            rec = self.store.lookup(ot.name, key, id_property, archived)
            if rec is None:
                missing.append(key)
            else:
                found.setdefault(rec.id, rec)
        results = [self.store.render(r, names, history or None) for r in found.values()]
        errors = [_not_found(ot, missing)] if missing else []
        return self._batch(results, errors, started, 200)

    def _batch(
        self,
        results: list[dict[str, Any]],
        errors: list[dict[str, Any]],
        started: datetime,
        ok_status: int,
    ) -> Response:
        return batch_response(results, errors, started, self.store.clock.now(), ok_status)

    def batch_create(self, req: Request) -> Response:
        ot, body = object_type(req.params["objectType"]), body_object(req)
        inputs, started = _inputs(body), self.store.clock.now()
        checked = [
            (
                self.store.props.validate(ot.name, i.get("properties") or {}),
                self._associations(ot, i.get("associations") or []),
                i,
            )
            for i in inputs
        ]
        _no_duplicates([v.get("email") for v, _l, _i in checked if ot.name == "contacts"])
        results, errors = [], []
        for values, links, item in checked:
            trace = item.get("objectWriteTraceId")
            if self.partial():
                errors.append(_failed(ot, {"objectWriteTraceId": [trace]} if trace else {}))
                continue
            rec = self.store.create(ot.name, values)
            for to_type, to_id, types in links:
                self.store.associate(ot.name, rec.id, to_type, to_id, types)
            results.append(self._written(rec, values, trace))
        return self._batch(results, errors, started, 201)

    def _written(self, rec: Record, values: dict[str, Any], trace: Any) -> dict[str, Any]:
        out = self.store.render(rec, list(values))
        if trace:
            out["objectWriteTraceId"] = str(trace)
        return out

    def batch_update(self, req: Request) -> Response:
        ot, body = object_type(req.params["objectType"]), body_object(req)
        inputs, started = _inputs(body), self.store.clock.now()
        _no_duplicates([str(i.get("id", "")) for i in inputs])
        checked = [
            (self.store.props.validate(ot.name, i.get("properties") or {}), i) for i in inputs
        ]
        results, errors, missing = [], [], []
        for values, item in checked:
            key = str(item.get("id", ""))
            rec = self.store.lookup(ot.name, key, item.get("idProperty"))
            if rec is None:
                missing.append(key)
            elif self.partial():
                errors.append(_failed(ot, {"ids": [key]}))
            else:
                self.store.update(rec, values, check=False)
                results.append(self._written(rec, values, item.get("objectWriteTraceId")))
        if missing:
            errors.insert(0, _not_found(ot, missing))
        return self._batch(results, errors, started, 200)

    def batch_upsert(self, req: Request) -> Response:
        ot, body = object_type(req.params["objectType"]), body_object(req)
        inputs, started = _inputs(body), self.store.clock.now()
        for item in inputs:
            if not item.get("idProperty"):
                raise HTTPError(
                    400,
                    "VALIDATION_ERROR",
                    "Invalid input JSON: upsert inputs need idProperty and id",
                )
            self.store.check_id_property(ot.name, str(item["idProperty"]))
        _no_duplicates([str(i.get("id", "")).lower() for i in inputs])
        checked = [
            (self.store.props.validate(ot.name, i.get("properties") or {}), i) for i in inputs
        ]
        results, errors = [], []
        for values, item in checked:
            key, id_property = str(item.get("id", "")), str(item["idProperty"])
            if self.partial():
                errors.append(_failed(ot, {"ids": [key]}))
                continue
            rec = self.store.lookup(ot.name, key, id_property)
            if rec is None:
                rec = self.store.create(ot.name, {**values, id_property: key})
                results.append({**self.store.render(rec, list(values)), "new": True})
            else:
                self.store.update(rec, values, check=False)
                results.append({**self.store.render(rec, list(values)), "new": False})
        return self._batch(results, errors, started, 200)

    def batch_archive(self, req: Request) -> Response:
        ot, body = object_type(req.params["objectType"]), body_object(req)
        for item in _inputs(body):
            rec = self.store.find(ot.name, str(item.get("id", "")))
            if rec is not None:
                self.store.archive(rec)
        return Response(204)


def _inputs(body: dict[str, Any]) -> list[dict[str, Any]]:
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
        raise HTTPError(
            400, "VALIDATION_ERROR", "Invalid input JSON: inputs must be an array of objects"
        )
    if len(inputs) > MAX_BATCH:
        raise HTTPError(
            400,
            "VALIDATION_ERROR",
            f"The maximum number of inputs supported in a batch request is "
            f"{MAX_BATCH}. Please reduce the number of items and try again",
            extra={"context": {"inputs": [str(len(inputs))]}},
        )
    return inputs


def _association_target(ot: ObjectType, types: list[Any]) -> str:
    """The object type a create's association types point to; 400 unless they all agree."""
    targets = set()
    for type_id in types:
        kind = ASSOC_TYPES.get(int(type_id)) if str(type_id).isdigit() else None
        if kind is None or kind.from_type != ot.name:
            raise HTTPError(
                400,
                "VALIDATION_ERROR",
                f"{type_id} is not a valid association type for {ot.name}",
                extra={"subCategory": "crm.associations.INVALID_ASSOCIATION_TYPE"},
            )
        targets.add(kind.to_type)
    if len(targets) != 1:
        raise HTTPError(
            400,
            "VALIDATION_ERROR",
            f"Association types {types} point to different object types",
            extra={"subCategory": "crm.associations.INVALID_ASSOCIATION_TYPE"},
        )
    return targets.pop()


def _no_duplicates(keys: list[Any]) -> None:
    seen: set[Any] = set()
    dups: set[Any] = set()
    for key in keys:
        if key and key in seen:
            dups.add(key)
        seen.add(key)
    if dups:
        raise HTTPError(
            400,
            "VALIDATION_ERROR",
            f"Duplicate IDs found in batch input: {sorted(dups)}. IDs must be unique",
            extra={"context": {"ids": sorted(dups)}},
        )


def standard_error(
    category: str, message: str, context: dict[str, Any], sub_category: str | None = None
) -> dict[str, Any]:
    """One entry of a 207 batch answer's `errors`, in the shape of HubSpot's `StandardError`:
    `errors` and `links` always there, `subCategory` (when there is one) an object."""
    error: dict[str, Any] = {"status": "error", "category": category}
    if sub_category is not None:
        error["subCategory"] = {"name": sub_category}
    return error | {"message": message, "context": context, "errors": [], "links": {}}


def _not_found(ot: ObjectType, ids: list[str]) -> dict[str, Any]:
    return standard_error(
        "OBJECT_NOT_FOUND",
        f"Could not get some {ot.label} objects, they may be deleted or not exist. Check that "
        "ids are valid.",
        {"ids": ids},
    )


def _failed(ot: ObjectType, context: dict[str, Any]) -> dict[str, Any]:
    """One record of a batch that met the "partial" fault."""
    return standard_error(
        "INTERNAL_ERROR",
        f"An internal error occurred while writing this {ot.singular}; the other inputs were "
        "processed. Please try again.",
        context,
    )
