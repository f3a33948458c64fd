"""Owners, properties, property groups and pipelines of the HubSpot stand-in (CRM v3), in the
shapes the API returns them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .core import HTTPError, Request, Response
from .hubspot_props import Properties, hs_time
from .hubspot_request import body_object, bool_arg, int_arg
from .hubspot_schema import PIPELINES, object_type

MAX_OWNERS_PAGE, DEFAULT_OWNERS_PAGE = 500, 100
Handler = Callable[[Request], Response]
_PIPELINE_BORN = hs_time(datetime(2019, 8, 6, 2, 43, 14, tzinfo=UTC))


def owner_view(owner: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in owner.items() if not k.startswith("_")}


def pipeline_view(index: int) -> dict[str, Any]:
    pipeline_id, label, stages = PIPELINES[index]
    return {
        "label": label, "displayOrder": index, "id": pipeline_id,
        "stages": [
            {"label": s_label, "displayOrder": i,
             "metadata": {"isClosed": str(i >= len(stages) - 2).lower(),
                          "probability": str(prob)},
             "id": sid, "createdAt": _PIPELINE_BORN, "updatedAt": _PIPELINE_BORN,
             "archived": False, "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT"}
            for i, (sid, s_label, prob) in enumerate(stages)
        ],
        "createdAt": _PIPELINE_BORN, "updatedAt": _PIPELINE_BORN, "archived": False,
    }  # fmt: skip


class MetaApi:
    """Handlers for owners, properties and pipelines."""

    def __init__(
        self,
        owners: Callable[[], list[dict[str, Any]]],
        props: Callable[[], Properties],
        base_url: Callable[[], str],
    ):
        self.owners, self.props, self.base_url = owners, props, base_url

    def routes(self) -> list[tuple[str, str, Handler]]:
        props = "/crm/v3/properties/{objectType}"
        pipes = "/crm/v3/pipelines/{objectType}"
        return [
            ("GET", "/crm/v3/owners", self.owners_page),
            ("GET", "/crm/v3/owners/{ownerId}", self.owner),
            ("GET", props + "/groups", self.groups),
            ("POST", props + "/groups", self.create_group),
            ("GET", props + "/groups/{groupName}", self.group),
            ("GET", props, self.properties),
            ("POST", props, self.create_property),
            ("GET", props + "/{propertyName}", self.property),
            ("GET", pipes, self.pipelines),
            ("GET", pipes + "/{pipelineId}", self.pipeline),
            ("GET", pipes + "/{pipelineId}/stages", self.stages),
        ]

    # -- owners --------------------------------------------------------------------------------
    def owners_page(self, req: Request) -> Response:
        limit = int_arg(req, "limit", DEFAULT_OWNERS_PAGE, MAX_OWNERS_PAGE)
        archived, email = bool_arg(req, "archived"), (req.arg("email") or "").lower()
        rows = [
            o
            for o in self.owners()
            if o["archived"] == archived and (not email or o["email"] == email)
        ]
        after = req.arg("after")
        if after:
            if not after.isdigit():
                raise HTTPError(400, "VALIDATION_ERROR", f"Invalid after: {after}")
            rows = [o for o in rows if int(o["id"]) >= int(after)]
        body: dict[str, Any] = {"results": [owner_view(o) for o in rows[:limit]]}
        if len(rows) > limit:
            nxt = rows[limit]["id"]
            body["paging"] = {
                "next": {"after": nxt, "link": f"{self.base_url()}/crm/v3/owners/?after={nxt}"}
            }
        return Response(200, body)

    def owner(self, req: Request) -> Response:
        wanted, by = req.params["ownerId"], req.arg("idProperty") or "id"
        archived = bool_arg(req, "archived")
        for o in self.owners():
            if str(o["userId" if by == "userId" else "id"]) == wanted and o["archived"] == archived:
                return Response(200, owner_view(o))
        raise HTTPError(
            404,
            "OBJECT_NOT_FOUND",
            f"Owner {wanted} not found",
            extra={"context": {"id": [wanted]}},
        )

    # -- properties and groups ---------------------------------------------------------------
    def properties(self, req: Request) -> Response:
        ot, archived = object_type(req.params["objectType"]), bool_arg(req, "archived")
        rows = [p for p in self.props().defs[ot.name].values() if p["archived"] == archived]
        return Response(200, {"results": rows})

    def property(self, req: Request) -> Response:
        ot, name = object_type(req.params["objectType"]), req.params["propertyName"]
        prop = self.props().get(ot.name, name)
        if prop is None:
            raise HTTPError(
                404,
                "OBJECT_NOT_FOUND",
                f"Property {name} does not exist for object type {ot.type_id}",
                extra={"context": {"name": [name]}},
            )
        return Response(200, prop)

    def create_property(self, req: Request) -> Response:
        ot = object_type(req.params["objectType"])
        return Response(201, self.props().create(ot.name, body_object(req)))

    def groups(self, req: Request) -> Response:
        ot = object_type(req.params["objectType"])
        return Response(200, {"results": list(self.props().groups[ot.name].values())})

    def group(self, req: Request) -> Response:
        ot, name = object_type(req.params["objectType"]), req.params["groupName"]
        group = self.props().groups[ot.name].get(name)
        if group is None:
            raise HTTPError(
                404,
                "OBJECT_NOT_FOUND",
                f"Property group {name} does not exist",
                extra={"context": {"name": [name]}},
            )
        return Response(200, group)

    def create_group(self, req: Request) -> Response:
        ot = object_type(req.params["objectType"])
        return Response(201, self.props().create_group(ot.name, body_object(req)))

    # -- pipelines -----------------------------------------------------------------------------
    def pipelines(self, req: Request) -> Response:
        ot = object_type(req.params["objectType"])
        rows = [pipeline_view(i) for i in range(len(PIPELINES))] if ot.name == "deals" else []
        return Response(200, {"results": rows})

    def _pipeline(self, req: Request) -> dict[str, Any]:
        ot, wanted = object_type(req.params["objectType"]), req.params["pipelineId"]
        for i, (pipeline_id, _label, _stages) in enumerate(PIPELINES):
            if ot.name == "deals" and pipeline_id == wanted:
                return pipeline_view(i)
        raise HTTPError(
            404,
            "OBJECT_NOT_FOUND",
            f"Unable to find pipeline {wanted}",
            extra={"context": {"pipelineId": [wanted]}},
        )

    def pipeline(self, req: Request) -> Response:
        return Response(200, self._pipeline(req))

    def stages(self, req: Request) -> Response:
        return Response(200, {"results": self._pipeline(req)["stages"]})
