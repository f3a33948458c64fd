"""How the parts of a mapping file fit together: value and reference names for each kind, the
transforms they allow, references to objects in the file, and the outbound fields' CRM types.

Each check returns (location, message) pairs; the loader turns them into Problems with lines.
"""

from __future__ import annotations

import re
from typing import Any

from mappings.kinds import KINDS
from mappings.schema import Mapping, ObjectMap, OutField, ValueRule
from mappings.transforms import TRANSFORMS
from mappings.vocabulary import (
    HUBSPOT_FIELD_TYPES,
    OUTBOUND_TYPES,
    OUTBOUND_VALUES,
    TEXT_LENGTHS,
    VALUE_TYPES,
    article,
)

Found = list[tuple[tuple[Any, ...], str]]
_SF_CUSTOM = re.compile(r"^[A-Za-z](?!.*__.*__c$)[A-Za-z0-9_]{0,36}__c$")
_HS_PROPERTY = re.compile(r"^[a-z][a-z0-9_]{0,99}$")


def effective_transform(value: str, rule: ValueRule) -> str:
    return rule.transform or VALUE_TYPES[value].transforms[0]


def check_value(kind: str, value: str, rule: ValueRule) -> list[tuple[tuple[Any, ...], str]]:
    """Problems of one value rule, located relative to the rule."""
    spec = KINDS[kind]
    if value not in spec.values:
        known = ", ".join(spec.value_names)
        return [((), f"unknown overlay value {value!r} for {article(kind)} (known: {known})")]
    vtype = spec.values[value]
    name = effective_transform(value, rule)
    found: Found = []
    if name not in vtype.transforms:
        allowed = " or ".join(vtype.transforms)
        found.append((("transform",), f"{value!r} takes transform {allowed}, not {name}"))
        return found
    transform = TRANSFORMS[name]
    for option in ("sep", "choices", "min", "max"):
        if getattr(rule, option) is not None and option not in transform.options:
            found.append(((option,), f"option {option!r} does nothing with transform {name}"))
    if rule.first is not None and vtype.many:
        found.append((("first",), f"{value!r} is a list of every field's values: use from: [...]"))
    if rule.split is not None and not vtype.many:
        found.append((("split",), f"split is for list values; {value!r} holds one value"))
    several = isinstance(rule.from_, list) and len(rule.from_) > 1
    if several and not transform.combines and not vtype.many:
        found.append(
            (("from",), "several fields onto one value: use first: [...] for the first that is "
                        "set, or transform: join")
        )  # fmt: skip
    if transform.combines and rule.first is not None:
        found.append((("first",), f"transform {name} reads every field: use from: [...]"))
    if name == "stage" and rule.from_ is not None and len(rule.sources) not in (1, 2):
        found.append((("from",), "stage reads one status field, or two flags: closed, won"))
    found += _check_choices(value, rule, name)
    limit = spec.max_length(value)
    if rule.max_length is not None and limit is not None and rule.max_length > limit:
        found.append((("max_length",), f"the store keeps at most {limit} characters"))
    return found


def _check_choices(value: str, rule: ValueRule, transform: str) -> Found:
    words = VALUE_TYPES[value].words
    if transform != "choice":
        return []
    if rule.choices is None:
        return [] if words else [((), "transform choice needs choices: [...] or {crm: overlay}")]
    outputs = rule.choices if isinstance(rule.choices, list) else list(rule.choices.values())
    bad = [o for o in outputs if words and o not in words]
    return [(("choices",), f"{o!r} is not {article(value)} ({', '.join(words)})") for o in bad]


def check_object(
    obj: str,
    om: ObjectMap,
    order: list[str],
    kinds: dict[str, str],
    source: str,
    whole: bool = True,
) -> Found:
    """Problems of one object, located relative to `objects.<obj>`. `whole` False: some of its
    rules were invalid and left out, so what it lacks is not reported."""
    found: Found = []
    for value, rule in om.values.items():
        found += [(("values", value, *loc), msg) for loc, msg in check_value(om.kind, value, rule)]
    allowed = KINDS[om.kind].ref_kinds
    for name, ref in om.refs.items():
        loc = ("refs", name)
        if name not in allowed:
            known = ", ".join(allowed) or "none"
            found.append(
                (loc, f"unknown reference {name!r} for {article(om.kind)} (known: {known})")
            )
            continue
        if ref.association is not None and source != "hubspot":
            found.append(((*loc, "association"), "associations are read from HubSpot only"))
        if ref.to not in order:
            found.append(((*loc, "to"), f"refers to {ref.to!r}, which is not an object here"))
        elif ref.to in kinds and kinds[ref.to] != allowed[name]:
            found.append(
                ((*loc, "to"), f"{name!r} points at {article(allowed[name])}, but {ref.to} is "
                               f"{article(kinds[ref.to])}")
            )  # fmt: skip
        elif order.index(ref.to) > order.index(obj):
            found.append(((*loc, "to"), f"{ref.to} must come before {obj} in the file"))
    present = set(om.values) | set(om.refs)
    for alternatives in KINDS[om.kind].required if whole else ():
        if not present & set(alternatives):
            need = " or ".join(alternatives)
            found.append(((), f"{article(om.kind)} needs {need}"))
    return found


def check_outbound(mapping: Mapping) -> Found:
    """Problems of the outbound section, located relative to the top of the file."""
    found: Found = []
    source = mapping.source
    out = mapping.outbound
    if out.group is not None and source != "hubspot":
        found.append((("outbound", "group"), "a property group is a HubSpot setting"))
    if out.objects and source not in OUTBOUND_TYPES:
        return [(("outbound", "objects"), f"Carnet writes nothing back to {source}")]
    for obj, fields in out.objects.items():
        loc = ("outbound", "objects", obj)
        om = mapping.objects.get(obj)
        if om is None:
            found.append((loc, f"{obj} is not an object of this mapping"))
            continue
        if om.kind not in OUTBOUND_VALUES:
            found.append((loc, f"Carnet writes nothing to {article(om.kind)}"))
            continue
        read = {f.casefold() for f in mapping.inbound_fields(obj)}
        seen: dict[str, str] = {}
        for name, spec in fields.items():
            floc = (*loc, name)
            found += [((*floc, *sub), msg) for sub, msg in _check_field(source, om.kind, spec)]
            found += _check_name(source, name, floc)
            key = name.casefold()
            if key in seen:
                found.append((floc, f"writes the same CRM field as {seen[key]}"))
            seen.setdefault(key, name)
            if key in read:
                found.append((floc, f"{name} is also read by an inbound rule of {obj}"))
    return found


def _check_name(source: str, name: str, loc: tuple[Any, ...]) -> Found:
    if source == "salesforce" and not _SF_CUSTOM.match(name):
        return [(loc, "a Salesforce field Carnet writes must be a custom field: Name__c, at most "
                      "40 characters")]  # fmt: skip
    if source == "hubspot" and not _HS_PROPERTY.match(name):
        return [(loc, "a HubSpot property name is lower-case letters, digits and _")]
    return []


def _check_field(source: str, kind: str, spec: OutField) -> Found:
    values = OUTBOUND_VALUES[kind]
    if spec.value not in values:
        return [(("value",), f"unknown outbound value {spec.value!r} for {article(kind)} "
                             f"(known: {', '.join(values)})")]  # fmt: skip
    types = OUTBOUND_TYPES[source]
    if spec.type not in types:
        return [(("type",), f"unknown {source} type {spec.type!r} (known: {', '.join(types)})")]
    sort = values[spec.value]
    found: Found = []
    if sort not in types[spec.type]:
        found.append(
            (
                ("type",),
                f"{spec.value} is {article(sort)}; {article(spec.type)} field cannot hold it",
            )
        )
    if source == "salesforce":
        found += _check_sf_sizes(spec)
    elif spec.field_type is not None and spec.field_type not in HUBSPOT_FIELD_TYPES[spec.type]:
        allowed = ", ".join(HUBSPOT_FIELD_TYPES[spec.type])
        found.append((("field_type",), f"{article(spec.type)} property shows as {allowed}"))
    return found


def _check_sf_sizes(spec: OutField) -> Found:
    found: Found = []
    if spec.field_type is not None:
        found.append((("field_type",), "field_type is a HubSpot setting"))
    bounds = TEXT_LENGTHS.get(spec.type)
    if spec.length is not None and bounds is None:
        found.append((("length",), f"{article(spec.type)} field has no length"))
    elif spec.length is not None and bounds and not bounds[0] <= spec.length <= bounds[1]:
        found.append(
            (("length",), f"{article(spec.type)} holds {bounds[0]} to {bounds[1]} characters")
        )
    numeric = spec.type in ("Number", "Percent", "Currency")
    for key in ("precision", "scale"):
        if getattr(spec, key) is not None and not numeric:
            found.append(((key,), f"{key} is for Number, Percent and Currency fields"))
    if numeric and spec.precision is not None and spec.precision > 18:
        found.append((("precision",), "at most 18 digits"))
    if numeric and (spec.scale or 0) > (spec.precision or 18):
        found.append((("scale",), "scale cannot exceed precision"))
    return found


def check_mapping(mapping: Mapping) -> Found:
    order = list(mapping.objects)
    kinds = {name: om.kind for name, om in mapping.objects.items()}
    found: Found = []
    for obj, om in mapping.objects.items():
        sub = check_object(obj, om, order, kinds, mapping.source)
        found += [(("objects", obj, *loc), msg) for loc, msg in sub]
    return found + check_outbound(mapping)
