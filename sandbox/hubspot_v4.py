"""Associations v4 of the HubSpot stand-in: list one record's associations, create / delete one
pair (labelled or default), and the batch read / create / associate-default / archive calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .core import HTTPError, Request, Response
from .hubspot_assoc import type_spec
from .hubspot_objects import standard_error
from .hubspot_request import batch_response, body_object, int_arg
from .hubspot_schema import ASSOC_TYPES, DEFAULT_TYPE, ObjectType, object_type
from .hubspot_store import Store

MAX_ASSOC_PAGE, MAX_ASSOC_BATCH = 500, 1000
Handler = Callable[[Request], Response]


class AssociationsApi:
    def __init__(self, store: Store):
        self.store = store

    def routes(self) -> list[tuple[str, str, Handler]]:
        one = "/crm/v4/objects/{objectType}/{objectId}/associations"
        batch = "/crm/v4/associations/{fromObjectType}/{toObjectType}"
        return [
            ("PUT", one + "/default/{toObjectType}/{toObjectId}", self.create_default),
            ("GET", one + "/{toObjectType}", self.list_page),
            ("PUT", one + "/{toObjectType}/{toObjectId}", self.create),
            ("DELETE", one + "/{toObjectType}/{toObjectId}", self.delete),
            ("GET", batch + "/labels", self.labels),
            ("POST", batch + "/batch/read", self.batch_read),
            ("POST", batch + "/batch/create", self.batch_create),
            ("POST", batch + "/batch/associate/default", self.batch_default),
            ("POST", batch + "/batch/archive", self.batch_archive),
        ]

    def _pair(self, req: Request, from_key: str, to_key: str) -> tuple[ObjectType, ObjectType]:
        return object_type(req.params[from_key]), object_type(req.params[to_key])

    def _linked(self, from_type: str, from_id: str, to_type: str) -> list[dict[str, Any]]:
        rec = self.store.find(from_type, from_id)
        if rec is None:
            return []
        return [
            {"toObjectId": str(to_id), "associationTypes": [type_spec(t) for t in sorted(kinds)]}
            for to_id, kinds in sorted(
                self.store.assoc.targets(from_type, rec.id, to_type).items(),
                key=lambda kv: int(kv[0]),
            )
            if self.store.find(to_type, to_id) is not None
        ]

    # -- one record ----------------------------------------------------------------------------
    def list_page(self, req: Request) -> Response:
        src, dst = self._pair(req, "objectType", "toObjectType")
        limit = int_arg(req, "limit", MAX_ASSOC_PAGE, MAX_ASSOC_PAGE)
        rows = self._linked(src.name, req.params["objectId"], dst.name)
        after = int(req.arg("after") or 0) if (req.arg("after") or "0").isdigit() else 0
        body: dict[str, Any] = {"results": rows[after : after + limit]}
        if after + limit < len(rows):
            body["paging"] = {"next": {"after": str(after + limit)}}
        return Response(200, body)

    def create(self, req: Request) -> Response:
        src, dst = self._pair(req, "objectType", "toObjectType")
        specs = req.json()
        if not isinstance(specs, list) or not specs:
            raise HTTPError(
                400,
                "VALIDATION_ERROR",
                "Invalid input JSON: expected an array of association types",
            )
        types = [self._type_id(src, dst, s) for s in specs]
        return Response(
            201, self._link(src, dst, req.params["objectId"], req.params["toObjectId"], types)
        )

    def create_default(self, req: Request) -> Response:
        src, dst = self._pair(req, "objectType", "toObjectType")
        started = self.store.clock.now()
        result = self._default(src, dst, req.params["objectId"], req.params["toObjectId"])
        return batch_response([result], [], started, self.store.clock.now(), 200)

    def delete(self, req: Request) -> Response:
        src, dst = self._pair(req, "objectType", "toObjectType")
        self.store.assoc.remove(
            src.name, req.params["objectId"], dst.name, req.params["toObjectId"]
        )
        self.store.version += 1
        return Response(204)

    def labels(self, req: Request) -> Response:
        src, dst = self._pair(req, "fromObjectType", "toObjectType")
        rows = [
            type_spec(t.type_id)
            for t in ASSOC_TYPES.values()
            if t.from_type == src.name and t.to_type == dst.name
        ]
        return Response(200, {"results": sorted(rows, key=lambda r: str(r["typeId"]))})

    def _type_id(self, src: ObjectType, dst: ObjectType, spec: Any) -> int:
        raw = spec.get("associationTypeId") if isinstance(spec, dict) else None
        kind = ASSOC_TYPES.get(int(str(raw))) if str(raw).isdigit() else None
        if kind is None or (kind.from_type, kind.to_type) != (src.name, dst.name):
            raise HTTPError(
                400,
                "VALIDATION_ERROR",
                f"{raw} is not a valid association type between {src.name} and {dst.name}",
                extra={
                    "subCategory": "crm.associations.INVALID_ASSOCIATION_TYPE",
                    "context": {
                        "type": [str(raw)],
                        "fromObjectType": [src.name],
                        "toObjectType": [dst.name],
                    },
                },
            )
        return kind.type_id

    def _ends(self, src: ObjectType, dst: ObjectType, from_id: str, to_id: str) -> tuple[str, str]:
        a, b = self.store.find(src.name, from_id), self.store.find(dst.name, to_id)
        if a is None or b is None:
            missing = from_id if a is None else to_id
            raise HTTPError(
                400,
                "VALIDATION_ERROR",
                "One or more associations are invalid",
                extra={
                    "subCategory": "crm.associations.INVALID_OBJECT_IDS",
                    "context": {"ids": [missing]},
                },
            )
        return a.id, b.id

    def _link(
        self, src: ObjectType, dst: ObjectType, from_id: str, to_id: str, types: list[int]
    ) -> dict[str, Any]:
        a, b = self._ends(src, dst, from_id, to_id)
        self.store.associate(src.name, a, dst.name, b, types)
        kinds = self.store.assoc.targets(src.name, a, dst.name).get(b, frozenset())
        return {
            "fromObjectTypeId": src.type_id,
            "fromObjectId": int(a),
            "toObjectTypeId": dst.type_id,
            "toObjectId": int(b),
            "labels": [ASSOC_TYPES[t].label for t in sorted(kinds) if ASSOC_TYPES[t].label],
        }

    def _default(
        self, src: ObjectType, dst: ObjectType, from_id: str, to_id: str
    ) -> dict[str, Any]:
        type_id = DEFAULT_TYPE.get((src.name, dst.name))
        if type_id is None:
            raise HTTPError(
                400,
                "VALIDATION_ERROR",
                f"There is no default association between {src.name} and {dst.name}",
            )
        a, b = self._ends(src, dst, from_id, to_id)
        self.store.associate(src.name, a, dst.name, b, [type_id])
        return {
            "from": {"id": a},
            "to": {"id": b},
            "associationSpec": {
                "associationCategory": "HUBSPOT_DEFINED",
                "associationTypeId": type_id,
            },
        }

    # -- batch ---------------------------------------------------------------------------------
    def _inputs(self, req: Request) -> list[dict[str, Any]]:
        inputs = body_object(req).get("inputs")
        if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
            raise HTTPError(
                400, "VALIDATION_ERROR", "Invalid input JSON: inputs must be an array of objects"
            )
        if len(inputs) > MAX_ASSOC_BATCH:
            raise HTTPError(
                400,
                "VALIDATION_ERROR",
                f"The maximum number of inputs supported in a batch request is "
                f"{MAX_ASSOC_BATCH}. Please reduce the number of items and try again",
            )
        return inputs

    def batch_read(self, req: Request) -> Response:
        src, dst = self._pair(req, "fromObjectType", "toObjectType")
        started, results, errors = self.store.clock.now(), [], []
        for item in self._inputs(req):
            from_id = str(item.get("id", ""))
            rows = self._linked(src.name, from_id, dst.name)
            if rows:
                results.append({"from": {"id": from_id}, "to": rows})
            else:
                errors.append(standard_error(
                    "OBJECT_NOT_FOUND",
                    f"No {dst.singular} is associated with {src.singular} {from_id}.",
                    {"fromObjectId": [from_id], "fromObjectType": [src.singular],
                     "toObjectType": [dst.singular]},
                    "crm.associations.NO_ASSOCIATIONS_FOUND",
                ))  # fmt: skip
        return batch_response(results, errors, started, self.store.clock.now(), 200)

    def batch_create(self, req: Request) -> Response:
        src, dst = self._pair(req, "fromObjectType", "toObjectType")
        started, results, errors = self.store.clock.now(), [], []
        for item in self._inputs(req):
            from_id = str((item.get("from") or {}).get("id", ""))
            to_id = str((item.get("to") or {}).get("id", ""))
            types = [self._type_id(src, dst, s) for s in item.get("types") or [{}]]
            try:
                results.append(self._link(src, dst, from_id, to_id, types))
            except HTTPError as err:
                context = {"fromObjectId": [from_id], "toObjectId": [to_id]}
                sub = err.extra.get("subCategory")
                errors.append(standard_error(err.code, err.message, context, sub))
        return batch_response(results, errors, started, self.store.clock.now(), 201)

    def batch_default(self, req: Request) -> Response:
        src, dst = self._pair(req, "fromObjectType", "toObjectType")
        started, results = self.store.clock.now(), []
        for item in self._inputs(req):
            from_id = str((item.get("from") or {}).get("id", ""))
            to_id = str((item.get("to") or {}).get("id", ""))
            results.append(self._default(src, dst, from_id, to_id))
        return batch_response(results, [], started, self.store.clock.now(), 200)

    def batch_archive(self, req: Request) -> Response:
        src, dst = self._pair(req, "fromObjectType", "toObjectType")
        for item in self._inputs(req):
            from_id = str((item.get("from") or {}).get("id", ""))
            for to in item.get("to") or []:
                if isinstance(to, dict):
                    self.store.assoc.remove(src.name, from_id, dst.name, str(to.get("id", "")))
        self.store.version += 1
        return Response(204)
