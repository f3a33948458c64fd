"""`carnet mappings check`: load every enabled source's mapping and report all problems; with
`--online`, also compare each object's fields with the CRM's own description of them.

Online, a field the inbound rules read must exist with a type its transform can read; an outbound
field, once created, must have a compatible type and be writable. Missing optional and not yet
created outbound fields are notes, not problems. Every field Carnet writes is also reported with
whether Carnet's user may edit it (describe's `updateable`; a field hidden from that user by
field-level security is not in the describe at all, so it reads as not there).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from connector.core.config import Config
from connector.core.errors import (
    AuthError,
    BudgetExhausted,
    CarnetError,
    MappingError,
    Problem,
)
from connector.core.protocols import Adapter
from connector.core.records import FieldInfo
from connector.core.sources import open_adapter
from connector.core.yamlfile import dotted
from mappings.loader import load_mapping, mapping_path
from mappings.schema import Mapping, is_pseudo, root_field
from mappings.transforms import TRANSFORMS
from mappings.vocabulary import DESCRIBED_AS

REF_TYPES = frozenset({"reference", "id", "string", "number", "enumeration", "int", "long"})
Opener = Callable[[str, Any], Adapter]


def check_mappings(config: Config, online: bool, opener: Opener = open_adapter) -> dict[str, Any]:
    """A summary per source; a MappingError listing every problem of every file."""
    problems: list[Problem] = []
    report: list[dict[str, Any]] = []
    for name, settings in config.sources.enabled().items():
        path = mapping_path(name, settings.mapping)
        try:
            mapping = load_mapping(path, name)
        except MappingError as exc:
            problems += exc.problems
            continue
        entry: dict[str, Any] = {
            "source": name,
            "mapping": str(path),
            "objects": list(mapping.objects),
            "outbound_fields": sum(len(f) for f in mapping.outbound.objects.values()),
            "online": online,
            "notes": [],
        }
        if online:
            adapter = opener(name, settings)
            try:
                found, entry["notes"] = check_online(mapping, adapter)
                entry["writable"] = writable_fields(mapping, adapter)
            finally:
                adapter.close()
            problems += found
        report.append(entry)
    if problems:
        raise MappingError(problems)
    return {"sources": report}


def check_online(mapping: Mapping, adapter: Adapter) -> tuple[list[Problem], list[str]]:
    """Every object's rules against the adapter's `describe`: (problems, notes)."""
    problems: list[Problem] = []
    notes: list[str] = []
    for obj in mapping.objects:
        try:
            described = adapter.describe(obj)
        except (AuthError, BudgetExhausted):  # the CRM, not the mapping, said no
            raise
        except CarnetError as exc:  # e.g. an object this org or portal does not have
            problems.append(_problem(mapping, ("objects", obj), f"cannot describe: {exc}"))
            continue
        if not described:
            notes.append(f"{mapping.source} gives no field list for {obj}: not checked")
            continue
        fields = {k.casefold(): v for k, v in described.items()}
        found = _inbound(mapping, obj, fields, notes) + _outbound(mapping, obj, fields, notes)
        problems += [_problem(mapping, loc, msg) for loc, msg in found]
    return problems, notes


def _problem(mapping: Mapping, loc: tuple[Any, ...], message: str) -> Problem:
    return Problem(str(mapping.path), dotted(loc), message, mapping.line(*loc) or 1)


def base_type(crm_type: str) -> str:
    """A describe's type as the transforms know it: Salesforce and HubSpot names as they are;
    Graph's `Collection(String)` -> string, `DateTimeOffset` -> datetime."""
    t = crm_type.strip().lower()
    inner = re.fullmatch(r"collection\((.+)\)", t)
    t = (inner.group(1) if inner else t).removeprefix("edm.")
    return {"datetimeoffset": "datetime", "int32": "int", "int64": "long"}.get(t, t)


Found = list[tuple[tuple[Any, ...], str]]


def _inbound(mapping: Mapping, obj: str, fields: dict[str, FieldInfo], notes: list[str]) -> Found:
    om = mapping.objects[obj]
    found: Found = []
    for name, rule in om.values.items():
        loc = ("objects", obj, "values", name)
        readable = TRANSFORMS[rule._transform].types
        for path in rule.sources:
            field = root_field(path)
            if field is None or is_pseudo(field):
                continue
            info = _lookup(fields, field, rule.optional, obj, loc, found, notes)
            kind = base_type(info.type) if info else ""
            if info and path == field and kind not in readable:
                found.append((loc, f"{field} is a {info.type} field; transform "
                                   f"{rule._transform} cannot read it"))  # fmt: skip
    for name, ref in om.refs.items():
        loc = ("objects", obj, "refs", name)
        field = root_field(ref.from_) if ref.from_ else None
        if field is None or is_pseudo(field):
            continue
        info = _lookup(fields, field, ref.optional, obj, loc, found, notes)
        if info and base_type(info.type) not in REF_TYPES:
            found.append((loc, f"{field} is a {info.type} field, not an id"))
    extra: list[tuple[tuple[Any, ...], str | None]] = [
        (("objects", obj, "filter", p), root_field(p)) for p in om.filter
    ]
    cursor = mapping.cursor_field(obj)
    if cursor:
        where = ("objects", obj, "cursor") if "cursor" in om.model_fields_set else ("cursor",)
        extra.append((where, cursor))
    for loc, field in extra:
        if field and not is_pseudo(field):
            _lookup(fields, field, False, obj, loc, found, notes)
    return found


def _lookup(fields: dict[str, FieldInfo], field: str, optional: bool, obj: str,
            loc: tuple[Any, ...], found: Found, notes: list[str]) -> FieldInfo | None:  # fmt: skip
    info = fields.get(field.casefold())
    if info is None and optional:
        notes.append(f"{obj}.{field} is not there: the optional rule is left out")
    elif info is None:
        found.append((loc, f"{obj} has no field {field}"))
    return info


def _outbound(mapping: Mapping, obj: str, fields: dict[str, FieldInfo], notes: list[str]
              ) -> Found:  # fmt: skip
    found: Found = []
    for name, spec in mapping.outbound_fields(obj).items():
        loc = ("outbound", "objects", obj, name)
        info = fields.get(name.casefold())
        if info is None:
            notes.append(
                f"{obj}.{name} does not exist yet, or Carnet's user cannot see it: "
                "`carnet install` creates or grants it"
            )
            continue
        if base_type(info.type) not in DESCRIBED_AS[spec.type]:
            found.append((loc, f"{name} is a {info.type} field in the CRM, not a {spec.type}"))
        if not info.writable:
            found.append((loc, f"{name} is read-only for Carnet's user"))
        if spec.length and info.length and info.length < spec.length:
            found.append((loc, f"{name} holds {info.length} characters; the mapping says "
                               f"{spec.length}"))  # fmt: skip
    return found


def writable_fields(mapping: Mapping, adapter: Adapter) -> list[dict[str, Any]]:
    """Each field Carnet writes, and whether Carnet's user may edit it: True / False from the
    describe's `updateable`, None when the describe does not show it (not made yet, or hidden
    from that user by field-level security)."""
    out: list[dict[str, Any]] = []
    for obj, fields in mapping.outbound.objects.items():
        try:
            described = {k.casefold(): v for k, v in adapter.describe(obj).items()}
        except (AuthError, BudgetExhausted):
            raise
        except CarnetError:  # reported by check_online already
            described = {}
        for name in fields:
            info = described.get(name.casefold())
            editable = None if info is None else info.writable
            out.append({"object": obj, "field": name, "editable": editable})
    return out


_EDITABLE = {
    True: "editable by Carnet's user",
    False: "read-only for Carnet's user",
    None: "not there for Carnet's user (not made yet, or hidden by field-level security)",
}


def render_check(doc: dict[str, Any], console: Any) -> None:
    """The human summary: one line per source, then its notes."""
    if not doc["sources"]:
        console.print("no source is enabled in the config: no mapping to check")
    for s in doc["sources"]:
        how = "checked against the CRM" if s["online"] else "valid"
        console.print(
            f"{s['source']}: {s['mapping']} {how} ({len(s['objects'])} objects, "
            f"{s['outbound_fields']} outbound fields)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        for note in s["notes"]:
            console.print(f"  note: {note}", markup=False, highlight=False, soft_wrap=True)
        for f in s.get("writable", []):
            line = f"  writes {f['object']}.{f['field']}: {_EDITABLE[f['editable']]}"
            console.print(line, markup=False, highlight=False, soft_wrap=True)
