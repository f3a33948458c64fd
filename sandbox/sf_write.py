"""Writes to the Salesforce stand-in: single records, and sObject Collections create / update /
upsert / delete with allOrNone and injected lock errors (values are checked in sf_validate).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import sf_campaigns as campaigns
from .core import Faults, HTTPError
from .sf_fields import Field, SObject
from .sf_ids import normalize_id as norm_id
from .sf_schema import Schema
from .sf_store import Record, Store
from .sf_validate import RecordError, coerce, validate

COLLECTION_CAP = 200
ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header",
    "fields": [],
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
    added = campaigns.prepare(store, sobj.name, values, None)
    rec = store.insert(sobj.name, _normalize_refs(sobj, values) | added, by)
    if sobj.name == "ContentNote":  # Salesforce links a new note to its owner
        link = {"ContentDocumentId": rec["Id"], "LinkedEntityId": rec["OwnerId"], "ShareType": "I"}
        store.insert("ContentDocumentLink", link, by)
    campaigns.after_write(store, sobj.name, rec, by, created=True)
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
    added = campaigns.prepare(store, sobj.name, values, store.tables[sobj.name][rid])
    rec = store.update(sobj.name, rid, _normalize_refs(sobj, values) | added, by)
    campaigns.after_write(store, sobj.name, rec, by, created=False)
    return rec


def delete_record(store: Store, sobj: SObject, rid: str, by: str) -> None:
    if not sobj.deletable:
        raise RecordError(
            "INSUFFICIENT_ACCESS_OR_READONLY",
            "insufficient access rights on object id",
            [],
        )
    campaigns.check_delete(store, sobj.name, rid)
    store.delete(sobj.name, rid, by)


# -- collections ------------------------------------------------------------------------------
class Collections:
    """sObject Collections calls for one request: `by` is the session's user, `schema` the org
    as that user sees it (field-level security; the whole org when not given)."""

    def __init__(self, store: Store, faults: Faults, by: str, schema: Schema | None = None):
        self.store, self.faults, self.by = store, faults, by
        self.schema = schema or store.schema

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
        sobj = self.schema.get(type_name) if isinstance(type_name, str) else None
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
        sobj = self.schema.by_prefix(str(norm_id(record_id) or ""))
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
