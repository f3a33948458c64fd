"""Values written to the Salesforce stand-in: coercion (a wrong JSON type fails the whole request,
as Salesforce's deserializer does) and per-record validation with Salesforce's status codes.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from datetime import date
from typing import Any

from .core import HTTPError
from .sf_fields import ID_TYPES, NUMBER_TYPES, SOAP_TYPES, STRING_TYPES, Field, SObject
from .sf_ids import normalize_id as norm_id
from .sf_store import Record, Store
from .soql import SoqlError, datetime_literal

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NOTE_TAGS = {"p", "br", "b", "strong", "i", "em", "u", "ul", "ol", "li", "a", "s", "strike"}
_ENTITY = re.compile(r"&(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);")
_TAG = re.compile(r"</?([a-zA-Z]+)(?:\s+[^<>]*)?/?>")


class RecordError(Exception):
    """One record failed; the others go on (unless allOrNone)."""

    def __init__(self, code: str, message: str, fields: list[str] | None = None):
        super().__init__(message)
        self.code, self.message, self.fields = code, message, fields or []

    def as_error(self) -> dict[str, Any]:
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}


# -- coercion: JSON values -> stored values ---------------------------------------------------
def coerce(sobj: SObject, body: dict[str, Any]) -> Record:
    """Known fields converted to the stored form; unknown names are kept for validate()."""
    out: Record = {}
    for name, value in body.items():
        if name == "attributes":
            continue
        f = sobj.field(name)
        out[f.name if f else name] = value if f is None else coerce_value(f, value)
    return out


def coerce_value(f: Field, v: Any) -> Any:
    if v is None:
        return None
    t, bad = f.type, False
    if t in STRING_TYPES:
        bad = isinstance(v, bool) or not isinstance(v, str | int | float)
        v = v if bad else str(v)
    elif t in ID_TYPES or t == "base64":
        bad = not isinstance(v, str) or (t == "base64" and not _is_base64(v))
    elif t == "boolean":
        bad = not isinstance(v, bool) and v not in ("true", "false")
        v = v if isinstance(v, bool) or bad else v == "true"
    elif t in NUMBER_TYPES:
        v, bad = _number(v, t == "int")
    elif t == "datetime":
        v, bad = _datetime(v)
    elif t == "date":
        bad = not isinstance(v, str) or not _is_date(v)
    if bad:
        raise HTTPError(
            400,
            "JSON_PARSER_ERROR",
            f"Cannot deserialize instance of {SOAP_TYPES.get(t, 'xsd:string').split(':')[1]} from "
            f"{type(v).__name__.upper()} value {v} or request may be missing a required field",
        )
    return v


def _is_date(v: str) -> bool:
    try:
        date.fromisoformat(v)
    except ValueError:
        return False
    return len(v) == 10


def _is_base64(v: str) -> bool:
    try:
        base64.b64decode(v, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _number(v: Any, integer: bool) -> tuple[Any, bool]:
    if isinstance(v, bool):
        return v, True
    if isinstance(v, str):
        try:
            v = float(v)
        except ValueError:
            return v, True
    if not isinstance(v, int | float):
        return v, True
    if integer:
        return int(v), v != int(v)
    return v, False


def _datetime(v: Any) -> tuple[Any, bool]:
    if not isinstance(v, str):
        return v, True
    try:
        return datetime_literal(v), False
    except SoqlError:
        return v, True


# -- validation -------------------------------------------------------------------------------
def validate(store: Store, sobj: SObject, values: Record, creating: bool) -> None:
    """Raise RecordError as Salesforce would refuse these values for this object (as the
    writing user sees it: a field hidden by field-level security is not editable)."""
    hidden = [n for n in values if sobj.is_hidden(n)]
    if hidden:
        raise RecordError("INVALID_FIELD_FOR_INSERT_UPDATE", _not_editable(hidden), hidden)
    unknown = [n for n in values if sobj.field(n) is None]
    if unknown:
        raise RecordError(
            "INVALID_FIELD",
            f"No such column '{unknown[0]}' on sobject of type {sobj.name}",
            unknown[:1],
        )
    fields = [sobj.fields[n.lower()] for n in values]
    locked = [f.name for f in fields if not (f.create if creating else f.update)]
    if locked:
        raise RecordError("INVALID_FIELD_FOR_INSERT_UPDATE", _not_editable(locked), locked)
    missing = [f.name for f in fields if values[f.name] is None and _needs_value(f)]
    if creating:
        missing += [
            f.name for f in sobj.fields.values() if f.required_on_create and f.name not in values
        ]
    if missing:
        raise RecordError(
            "REQUIRED_FIELD_MISSING",
            f"Required fields are missing: [{', '.join(missing)}]",
            missing,
        )
    for f in fields:
        if values[f.name] is not None:
            check_value(store, f, values[f.name])
    special = _OBJECT_RULES.get(sobj.name)
    if special:
        special(store, values, creating)


def _not_editable(names: list[str]) -> str:
    return (
        f"Unable to create/update fields: {', '.join(names)}. Please check the security settings "
        "of this field and verify that it is read/write for your profile or permission set."
    )


def _needs_value(f: Field) -> bool:
    return not f.nillable and f.type != "boolean" and not f.defaulted


def check_value(store: Store, f: Field, v: Any) -> None:
    if f.type in STRING_TYPES and f.length and len(v) > f.length:
        raise RecordError(
            "STRING_TOO_LONG",
            f"{f.describe()['label']}: data value too large: {v[:80]} (max length={f.length})",
            [f.name],
        )
    if f.type == "email" and not _EMAIL.match(v):
        raise RecordError("INVALID_EMAIL_ADDRESS", f"Email: invalid email address: {v}", [f.name])
    if f.restricted and v not in f.picklist:
        raise RecordError(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"{f.describe()['label']}: bad value for restricted picklist field: {v}",
            [f.name],
        )
    if f.type == "reference":
        check_reference(store, f, v)


def check_reference(store: Store, f: Field, v: str) -> None:
    label = f.describe()["label"]
    rid = norm_id(v)
    if rid is None:
        raise RecordError("MALFORMED_ID", f"{label}: id value of incorrect type: {v}", [f.name])
    targets = {"ContentNote" if t == "ContentDocument" else t for t in f.reference_to}
    obj = store.schema.by_prefix(rid)
    if obj is None or obj.name not in targets:
        raise RecordError(
            "FIELD_INTEGRITY_EXCEPTION", f"{label}: id value of incorrect type: {v}", [f.name]
        )
    rec = store.lookup(obj.name, rid)
    if rec is None:
        raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [f.name])
    if rec["IsDeleted"]:
        raise RecordError("ENTITY_IS_DELETED", "entity is deleted", [f.name])
    if obj.name == "User" and f.name == "OwnerId" and not rec["IsActive"]:
        raise RecordError("INACTIVE_OWNER_OR_USER", "owner or user is inactive.", [f.name])


def _content_note_rules(store: Store, values: Record, creating: bool) -> None:
    if values.get("Content") is None:
        return
    text = base64.b64decode(values["Content"]).decode("utf-8", "replace")
    stripped = _TAG.sub(lambda m: "" if m.group(1).lower() in _NOTE_TAGS else m.group(0), text)
    if "<" in stripped or ">" in stripped or "&" in _ENTITY.sub("", stripped):
        raise RecordError(
            "FIELD_INTEGRITY_EXCEPTION",
            "Note can't be saved because it contains HTML tags or unescaped characters that are "
            "not allowed in a Note.",
            ["Content"],
        )


def _link_rules(store: Store, values: Record, creating: bool) -> None:
    if not creating:
        return
    doc, entity = norm_id(values.get("ContentDocumentId")), norm_id(values.get("LinkedEntityId"))
    for link in store.rows("ContentDocumentLink"):
        if link["ContentDocumentId"] == doc and link["LinkedEntityId"] == entity:
            raise RecordError(
                "DUPLICATE_VALUE",
                f"Document with ID: {doc} is already linked with the entity with ID: {entity}",
                ["LinkedEntityId"],
            )


def _permission_set_rules(store: Store, values: Record, creating: bool) -> None:
    name = values.get("Name")
    if name is None or not creating:
        return
    if not _API_NAME.match(str(name)):
        raise RecordError("FIELD_INTEGRITY_EXCEPTION", f"API Name: {_API_NAME_RULE}", ["Name"])
    if any(str(ps["Name"]).lower() == str(name).lower() for ps in store.rows("PermissionSet")):
        raise RecordError(
            "DUPLICATE_DEVELOPER_NAME",
            f"The API name {name} is already in use by another permission set.",
            ["Name"],
        )


def _field_permission_rules(store: Store, values: Record, creating: bool) -> None:
    read, edit = values.get("PermissionsRead"), values.get("PermissionsEdit")
    if edit and (read is False or (creating and not read)):
        raise RecordError(
            "FIELD_INTEGRITY_EXCEPTION",
            "Permission Edit depends on permission(s): Read",
            ["PermissionsEdit"],
        )
    if not creating:
        return
    field, kind = str(values.get("Field") or ""), str(values.get("SobjectType") or "")
    obj_name, _, name = field.partition(".")
    sobj = store.schema.get(obj_name)
    if sobj is None or sobj.name != kind or sobj.field(name) is None:
        raise RecordError(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"Field Name: bad value for restricted picklist field: {field}",
            ["Field"],
        )
    parent = norm_id(values.get("ParentId"))
    for row in store.rows("FieldPermissions"):
        if row["ParentId"] == parent and str(row["Field"]).lower() == field.lower():
            raise RecordError("DUPLICATE_VALUE", _duplicate(row["Id"]), [])


def _assignment_rules(store: Store, values: Record, creating: bool) -> None:
    user, pset = norm_id(values.get("AssigneeId")), norm_id(values.get("PermissionSetId"))
    for row in store.rows("PermissionSetAssignment"):
        if row["AssigneeId"] == user and row["PermissionSetId"] == pset:
            raise RecordError("DUPLICATE_VALUE", _duplicate(row["Id"]), [])


def _duplicate(record_id: str) -> str:
    return f"duplicate value found: <unknown> duplicates value on record with id: {record_id}"


_API_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*(?<!_)$")
_API_NAME_RULE = (
    "The API name can only contain underscores and alphanumeric characters. It must be unique, "
    "begin with a letter, not include spaces, not end with an underscore, and not contain two "
    "consecutive underscores."
)
_OBJECT_RULES: dict[str, Callable[[Store, Record, bool], None]] = {
    "ContentNote": _content_note_rules,
    "ContentDocumentLink": _link_rules,
    "PermissionSet": _permission_set_rules,
    "FieldPermissions": _field_permission_rules,
    "PermissionSetAssignment": _assignment_rules,
}
