"""Property definitions and groups of the HubSpot stand-in, and the checks HubSpot runs on every
written value (unknown property, read-only, number, date, option, email, length).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from .core import Clock, HTTPError
from .hubspot_schema import MAX_STRING, OBJECT_TYPES, PIPELINES, default_groups, default_properties

CURRENCIES = (
    "USD",
    "EUR",
    "GBP",
    "CAD",
    "CHF",
    "SEK",
    "NOK",
    "DKK",
    "JPY",
    "AUD",
    "NZD",
    "BRL",
    "MXN",
    "INR",
    "SGD",
    "HKD",
    "ZAR",
)
PROPERTY_TYPES = ("string", "number", "date", "datetime", "enumeration", "bool")
FIELD_TYPES = (
    "textarea",
    "text",
    "date",
    "file",
    "number",
    "select",
    "radio",
    "checkbox",
    "booleancheckbox",
    "calculation_equation",
    "html",
    "phonenumber",
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def hs_time(dt: datetime) -> str:
    """HubSpot's v3 datetime: 2024-01-31T12:00:00.123Z."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


@lru_cache(maxsize=200_000)
def epoch_ms(value: str) -> int | None:
    """A datetime or date value (epoch ms, ISO 8601, or YYYY-MM-DD) as epoch milliseconds."""
    text = value.strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _option(value: str, label: str, order: int) -> dict[str, Any]:
    return {"label": label, "value": value, "displayOrder": order, "hidden": False}


def _stage_options() -> dict[str, list[dict[str, Any]]]:
    stages = [(sid, lab) for _p, _l, rows in PIPELINES for sid, lab, _prob in rows]
    return {
        "dealstage": [_option(sid, lab, i) for i, (sid, lab) in enumerate(stages)],
        "pipeline": [_option(pid, lab, i) for i, (pid, lab, _s) in enumerate(PIPELINES)],
        "deal_currency_code": [_option(c, c, i) for i, c in enumerate(CURRENCIES)],
    }


class Properties:
    """The portal's property definitions and groups per object type, in the API's own shape."""

    def __init__(self, clock: Clock, portal_id: int, owner_exists: Callable[[str], bool]):
        self.clock, self.portal_id, self.owner_exists = clock, portal_id, owner_exists
        self.defs: dict[str, dict[str, dict[str, Any]]] = {}
        self.groups: dict[str, dict[str, dict[str, Any]]] = {}
        born = hs_time(datetime(2019, 8, 6, 2, 43, 14, tzinfo=UTC))
        special = _stage_options()
        for type_name in OBJECT_TYPES:
            self.groups[type_name] = {
                name: {"name": name, "label": label, "displayOrder": i, "archived": False}
                for i, (name, label) in enumerate(default_groups(type_name))
            }
            self.defs[type_name] = {}
            for i, (name, label, ptype, field, group, options, read_only) in enumerate(
                default_properties(type_name)
            ):
                opts = special.get(name) or [
                    _option(o, o.title(), j) for j, o in enumerate(options)
                ]
                if field == "booleancheckbox":  # HubSpot's own checkboxes carry both options
                    opts = [_option("true", "True", 0), _option("false", "False", 1)]
                self.defs[type_name][name] = {
                    "updatedAt": born, "createdAt": born, "name": name, "label": label,
                    "type": ptype, "fieldType": field, "description": "", "groupName": group,
                    "options": opts, "displayOrder": i, "calculated": False,
                    "externalOptions": False, "hasUniqueValue": name == "email",
                    "hidden": False, "hubspotDefined": True, "formField": not read_only,
                    "archived": False, "dataSensitivity": "non_sensitive",
                    "modificationMetadata": {"archivable": False, "readOnlyDefinition": True,
                                             "readOnlyValue": read_only},
                }  # fmt: skip
                if name == "hubspot_owner_id":
                    self.defs[type_name][name]["referencedObjectType"] = "OWNER"

    def get(self, type_name: str, name: str) -> dict[str, Any] | None:
        return self.defs[type_name].get(name)

    def unique(self, type_name: str) -> set[str]:
        return {n for n, d in self.defs[type_name].items() if d["hasUniqueValue"]}

    # -- definitions ---------------------------------------------------------------------------
    def create(self, type_name: str, body: Any) -> dict[str, Any]:
        """POST /crm/v3/properties/{objectType}: name, label, type, fieldType, groupName."""
        if not isinstance(body, dict):
            raise HTTPError(400, "VALIDATION_ERROR", "Invalid input JSON: expected an object")
        missing = [
            k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)
        ]
        if missing:
            raise HTTPError(
                400,
                "VALIDATION_ERROR",
                f"Invalid input JSON: missing required fields {missing}",
                extra={"context": {"missing": missing}},
            )
        name = str(body["name"])
        self._check_definition(type_name, name, body)
        if name in self.defs[type_name]:
            raise HTTPError(
                409,
                "OBJECT_ALREADY_EXISTS",
                f"Property named '{name}' already exists.",
                extra={
                    "subCategory": "PropertyValidationError.PROPERTY_EXISTS",
                    "context": {"name": [name]},
                },
            )
        prop = _custom_property(name, body, hs_time(self.clock.now()))
        self.defs[type_name][name] = prop
        return prop

    def _check_definition(self, type_name: str, name: str, body: dict[str, Any]) -> None:
        if not _NAME.match(name):
            raise HTTPError(
                400,
                "VALIDATION_ERROR",
                f"Property name '{name}' is invalid: use lower-case letters, digits "
                "and underscores, starting with a letter.",
            )
        if body["type"] not in PROPERTY_TYPES:
            raise HTTPError(
                400,
                "VALIDATION_ERROR",
                f"Invalid input JSON: type '{body['type']}' is not one of {list(PROPERTY_TYPES)}",
            )
        if body["fieldType"] not in FIELD_TYPES:
            raise HTTPError(
                400,
                "VALIDATION_ERROR",
                f"Invalid input JSON: fieldType '{body['fieldType']}' is not one of "
                f"{list(FIELD_TYPES)}",
            )
        if body["groupName"] not in self.groups[type_name]:
            raise HTTPError(
                400,
                "VALIDATION_ERROR",
                f"Property group {body['groupName']} does not exist.",
                extra={"subCategory": "PropertyValidationError.INVALID_GROUP"},
            )
        if body["fieldType"] == "booleancheckbox":
            _check_checkbox(name, body)

    def create_group(self, type_name: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not body.get("name") or not body.get("label"):
            raise HTTPError(
                400, "VALIDATION_ERROR", "Invalid input JSON: a property group needs name and label"
            )
        name = str(body["name"])
        if name in self.groups[type_name]:
            raise HTTPError(
                409,
                "OBJECT_ALREADY_EXISTS",
                f"Property group named '{name}' already exists.",
                extra={"context": {"name": [name]}},
            )
        group = {
            "name": name,
            "label": body["label"],
            "displayOrder": body.get("displayOrder", -1),
            "archived": False,
        }
        self.groups[type_name][name] = group
        return group

    # -- values ------------------------------------------------------------------------------
    def validate(self, type_name: str, values: Any) -> dict[str, str | None]:
        """Written values normalised to HubSpot's strings (None clears); 400 if any is bad."""
        if not isinstance(values, dict):
            raise HTTPError(
                400,
                "VALIDATION_ERROR",
                "Invalid input JSON: properties must be an object of property names to values",
            )
        out: dict[str, str | None] = {}
        problems: list[dict[str, Any]] = []
        for name, raw in values.items():
            prop = self.get(type_name, name)
            if prop is None:
                problems.append(
                    self._problem(
                        name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'
                    )
                )
            elif prop["modificationMetadata"]["readOnlyValue"]:
                problems.append(
                    self._problem(
                        name,
                        "READ_ONLY_VALUE",
                        f'"{name}" is a read only property; its value cannot be set.',
                    )
                )
            else:
                value = _as_text(raw)
                error = None if value is None else self._check(type_name, prop, value)
                if isinstance(error, tuple):
                    problems.append(self._problem(name, *error))
                else:
                    out[name] = error if error is not None else value
        if problems:
            raise HTTPError(
                400, "VALIDATION_ERROR", "Property values were not valid: " + json.dumps(problems)
            )
        return out

    def _problem(self, name: str, code: str, message: str) -> dict[str, Any]:
        return {
            "isValid": False,
            "message": message,
            "error": code,
            "name": name,
            "localizedErrorMessage": message,
            "portalId": self.portal_id,
        }

    def _check(self, type_name: str, prop: dict[str, Any], value: str) -> tuple[str, str] | str:
        """A (code, message) problem, or the value as HubSpot stores it."""
        name, ptype = prop["name"], prop["type"]
        if ptype == "number":
            try:
                float(value)
            except ValueError:
                return "INVALID_FLOAT", f"{value} is not a valid number."
            return value.strip()
        if ptype in ("datetime", "date"):
            ms = epoch_ms(value)
            if ms is None:
                return "INVALID_DATE", f"{value} is not a valid date or datetime value."
            return hs_time(from_ms(ms)) if ptype == "datetime" else from_ms(ms).date().isoformat()
        if ptype == "bool":
            if value.lower() not in ("true", "false"):
                return "INVALID_BOOLEAN", f"{value} is not a valid boolean (true or false)."
            return value.lower()
        if ptype == "enumeration":
            return self._check_option(name, prop, value)
        if len(value) > MAX_STRING:
            return (
                "INVALID_LONG_STRING",
                f"{name} is {len(value)} characters long; the limit is {MAX_STRING}.",
            )
        if type_name == "contacts" and name == "email":
            if not _EMAIL.match(value):
                return "INVALID_EMAIL", f"Email address {value} is invalid"
            return value.lower()
        return value

    def _check_option(self, name: str, prop: dict[str, Any], value: str) -> tuple[str, str] | str:
        if name == "hubspot_owner_id":
            if not self.owner_exists(value):
                return "INVALID_OWNER_ID", f"{value} is not a valid owner id"
            return value
        allowed = [o["value"] for o in prop["options"]]
        if allowed:
            bad = [v for v in value.split(";") if v not in allowed]
            if bad:
                return ("INVALID_OPTION", f"{bad[0]} was not one of the allowed options: {allowed}")
        return value


def _custom_property(name: str, body: dict[str, Any], now: str) -> dict[str, Any]:
    """A property a portal user (or Carnet) created, in the API's shape."""
    options = [
        _option(str(o.get("value")), str(o.get("label")), int(o.get("displayOrder", i)))
        for i, o in enumerate(body.get("options") or [])
        if isinstance(o, dict)
    ]
    return {
        "updatedAt": now, "createdAt": now, "name": name, "label": body["label"],
        "type": body["type"], "fieldType": body["fieldType"],
        "description": body.get("description", ""), "groupName": body["groupName"],
        "options": options, "displayOrder": body.get("displayOrder", -1),
        "calculated": False, "externalOptions": False,
        "hasUniqueValue": bool(body.get("hasUniqueValue", False)),
        "hidden": bool(body.get("hidden", False)),
        "formField": bool(body.get("formField", False)),
        "archived": False, "dataSensitivity": "non_sensitive",
        "modificationMetadata": {"archivable": True, "readOnlyDefinition": False,
                                 "readOnlyValue": False},
    }  # fmt: skip


def _as_text(raw: Any) -> str | None:
    """HubSpot takes every value as a string; null and "" clear the property."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        return "true" if raw else "false"
    text = str(raw)
    return text if text != "" else None


def _check_checkbox(name: str, body: dict[str, Any]) -> None:
    """A `booleancheckbox` property is a `bool` with exactly the options true and false, each
    with a label (HubSpot refuses one without them)."""
    given = body.get("options")
    options: list[Any] = given if isinstance(given, list) else []
    values = sorted(str(o.get("value")) for o in options if isinstance(o, dict) and o.get("label"))
    if body["type"] != "bool" or len(options) != 2 or values != ["false", "true"]:
        raise HTTPError(
            400,
            "VALIDATION_ERROR",
            f"Property {name}: a booleancheckbox property must be of type bool and have exactly "
            "two options, with the values true and false, each with a label.",
            extra={"subCategory": "PropertyValidationError.INVALID_OPTIONS"},
        )
