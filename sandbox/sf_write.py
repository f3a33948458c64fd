"""Writes to the Salesforce stand-in: value coercion (a wrong JSON type fails the whole request,
as Salesforce's deserializer does), per-record validation with Salesforce's status codes, and
sObject Collections create / update / upsert / delete with allOrNone and injected lock errors.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from datetime import date
from typing import Any

from .core import Faults, HTTPError
from .sf_schema import ID_TYPES, NUMBER_TYPES, SOAP_TYPES, STRING_TYPES, Field, SObject
from .sf_schema import normalize_id as norm_id
from .sf_store import Record, Store
from .soql import SoqlError, datetime_literal

COLLECTION_CAP = 200
ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header",
    "fields": [],
}
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
    """Raise RecordError as Salesforce would refuse these values for this object."""
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
        raise RecordError(
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {', '.join(locked)}. Please check the security "
            "settings of this field and verify that it is read/write for your profile or "
            "permission set.",
            locked,
        )
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


_OBJECT_RULES: dict[str, Callable[[Store, Record, bool], None]] = {
    "ContentNote": _content_note_rules,
    "ContentDocumentLink": _link_rules,
}


def _normalize_refs(sobj: SObject, values: Record) -> Record:
    return {
        k: norm_id(v) if v is not None and sobj.fields[k.lower()].type == "reference" else v
        for k, v in values.items()
    }


# -- single records ---------------------------------------------------------------------------
def create_record(store: Store, sobj: SObject, values: Record, by: str) -> Record:
    if not sobj.createable:
        raise RecordError(
            "INVALID_TYPE_FOR_OPERATION",
            f"entity type cannot be inserted: {sobj.label or sobj.name}",
        )
    if any(k.lower() == "id" for k in values):
        raise RecordError(
            "INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ["Id"]
        )
    validate(store, sobj, values, creating=True)
    rec = store.insert(sobj.name, _normalize_refs(sobj, values), by)
    if sobj.name == "ContentNote":  # Salesforce links a new note to its owner
        link = {"ContentDocumentId": rec["Id"], "LinkedEntityId": rec["OwnerId"], "ShareType": "I"}
        store.insert("ContentDocumentLink", link, by)
    return rec


def target(store: Store, sobj: SObject, record_id: Any) -> str:
    """The live record an update or delete addresses, or the error Salesforce gives."""
    if not record_id:
        raise RecordError("MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
    rid = norm_id(record_id)
    if rid is None or not rid.startswith(sobj.key_prefix):
        raise RecordError(
            "MALFORMED_ID", f"{sobj.name} ID: id value of incorrect type: {record_id}", ["Id"]
        )
    rec = store.lookup(sobj.name, rid)
    if rec is None:
        raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["Id"])
    if rec["IsDeleted"]:
        raise RecordError("ENTITY_IS_DELETED", "entity is deleted", ["Id"])
    return rid


def update_record(store: Store, sobj: SObject, rid: str, values: Record, by: str) -> Record:
    if not sobj.updateable:
        raise RecordError(
            "INVALID_TYPE_FOR_OPERATION",
            f"entity type cannot be updated: {sobj.label or sobj.name}",
        )
    validate(store, sobj, values, creating=False)
    return store.update(sobj.name, rid, _normalize_refs(sobj, values), by)


def delete_record(store: Store, sobj: SObject, rid: str, by: str) -> None:
    if not sobj.deletable:
        raise RecordError(
            "INSUFFICIENT_ACCESS_OR_READONLY",
            "insufficient access rights on object id",
            [],
        )
    store.delete(sobj.name, rid, by)


# -- collections ------------------------------------------------------------------------------
class Collections:
    """sObject Collections calls for one request: `by` is the session's user."""

    def __init__(self, store: Store, faults: Faults, by: str):
        self.store, self.faults, self.by = store, faults, by

    def run(
        self,
        items: list[Any],
        all_or_none: bool,
        one: Callable[[Any], dict[str, Any]],
        failed_with_id: bool = False,
    ) -> list[dict[str, Any]]:
        """Apply `one` to each item; a failure keeps no id except for deletes (as Salesforce)."""
        if len(items) > COLLECTION_CAP:
            raise HTTPError(
                400,
                "EXCEEDED_ID_LIMIT",
                f"record limit reached. cannot submit more than {COLLECTION_CAP} records into "
                "this call",
            )
        snap = self.store.snapshot() if all_or_none else None
        results = []
        for item in items:
            try:
                if self.faults.partial_failure():
                    raise RecordError(
                        "UNABLE_TO_LOCK_ROW",
                        "unable to obtain exclusive access to this record or 1 records: "
                        + str(_item_id(item) or ""),
                    )
                results.append({**one(item), "success": True, "errors": []})
            except RecordError as err:
                failed = {"success": False, "errors": [err.as_error()]}
                results.append({"id": _item_id(item), **failed} if failed_with_id else failed)
        if snap is not None and not all(r["success"] for r in results):
            self.store.restore(snap)
            results = [
                r if not r["success"] else {"success": False, "errors": [dict(ROLLED_BACK)]}
                for r in results
            ]
        return results

    def sobject(self, body: Any) -> tuple[SObject, Record]:
        if not isinstance(body, dict):
            raise RecordError("INVALID_TYPE", "Must send a concrete entity type.")
        type_name = (body.get("attributes") or {}).get("type")
        sobj = self.store.schema.get(type_name) if isinstance(type_name, str) else None
        if sobj is None:
            raise RecordError("INVALID_TYPE", "Must send a concrete entity type.")
        return sobj, coerce(sobj, body)

    def precheck(self, records: list[Any]) -> None:
        """Wrong JSON types fail the whole request before any record is written."""
        for body in records:
            try:
                self.sobject(body)
            except RecordError:
                continue

    def create(self, records: list[Any], all_or_none: bool) -> list[dict[str, Any]]:
        self.precheck(records)

        def one(body: Any) -> dict[str, Any]:
            sobj, values = self.sobject(body)
            return {"id": create_record(self.store, sobj, values, self.by)["Id"]}

        return self.run(records, all_or_none, one)

    def update(self, records: list[Any], all_or_none: bool) -> list[dict[str, Any]]:
        self.precheck(records)

        def one(body: Any) -> dict[str, Any]:
            sobj, values = self.sobject(body)
            id_key = next((k for k in values if k.lower() == "id"), None)
            rid = target(self.store, sobj, values.pop(id_key) if id_key else None)
            return {"id": update_record(self.store, sobj, rid, values, self.by)["Id"]}

        return self.run(records, all_or_none, one)

    def upsert(
        self, sobj: SObject, ext: Field, records: list[Any], all_or_none: bool
    ) -> list[dict[str, Any]]:
        self.precheck(records)
        index = ExternalIndex(self.store, sobj, ext)

        def one(body: Any) -> dict[str, Any]:
            rec_obj, values = self.sobject(body)
            if rec_obj is not sobj:
                raise RecordError("INVALID_TYPE", f"Record type must be {sobj.name}")
            return upsert_one(self.store, sobj, ext, index, values, self.by)

        return self.run(records, all_or_none, one)

    def delete(self, ids: list[str], all_or_none: bool) -> list[dict[str, Any]]:
        return self.run(ids, all_or_none, self._delete, failed_with_id=True)

    def _delete(self, record_id: Any) -> dict[str, Any]:
        sobj = self.store.schema.by_prefix(str(norm_id(record_id) or ""))
        if sobj is None:
            raise RecordError("MALFORMED_ID", f"malformed id {record_id}", [])
        rid = target(self.store, sobj, record_id)
        delete_record(self.store, sobj, rid, self.by)
        return {"id": rid}


def _item_id(item: Any) -> Any:
    if isinstance(item, dict):
        return next((v for k, v in item.items() if k.lower() == "id"), None)
    return item


class ExternalIndex:
    """Live records of one object by the case-folded value of an external id field."""

    def __init__(self, store: Store, sobj: SObject, ext: Field):
        self.ext = ext
        self.by_value: dict[Any, list[str]] = {}
        for rec in store.rows(sobj.name):
            self.add(rec)

    def key(self, value: Any) -> Any:
        if self.ext.type == "id":
            return norm_id(value)
        return value.casefold() if isinstance(value, str) else value

    def add(self, rec: Record) -> None:
        value = rec.get(self.ext.name)
        if value is not None:
            self.by_value.setdefault(self.key(value), []).append(rec["Id"])

    def find(self, value: Any) -> list[str]:
        return self.by_value.get(self.key(value), [])


def upsert_one(
    store: Store, sobj: SObject, ext: Field, index: ExternalIndex, values: Record, by: str
) -> dict[str, Any]:
    value = values.get(ext.name)
    if value is None:
        raise RecordError("MISSING_ARGUMENT", f"{ext.name} not specified", [ext.name])
    matches = index.find(value)
    if len(matches) > 1:
        raise RecordError(
            "DUPLICATE_EXTERNAL_ID",
            f"{ext.name}: more than one record found for external id field: {matches}",
            [ext.name],
        )
    if matches:
        changes = {k: v for k, v in values.items() if k != ext.name}
        update_record(store, sobj, matches[0], changes, by)
        return {"id": matches[0], "created": False}
    if ext.type == "id":
        raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["Id"])
    rec = create_record(store, sobj, values, by)
    index.add(rec)
    return {"id": rec["Id"], "created": True}


def external_field(sobj: SObject, name: str) -> Field:
    f = sobj.field(name)
    if f is None:
        raise HTTPError(
            404,
            "NOT_FOUND",
            f"Provided external ID field does not exist or is not accessible: {name}",
        )
    if f.type != "id" and not f.external_id:
        raise HTTPError(
            400,
            "INVALID_FIELD",
            f"Field {f.name} is not an External ID or indexed field for {sobj.name}",
        )
    return f
