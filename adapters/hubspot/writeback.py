"""What `carnet install` and the plan notes need of HubSpot: Carnet's property group and its
properties, and account-plan notes (associated with their company) found again by marker.

A note is created only after the company's associated notes were read and none carried its
marker. Association reads are consistent at once, where search trails writes by seconds: a push
that died between HubSpot's answer and the local commit finds the note it made.
"""

from __future__ import annotations

import time
from typing import Any

from adapters.hubspot.api import BATCH_LIMIT, HubSpotApi
from adapters.hubspot.assoc import AssociationReader
from connector.core.protocols import FieldGroup
from connector.core.records import FieldSpec, FieldStep, PlanNote, RawRecord, Write

NOTE_TO_COMPANY = 190  # HUBSPOT_DEFINED association type id
NOTE_BODY_MAX = 65_536
DEFAULT_FIELD_TYPES = {
    "number": "number",
    "string": "text",
    "bool": "booleancheckbox",
    "datetime": "date",
    "date": "date",
}


def ensure_group(
    api: HubSpotApi, obj: str, group: FieldGroup | None, dry_run: bool
) -> FieldStep | None:
    """Carnet's property group on `obj`: made when missing (unless `dry_run`)."""
    if group is None:
        return None
    data = api.call("groups", "get_all", obj) or {}
    names = {g.get("name") for g in data.get("results") or []}
    if group.name in names:
        return FieldStep(obj, f"group {group.name}", "exists")
    if not dry_run:
        body = {"name": group.name, "label": group.label}
        api.call("groups", "create", obj, body, rows=None)
    return FieldStep(obj, f"group {group.name}", "create", group.label)


def field_plan(obj: str, specs: list[FieldSpec], props: dict[str, Any]) -> list[FieldStep]:
    steps = []
    for spec in specs:
        prop = props.get(spec.name)
        if prop is None:
            steps.append(FieldStep(obj, spec.name, "create", f"{spec.type} ({spec.label})"))
        elif prop.get("type") != spec.type:
            detail = f"exists as {prop.get('type')}; the mapping wants {spec.type}"
            steps.append(FieldStep(obj, spec.name, "incompatible", detail))
        else:
            steps.append(FieldStep(obj, spec.name, "exists", str(prop.get("type"))))
    return steps


def property_body(spec: FieldSpec, group: FieldGroup | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": spec.name,
        "label": spec.label,
        "type": spec.type,
        "fieldType": spec.field_type or DEFAULT_FIELD_TYPES.get(spec.type, "text"),
        "groupName": group.name if group is not None else "contactinformation",
    }
    if spec.description:
        body["description"] = spec.description
    if body["fieldType"] == "booleancheckbox":  # HubSpot wants a checkbox's two options
        body["options"] = [
            {"label": "Yes", "value": "true", "displayOrder": 0, "hidden": False},
            {"label": "No", "value": "false", "displayOrder": 1, "hidden": False},
        ]
    return body


def ensure_fields(
    api: HubSpotApi, obj: str, specs: list[FieldSpec], group: FieldGroup | None, dry_run: bool
) -> list[FieldStep]:
    data = api.properties(obj) or {}
    props = {p["name"]: p for p in data.get("results") or []}
    steps = field_plan(obj, specs, props)
    if any(s.action == "incompatible" for s in steps):
        return steps  # the caller refuses the whole install; make nothing
    group_step = ensure_group(api, obj, group, dry_run)
    wanted = {s.name: s for s in specs}
    if not dry_run:
        for step in steps:
            if step.action == "create":
                api.call(
                    "properties", "create", obj, property_body(wanted[step.name], group), rows=None
                )
    return ([group_step] if group_step else []) + steps


# -- plan notes -----------------------------------------------------------------------------------


def find_plan_notes(api: HubSpotApi, parents: list[str], marker: Any) -> dict[str, str]:
    """Company id -> the id of a note associated with it whose body carries its marker."""
    companies = [RawRecord(p, {}) for p in parents]
    AssociationReader(api).fill("companies", ("notes",), companies, None)
    wanted = {n: c.id for c in companies for n in c.associations.get("notes", [])}
    found: dict[str, str] = {}
    ids = sorted(wanted, key=lambda i: (len(i), i))  # oldest first
    for start in range(0, len(ids), BATCH_LIMIT):
        body = {
            "inputs": [{"id": i} for i in ids[start : start + BATCH_LIMIT]],
            "properties": ["hs_note_body"],
        }
        data = api.call("batch", "read", "notes", body) or {}
        for row in data.get("results") or []:
            note_id = str(row.get("id"))
            company = wanted.get(note_id)
            text = str((row.get("properties") or {}).get("hs_note_body") or "")
            if company is not None and marker(company) in text:
                found.setdefault(company, note_id)
    return found


def note_write(note: PlanNote) -> Write:
    values: dict[str, Any] = {"hs_note_body": note.html[:NOTE_BODY_MAX]}
    if note.note_id is None:
        values["hs_timestamp"] = str(int(time.time() * 1000))
        link = ("companies", note.parent, NOTE_TO_COMPANY)
        return Write("notes", None, values, key=note.key, associate=(link,))
    return Write("notes", note.note_id, values, key=note.key)
