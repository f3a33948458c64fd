"""What `carnet install` and the plan notes need of Salesforce: custom fields through the Tooling
API (`tooling/sobjects/CustomField`), and account-plan notes (classic `Note`) found by marker.

A field describe does not show may exist all the same, hidden from Carnet's user by field-level
security: the Tooling API finds it (`hidden_fields`), and install grants it instead of creating it
again (which Salesforce would refuse with DUPLICATE_DEVELOPER_NAME).

A note is created only after a query for its marker found none, so a push that died between
Salesforce's answer and the local commit adopts the note it made instead of making another.
"""

from __future__ import annotations

from typing import Any

from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest
from simple_salesforce.format import format_soql

from adapters.salesforce.auth import TIMEOUT_S
from adapters.salesforce.client import Client, first_error
from adapters.salesforce.push import push
from connector.core.records import (
    FieldInfo,
    FieldSpec,
    FieldStep,
    PlanNote,
    Write,
    WriteResult,
)

# Metadata API type -> the type the describe shows for it
DESCRIBE_TYPES = {
    "Number": "double",
    "Percent": "percent",
    "Currency": "currency",
    "Text": "string",
    "TextArea": "textarea",
    "LongTextArea": "textarea",
    "Checkbox": "boolean",
    "DateTime": "datetime",
    "Date": "date",
    "Url": "url",
}
NOTE_TITLE_MAX = 80
NOTE_BODY_MAX = 32_000
MARKER_PREFIX = "[carnet:plan:"
PARENTS_PER_QUERY = 200  # ids in one `ParentId IN (...)`: keeps the query URL short


def field_plan(
    obj: str,
    specs: list[FieldSpec],
    existing: dict[str, FieldInfo],
    hidden: dict[str, str] | None = None,
) -> list[FieldStep]:
    """What install would do for each wanted field, given the object's describe and the fields
    it does not show (`hidden`: lower-cased name -> Metadata type, from `hidden_fields`)."""
    have = {name.casefold(): info for name, info in existing.items()}
    hidden = hidden or {}
    steps = []
    for spec in specs:
        info = have.get(spec.name.casefold())
        wanted = DESCRIBE_TYPES.get(spec.type, spec.type)
        kind = hidden.get(spec.name.casefold())
        if info is None and kind is None:
            steps.append(FieldStep(obj, spec.name, "create", f"{spec.type} ({spec.label})"))
        elif info is None and kind != spec.type:
            detail = f"exists as {kind} (hidden from Carnet's user); the mapping wants {spec.type}"
            steps.append(FieldStep(obj, spec.name, "incompatible", detail))
        elif info is None:
            detail = f"{spec.type}, hidden from Carnet's user until granted"
            steps.append(FieldStep(obj, spec.name, "exists", detail))
        elif info.type != wanted:
            detail = f"exists as {info.type}; the mapping wants {spec.type} ({wanted})"
            steps.append(FieldStep(obj, spec.name, "incompatible", detail))
        else:
            steps.append(FieldStep(obj, spec.name, "exists", info.type))
    return steps


def field_metadata(spec: FieldSpec) -> dict[str, Any]:
    """The Tooling API `Metadata` of a new custom field."""
    meta: dict[str, Any] = {"type": spec.type, "label": spec.label}
    if spec.description:
        meta["description"] = spec.description
    if spec.type in ("Text", "LongTextArea"):
        meta["length"] = spec.length or (255 if spec.type == "Text" else 32_768)
    if spec.type == "LongTextArea":
        meta["visibleLines"] = 3
    if spec.type in ("Number", "Percent", "Currency"):
        meta["precision"] = spec.precision or 18
        meta["scale"] = spec.scale if spec.scale is not None else 2
    if spec.type == "Checkbox":
        meta["defaultValue"] = "false"
    return meta


def create_field(client: Client, obj: str, spec: FieldSpec) -> bool:
    """Make the field; False when Salesforce says it exists already (DUPLICATE_DEVELOPER_NAME:
    made meanwhile, or hidden from Carnet's user), which install then grants like any other."""
    body = {"FullName": f"{obj}.{spec.name}", "Metadata": field_metadata(spec)}

    def fn(sf: Salesforce) -> bool:
        try:
            sf.restful("tooling/sobjects/CustomField", method="POST", json=body, timeout=TIMEOUT_S)
        except SalesforceMalformedRequest as exc:
            if first_error(exc.content)[0] == "DUPLICATE_DEVELOPER_NAME":
                return False
            raise
        return True

    made: bool = client.call(fn, f"Salesforce create field {obj}.{spec.name}", idempotent=False)
    return made


def hidden_fields(client: Client, obj: str, names: list[str]) -> dict[str, str]:
    """Of the custom fields `names` that describe does not show, those that exist all the same
    (the Tooling API's CustomField): lower-cased name -> its Metadata type."""
    developer = [n.removesuffix("__c") for n in names if n.endswith("__c")]
    if not developer:
        return {}
    query = format_soql(
        "SELECT Id, DeveloperName FROM CustomField"
        " WHERE TableEnumOrId = {} AND DeveloperName IN {}",
        obj,
        developer,
    )
    found: dict[str, str] = {}
    for row in _tooling_query(client, query, obj):
        one = format_soql("SELECT Id, Metadata FROM CustomField WHERE Id = {} LIMIT 1", row["Id"])
        meta = (_tooling_query(client, one, obj) or [{}])[0].get("Metadata") or {}
        found[f"{row['DeveloperName']}__c".casefold()] = str(meta.get("type") or "")
    return found


def _tooling_query(client: Client, query: str, obj: str) -> list[dict[str, Any]]:
    def fn(sf: Salesforce) -> Any:
        return sf.restful("tooling/query", params={"q": query}, timeout=TIMEOUT_S)

    body = client.call(fn, f"Salesforce {obj} custom fields (Tooling API)")
    records = body.get("records") if isinstance(body, dict) else None
    return [r for r in records or [] if isinstance(r, dict)]


# -- plan notes -----------------------------------------------------------------------------------


def find_plan_notes(client: Client, parents: list[str]) -> dict[str, str]:
    """Parent id -> the id of the live Note under it whose title carries its marker."""
    found: dict[str, str] = {}
    for start in range(0, len(parents), PARENTS_PER_QUERY):
        chunk = parents[start : start + PARENTS_PER_QUERY]
        query = format_soql(
            "SELECT Id, ParentId, Title FROM Note WHERE ParentId IN {} AND Title LIKE '{:like}%'"
            " ORDER BY CreatedDate, Id",
            chunk,
            MARKER_PREFIX,
        )
        for row in _query_all(client, query):
            parent = _parent_of(str(row.get("Title") or ""), chunk)
            if parent is not None:
                found.setdefault(parent, str(row["Id"]))  # the oldest, should two ever exist
    return found


def _query_all(client: Client, query: str) -> list[dict[str, Any]]:
    def fn(sf: Salesforce) -> list[dict[str, Any]]:
        return list(sf.query_all_iter(query, timeout=TIMEOUT_S))

    return client.call(fn, "Salesforce Note query")


def _parent_of(title: str, parents: list[str]) -> str | None:
    for parent in parents:
        if title.startswith(f"{MARKER_PREFIX}{parent}]"):
            return parent
    return None


def note_write(note: PlanNote) -> Write:
    """The Note create (under its parent) or update that carries `note`."""
    title = f"{note.marker} {note.title}"[:NOTE_TITLE_MAX]
    values: dict[str, Any] = {"Title": title, "Body": note.text[:NOTE_BODY_MAX]}
    if note.note_id is None:
        values |= {"ParentId": note.parent, "IsPrivate": False}
    return Write("Note", note.note_id, values, key=note.key)


def push_notes(client: Client, notes: list[PlanNote]) -> list[WriteResult]:
    return push(client, [note_write(n) for n in notes])
