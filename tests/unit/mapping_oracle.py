"""The test oracle of the compiled mapping plans: a rule-by-rule reading of a mapping, slow and
plain, that `mappings.apply.apply` must agree with (tests/unit/test_mappings_compiled.py).

It shares only the low-level pieces with the product (reading a path, what a kind needs).
"""

from __future__ import annotations

from typing import Any

from connector.core.records import RawRecord
from mappings.compiled import FILTERED, Mapped, missing
from mappings.compiled_values import combined
from mappings.fields import key, ref_id, resolve
from mappings.kinds import KINDS
from mappings.schema import Mapping, ObjectMap, RefRule, ValueRule
from mappings.transforms import TRANSFORMS, Bad


def apply_reference(mapping: Mapping, object_name: str, raw: RawRecord) -> Mapped:
    """What `apply` gives, read off the pydantic rules one by one (slow; the specification)."""
    om = mapping.objects[object_name]
    rec = Mapped(
        kind=om.kind,
        source=mapping.source,
        object=object_name,
        external_id=str(raw.id),
        deleted=raw.deleted,
        merged_into=raw.merged_into,
        modstamp=raw.modstamp,
    )
    if raw.deleted or raw.merged_into:
        return rec  # a tombstone: only its identity matters
    outside = _filtered_out(om, raw)
    if outside:
        rec.problems.append(f"{FILTERED}: {outside}")
        return rec
    for name, rule in om.values.items():
        value = _value(om.kind, name, rule, raw, rec.notes)
        if value is not None and value != []:
            rec.values[name] = value
    for name, ref in om.refs.items():
        ids = _ref_ids(ref, raw)
        if name in KINDS[om.kind].many_refs:
            if ids:
                rec.many_refs[name] = (ref.to, ids)
        elif ids:
            rec.refs[name] = (ref.to, ids[0])
    rec.seen = {f: raw.fields[f] for f in mapping.outbound_fields(object_name) if f in raw.fields}
    gap = missing(rec)
    if gap:
        rec.problems.append(gap)
        rec.problems += rec.notes
    return rec


# -- filters --------------------------------------------------------------------------------------


def _filtered_out(om: ObjectMap, raw: RawRecord) -> str | None:
    for path, wanted in om.filter.items():
        allowed = wanted if isinstance(wanted, list) else [wanted]
        keys = {key(a) for a in allowed}
        got = resolve(raw, path)
        if not any(key(v) in keys for v in got):
            shown = got[0] if got else None
            return f"{path} is {shown!r}, not {' or '.join(map(str, allowed))}"
    return None


# -- values ---------------------------------------------------------------------------------------


def _value(kind: str, name: str, rule: ValueRule, raw: RawRecord, notes: list[str]) -> Any:
    """One overlay value: a list for list values, else the first candidate that transforms."""
    fn = TRANSFORMS[rule._transform].fn
    where = f"{name} ({', '.join(rule.sources) or 'const'})"
    if TRANSFORMS[rule._transform].combines:
        inputs = (
            [rule.const]
            if rule.const is not None
            else [combined(resolve(raw, p)) for p in rule.sources]
        )
        result = _try(fn, inputs, rule, where, notes)
        if result is None and rule.default is not None:
            result = _try(fn, [rule.default], rule, where, notes)
        return _cut(kind, name, rule, result, notes)
    candidates = _candidates(rule, raw)
    if KINDS[kind].values[name].many:
        out: list[Any] = []
        for c in candidates:
            v = _cut(kind, name, rule, _try(fn, c, rule, where, notes), notes)
            if v is not None and v not in out:
                out.append(v)
        return out
    failed: list[str] = []  # noted only when no candidate gives a value
    for c in candidates:
        v = _try(fn, c, rule, where, failed)
        if v is not None:
            return _cut(kind, name, rule, v, notes)
    notes += failed
    return None


def _candidates(rule: ValueRule, raw: RawRecord) -> list[Any]:
    if rule.const is not None:
        return [rule.const]
    found = [v for p in rule.sources for v in resolve(raw, p)]
    if rule.split:
        found = [part for v in found for part in str(v).split(rule.split) if part.strip()]
    if not found and rule.default is not None:
        found = [rule.default]
    return found


def _try(fn: Any, arg: Any, rule: ValueRule, where: str, notes: list[str]) -> Any:
    try:
        return fn(arg, rule._opts)
    except Bad as exc:
        notes.append(f"{where}: {exc}")
        return None


def _cut(kind: str, name: str, rule: ValueRule, value: Any, notes: list[str]) -> Any:
    limit = rule.max_length or KINDS[kind].max_length(name)
    if isinstance(value, str) and limit is not None and len(value) > limit:
        notes.append(f"{name}: cut to {limit} characters (was {len(value)})")
        return value[:limit]
    return value


# -- references ------------------------------------------------------------------------------------


def _ref_ids(ref: RefRule, raw: RawRecord) -> list[str]:
    ids = [ref_id(v) for v in resolve(raw, ref.from_)] if ref.from_ else []
    if not ids and ref.association:
        ids = [ref_id(v) for v in raw.associations.get(ref.association, [])]
    return list(dict.fromkeys(i for i in ids if i))
