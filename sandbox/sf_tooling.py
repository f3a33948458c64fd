"""The Tooling API part of the Salesforce stand-in: create custom fields through
`tooling/sobjects/CustomField` and list them with `tooling/query` (DeveloperName, TableEnumOrId).

A created field joins the org at once (existing records read null, a checkbox its default) but,
as in Salesforce, with no field-level security: no user sees it in describe or SOQL, and writes
to it fail with INVALID_FIELD_FOR_INSERT_UPDATE, until a FieldPermissions row of a permission set
assigned to the user grants it (sf_access). Creating it again fails with DUPLICATE_DEVELOPER_NAME.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .core import HTTPError, Request, Response
from .sf_fields import Field, make_object, ref, s
from .sf_schema import Schema
from .sf_store import Store
from .soql import SoqlError, compile_query

if TYPE_CHECKING:
    from .salesforce import SalesforceStandIn, Session

_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*(?<!_)$")
_NAME_RULE = (
    "The API name can only contain underscores and alphanumeric characters. It must be unique, "
    "begin with a letter, not include spaces, not end with an underscore, and not contain two "
    "consecutive underscores."
)
# Metadata API field type -> (describe type, fixed length or 0)
TYPES: dict[str, tuple[str, int]] = {
    "Text": ("string", 0),
    "TextArea": ("textarea", 255),
    "LongTextArea": ("textarea", 0),
    "Number": ("double", 0),
    "Percent": ("percent", 0),
    "Currency": ("currency", 0),
    "Checkbox": ("boolean", 0),
    "Date": ("date", 0),
    "DateTime": ("datetime", 0),
    "Email": ("email", 80),
    "Phone": ("phone", 40),
    "Url": ("url", 255),
    "Picklist": ("picklist", 255),
}


def tooling_schema() -> Schema:
    custom_field = make_object(
        "CustomField",
        "00N",
        [
            s("DeveloperName", 40, nillable=False),
            s("TableEnumOrId", 40, nillable=False),
            s("FullName", 255, create=False, update=False),
            Field("Metadata", "complexvalue", create=False, update=False),
            s("NamespacePrefix", 15),
            s("Description", 1000),
            s("InlineHelpText", 510),
            ref("EntityDefinitionId", "EntityDefinition", rel="EntityDefinition"),
        ],
    )
    return Schema([custom_field])


class FieldSpecError(Exception):
    def __init__(self, code: str, message: str, fields: list[str] | None = None):
        super().__init__(message)
        self.code, self.message, self.fields = code, message, fields or []


class ToolingAPI:
    def __init__(self, sf: SalesforceStandIn):
        self.sf = sf
        self.schema = tooling_schema()
        self.store = Store(self.schema, sf.clock)

    def reset(self) -> None:
        self.schema = tooling_schema()
        self.store = Store(self.schema, self.sf.clock)

    def register(self) -> None:
        self.sf.api("POST", "/tooling/sobjects/CustomField", self.create)
        self.sf.api("GET", "/tooling/sobjects/CustomField/{id}", self.get)
        self.sf.api("GET", "/tooling/query", self.query)

    def create(self, req: Request, session: Session) -> Response:
        body = req.json()
        try:
            if not isinstance(body, dict):
                raise FieldSpecError("JSON_PARSER_ERROR", "The request body must be an object")
            sobj_name, field = self.field_from(body.get("FullName"), body.get("Metadata"))
        except FieldSpecError as err:
            raise HTTPError(400, err.code, err.message, extra={"fields": err.fields}) from None
        self.add_field(sobj_name, field)
        values = {
            "DeveloperName": field.name.removesuffix("__c"),
            "TableEnumOrId": sobj_name,
            "FullName": f"{sobj_name}.{field.name}",
            "Description": body["Metadata"].get("description"),
            "InlineHelpText": body["Metadata"].get("inlineHelpText"),
        }
        values["Metadata"] = dict(body["Metadata"])
        rec = self.store.insert("CustomField", values, session.user_id)
        body = {"id": rec["Id"], "success": True, "errors": [], "warnings": [], "infos": []}
        return Response(201, body)

    def field_from(self, full_name: Any, meta: Any) -> tuple[str, Field]:
        if not isinstance(full_name, str) or "." not in full_name:
            raise FieldSpecError(
                "FIELD_INTEGRITY_EXCEPTION", "FullName must be Object.Field__c", ["FullName"]
            )
        if not isinstance(meta, dict):
            raise FieldSpecError("REQUIRED_FIELD_MISSING", "Metadata is required", ["Metadata"])
        obj_name, _, api_name = full_name.partition(".")
        sobj = self.sf.schema.get(obj_name)
        if sobj is None:
            raise FieldSpecError(
                "FIELD_INTEGRITY_EXCEPTION", f"Entity {obj_name} does not exist", ["FullName"]
            )
        dev_name = api_name.removesuffix("__c")
        if not api_name.endswith("__c") or not _NAME.match(dev_name) or len(dev_name) > 40:
            raise FieldSpecError("FIELD_INTEGRITY_EXCEPTION", f"Field name: {_NAME_RULE}")
        if sobj.field(api_name) is not None:
            raise FieldSpecError(
                "DUPLICATE_DEVELOPER_NAME",
                f"There is already a field named {dev_name} on {sobj.name}.",
                ["FullName"],
            )
        return sobj.name, build_field(api_name, meta)

    def add_field(self, obj: str, f: Field) -> None:
        self.sf.schema.objects[obj].add(f)
        self.sf.security.secure(obj, f.name)
        if f.type == "boolean":
            table = self.sf.store.tables[obj]
            for rid, rec in table.items():
                table[rid] = {**rec, f.name: bool(f.defaulted)}

    def get(self, req: Request, session: Session) -> Response:
        rec = self.store.lookup("CustomField", req.params["id"])
        if rec is None:
            raise HTTPError(404, "NOT_FOUND", "The requested resource does not exist")
        url = f"/services/data/v{req.params['version']}/tooling/sobjects/CustomField/{rec['Id']}"
        return Response(200, {"attributes": {"type": "CustomField", "url": url}, **rec})

    def query(self, req: Request, session: Session) -> Response:
        try:
            bound = compile_query(req.arg("q") or "", self.schema, self.store.lookup)
        except SoqlError as err:
            raise HTTPError(400, err.code, err.message) from None
        heavy = {c.field.name for c in bound.columns} & {"FullName", "Metadata"}
        if heavy and (bound.limit is None or bound.limit > 1):
            raise HTTPError(
                400,
                "MALFORMED_QUERY",
                "When retrieving results with Metadata or FullName fields, the query "
                "qualifications must specify no more than one row for retrieval.",
            )
        rows = bound.run(self.store.rows(bound.obj.name))
        url_base = f"/services/data/v{req.params['version']}/tooling/sobjects"
        records = [] if bound.count else [bound.render(r, url_base) for r in rows]
        return Response(
            200,
            {
                "size": len(rows),
                "totalSize": len(rows),
                "done": True,
                "queryLocator": None,
                "entityTypeName": bound.obj.name,
                "records": records,
            },
        )


def build_field(api_name: str, meta: dict[str, Any]) -> Field:
    """The describe entry of a new field from its Metadata, or Salesforce's complaint."""
    kind = meta.get("type")
    if kind not in TYPES:
        raise FieldSpecError(
            "FIELD_INTEGRITY_EXCEPTION", f"Type: bad value for field type: {kind}", ["type"]
        )
    if not meta.get("label"):
        raise FieldSpecError(
            "FIELD_INTEGRITY_EXCEPTION", "Label: You must enter a value", ["label"]
        )
    sf_type, length = TYPES[str(kind)]
    common: dict[str, Any] = {"custom": True, "secured": True, "label": str(meta["label"])}
    common["external_id"] = bool(meta.get("externalId"))
    if kind in ("Text", "LongTextArea"):
        low, high = (1, 255) if kind == "Text" else (256, 131_072)
        length = _int(meta, "length", low, high)
        if kind == "LongTextArea":
            _int(meta, "visibleLines", 2, 50)
    if kind in ("Number", "Percent", "Currency"):
        precision = _int(meta, "precision", 1, 18)
        scale = _int(meta, "scale", 0, precision)
        return Field(api_name, sf_type, precision=precision, scale=scale, **common)
    if kind == "Checkbox":
        default = str(meta.get("defaultValue", "")).lower()
        if default not in ("true", "false"):
            raise FieldSpecError(
                "FIELD_INTEGRITY_EXCEPTION",
                "Default Value: You must enter a value",
                ["defaultValue"],
            )
        return Field(api_name, sf_type, nillable=False, defaulted=default == "true", **common)
    if kind == "Picklist":
        values = _picklist_values(meta)
        return Field(api_name, sf_type, length, picklist=values, **common)
    return Field(api_name, sf_type, length, **common)


def _int(meta: dict[str, Any], key: str, low: int, high: int) -> int:
    value = meta.get(key)
    if value is None or value == "":
        raise FieldSpecError(
            "FIELD_INTEGRITY_EXCEPTION", f"{key.capitalize()}: You must enter a value", [key]
        )
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = low - 1
    if not low <= number <= high:
        raise FieldSpecError(
            "FIELD_INTEGRITY_EXCEPTION",
            f"{key.capitalize()}: value must be between {low} and {high}",
            [key],
        )
    return number


def _picklist_values(meta: dict[str, Any]) -> tuple[str, ...]:
    definition = (meta.get("valueSet") or {}).get("valueSetDefinition") or {}
    values = tuple(str(v.get("fullName")) for v in definition.get("value") or [] if v)
    if not values:
        raise FieldSpecError(
            "FIELD_INTEGRITY_EXCEPTION", "Values: You must enter at least one value", ["valueSet"]
        )
    return values
