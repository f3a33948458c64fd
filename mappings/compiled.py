"""A mapping's object compiled once into plain Python (field getters, transforms with their options
and a memo, store lengths), so that applying it to a record touches no pydantic model.

`mappings.apply.apply` runs these plans; `apply_reference` there is the rule-by-rule original they
must agree with. A plan assumes its mapping is not changed after loading (the loader's promise).
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from connector.core.records import RawRecord
from mappings.records import MappedRecord
from mappings.schema import Mapping, ObjectMap, RefRule, ValueRule
from mappings.transforms import TRANSFORMS, Bad, join, trim
from mappings.vocabulary import MANY_REFS, REQUIRED, VALUE_TYPES, article, max_length

FILTERED = "filtered out by the mapping"
MEMO_SIZE = 10_000  # text inputs remembered per rule (titles, countries, picklist values repeat)

Getter = Callable[[RawRecord], list[Any]]
ValueFn = Callable[[RawRecord, list[str]], Any]
RefFn = Callable[[RawRecord], list[str]]
Call = Callable[[Any], Any]


@dataclass
class Mapped(MappedRecord):
    """A MappedRecord with the notes that did not stop it being taken (an invalid second email,
    an unknown country, a name cut to the store's length)."""

    notes: list[str] = field(default_factory=list)


# -- reading fields -------------------------------------------------------------------------------

_STEP = re.compile(r"\.?([A-Za-z_][\w-]*)|\[(\d*)\]")
_SIMPLE = re.compile(r"[A-Za-z_][\w-]*")


@cache
def steps(path: str) -> tuple[str | int | None, ...]:
    """`a.b[].c[0]` -> ("a", "b", None, "c", 0); None means every item of a list."""
    out: list[str | int | None] = []
    for m in _STEP.finditer(path):
        if m.group(1) is not None:
            out.append(m.group(1))
        else:
            out.append(int(m.group(2)) if m.group(2) else None)
    return tuple(out)


def empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def walk(root: Any, path_steps: tuple[str | int | None, ...]) -> list[Any]:
    """Every value the steps reach from `root` (lists flattened), empty ones left out."""
    current: list[Any] = [root]
    for step in path_steps:
        nxt: list[Any] = []
        for node in current:
            if isinstance(step, str) and isinstance(node, dict):
                nxt.append(node.get(step))
            elif isinstance(node, list) and step is None:
                nxt.extend(node)
            elif isinstance(node, list) and isinstance(step, int) and step < len(node):
                nxt.append(node[step])
        current = nxt
    flat: list[Any] = []
    for v in current:
        flat.extend(v if isinstance(v, list) else [v])
    return [v for v in flat if not empty(v)]


def getter(path: str) -> Getter:
    """A function giving what `mappings.apply.resolve(raw, path)` gives, quicker."""
    if path == "$id":
        return lambda raw: [raw.id]
    if path == "$container":
        return lambda raw: [raw.container] if raw.container else []
    path_steps = steps(path)
    if not _SIMPLE.fullmatch(path):
        return lambda raw: walk(raw.fields, path_steps)
    name = path

    def get(raw: RawRecord) -> list[Any]:
        fields = raw.fields
        if fields.__class__ is not dict:
            return walk(fields, path_steps)
        v = fields.get(name)
        if v is None:
            return []
        if v.__class__ is str:
            return [v] if v.strip() else []
        if isinstance(v, list):
            return [x for x in v if not empty(x)]
        return [] if empty(v) else [v]

    return get


# -- transforms -----------------------------------------------------------------------------------


class Failed:
    """What a transform call gives when the transform raised `Bad` (kept in the memo as such)."""

    __slots__ = ("message",)

    def __init__(self, message: str):
        self.message = message


def caller(rule: ValueRule) -> Call:
    """`fn(value, opts)` for the rule's transform, giving a `Failed` instead of raising `Bad`;
    text inputs are remembered (every transform is a pure function of value and options, and
    gives an immutable value, so records may share one)."""
    fn, opts = TRANSFORMS[rule._transform].fn, rule._opts
    memo: dict[str, Any] = {}

    def call(value: Any) -> Any:
        is_text = value.__class__ is str
        if is_text:
            if fn is trim:
                return value.strip() or None
            found = memo.get(value, memo)
            if found is not memo:
                return found
        try:
            result = fn(value, opts)
        except Bad as exc:
            result = Failed(str(exc))
        if is_text:
            if len(memo) >= MEMO_SIZE:
                memo.clear()
            memo[value] = result
        return result

    return call


def cutter(limit: int | None, name: str) -> Callable[[Any, list[str]], Any]:
    def cut(value: Any, notes: list[str]) -> Any:
        if limit is not None and isinstance(value, str) and len(value) > limit:
            notes.append(f"{name}: cut to {limit} characters (was {len(value)})")
            return value[:limit]
        return value

    return cut


# -- values ---------------------------------------------------------------------------------------


def value_fn(kind: str, name: str, rule: ValueRule) -> ValueFn:
    """One overlay value of a record: a list for list values, else the first candidate that
    transforms; a failed candidate is a note."""
    where = f"{name} ({', '.join(rule.sources) or 'const'})"
    limit = rule.max_length or max_length(kind, name)
    cut = cutter(limit, name)
    spec = TRANSFORMS[rule._transform]
    names = tuple(rule.sources)
    plain_fields = rule.const is None and all(_SIMPLE.fullmatch(p) for p in names)
    if spec.combines:
        general = _combining(rule, where, cut)
        if plain_fields and spec.fn is join:
            return _join_fields(names, rule._opts.sep, limit, cut, general)
        return general
    candidates, call = _candidates(rule), caller(rule)
    fast = plain_fields and not rule.split
    if VALUE_TYPES[name].many:
        many = _many(candidates, call, where, cut)
        one = fast and len(names) == 1 and rule.default is None
        return _many_field(names[0], call, where, cut, many) if one else many
    first = _first(candidates, call, where, cut)
    if not fast:
        return first
    how = (spec.fn is trim, call, where, limit, cut)
    return _first_fields(names, rule.default, how, first)


# The `_fields` functions below do what the general one they are given does, for the usual case
# of plain fields holding text, without building candidate lists; on anything else (fields not a
# dict, a list or a number in a field, a default to fall back on) they hand the record to it.


def _first_fields(
    names: tuple[str, ...], default: Any, how: tuple[Any, ...], first: ValueFn
) -> ValueFn:
    trimmed, call, where, limit, cut = how

    def value(raw: RawRecord, notes: list[str]) -> Any:
        fields = raw.fields
        if fields.__class__ is not dict:
            return first(raw, notes)
        found, failed = False, None
        for name in names:
            v = fields.get(name)
            if v is None:
                continue
            if v.__class__ is not str:
                return first(raw, notes)
            text = v.strip()
            if not text:
                continue
            found = True
            result = text if trimmed else call(v)
            if result.__class__ is Failed:
                failed = [*(failed or ()), f"{where}: {result.message}"]
            elif result is not None:
                if limit is not None and isinstance(result, str) and len(result) > limit:
                    return cut(result, notes)
                return result
        if not found and default is not None:
            return first(raw, notes)
        if failed:
            notes += failed
        return None

    return value


def _many_field(name: str, call: Call, where: str, cut: Any, many: ValueFn) -> ValueFn:
    def value(raw: RawRecord, notes: list[str]) -> Any:
        fields = raw.fields
        if fields.__class__ is dict:
            v = fields.get(name)
            if v is None:
                return []
            if v.__class__ is str and v.strip():
                result = call(v)
                if result.__class__ is Failed:
                    notes.append(f"{where}: {result.message}")
                    return []
                result = cut(result, notes)
                return [] if result is None else [result]
        return many(raw, notes)

    return value


def _join_fields(
    names: tuple[str, ...], sep: str, limit: int | None, cut: Any, general: ValueFn
) -> ValueFn:
    def value(raw: RawRecord, notes: list[str]) -> Any:
        fields = raw.fields
        if fields.__class__ is not dict:
            return general(raw, notes)
        parts = []
        for name in names:
            v = fields.get(name)
            if v is None:
                continue
            if v.__class__ is not str:
                return general(raw, notes)
            text = v.strip()
            if text:
                parts.append(text)
        if not parts:  # nothing to join: the default, if any
            return general(raw, notes)
        result = sep.join(parts)
        return cut(result, notes) if limit is not None and len(result) > limit else result

    return value


def _first(candidates: Getter, call: Call, where: str, cut: Any) -> ValueFn:
    def value(raw: RawRecord, notes: list[str]) -> Any:
        failed: list[str] = []  # noted only when no candidate gives a value
        for c in candidates(raw):
            v = call(c)
            if v.__class__ is Failed:
                failed.append(f"{where}: {v.message}")
            elif v is not None:
                return cut(v, notes)
        notes += failed
        return None

    return value


def _many(candidates: Getter, call: Call, where: str, cut: Any) -> ValueFn:
    def value(raw: RawRecord, notes: list[str]) -> Any:
        out: list[Any] = []
        for c in candidates(raw):
            v = call(c)
            if v.__class__ is Failed:
                notes.append(f"{where}: {v.message}")
                continue
            v = cut(v, notes)
            if v is not None and v not in out:
                out.append(v)
        return out

    return value


def _combining(rule: ValueRule, where: str, cut: Any) -> ValueFn:
    """join and stage: every source's value (several values of one source joined) in one call."""
    fn, opts, const, default = TRANSFORMS[rule._transform].fn, rule._opts, rule.const, rule.default
    getters = [getter(p) for p in rule.sources]

    def attempt(inputs: list[Any], notes: list[str]) -> Any:
        try:
            return fn(inputs, opts)
        except Bad as exc:
            notes.append(f"{where}: {exc}")
            return None

    def value(raw: RawRecord, notes: list[str]) -> Any:
        inputs = [const] if const is not None else [combined(g(raw)) for g in getters]
        result = attempt(inputs, notes)
        if result is None and default is not None:
            result = attempt([default], notes)
        return cut(result, notes)

    return value


def combined(values: list[Any]) -> Any:
    return None if not values else values[0] if len(values) == 1 else " ".join(map(str, values))


def _candidates(rule: ValueRule) -> Getter:
    """The rule's candidate values of a record: const, or the sources' values (split), or the
    default when those are empty."""
    const, default, split = rule.const, rule.default, rule.split
    if const is not None:
        return lambda raw: [const]
    getters = [getter(p) for p in rule.sources]
    one = getters[0] if len(getters) == 1 else None

    def candidates(raw: RawRecord) -> list[Any]:
        found = one(raw) if one is not None else [v for g in getters for v in g(raw)]
        if split:
            found = [part for v in found for part in str(v).split(split) if part.strip()]
        if not found and default is not None:
            found = [default]
        return found

    return candidates


# -- references, filters, what a kind needs -------------------------------------------------------


def ref_fn(ref: RefRule) -> RefFn:
    """The ids a reference rule finds in a record (field first, then the association)."""
    get = getter(ref.from_) if ref.from_ else None
    association = ref.association

    def ids_of(raw: RawRecord) -> list[str]:
        ids = [ref_id(v) for v in get(raw)] if get is not None else []
        if not ids and association:
            ids = [ref_id(v) for v in raw.associations.get(association, [])]
        return list(dict.fromkeys(i for i in ids if i))

    if ref.from_ is None or not _SIMPLE.fullmatch(ref.from_):
        return ids_of
    name = ref.from_

    def one_field(raw: RawRecord) -> list[str]:
        """`ids_of` when the field holds a text id, or nothing and there is no association."""
        fields = raw.fields
        if fields.__class__ is dict:
            v = fields.get(name)
            if v.__class__ is str:
                text = v.strip()
                if text:
                    return [text]
            elif v is None and not association:
                return []
        return ids_of(raw)

    return one_field


def ref_id(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():  # HubSpot number properties
        return str(int(value))
    return str(value).strip()


def key(value: Any) -> str:
    return str(value).strip().casefold()


def filter_fn(om: ObjectMap) -> Callable[[RawRecord], str | None] | None:
    """Why a record is outside the object's filter (None: inside); None when it has no filter."""
    if not om.filter:
        return None
    tests = []
    for path, wanted in om.filter.items():
        allowed = wanted if isinstance(wanted, list) else [wanted]
        keys = frozenset(key(a) for a in allowed)
        tests.append((path, getter(path), keys, " or ".join(map(str, allowed))))

    def outside(raw: RawRecord) -> str | None:
        for path, get, keys, shown_allowed in tests:
            got = get(raw)
            if not any(key(v) in keys for v in got):
                shown = got[0] if got else None
                return f"{path} is {shown!r}, not {shown_allowed}"
        return None

    return outside


def missing(rec: MappedRecord) -> str | None:
    """Why a record lacks what its kind needs (None: it has it)."""
    present = set(rec.values) | set(rec.refs) | set(rec.many_refs)
    if rec.kind == "person":
        if "emails" in present or {"name", "org"} <= present:
            return None
        return "a person needs a valid email, or a name and an org to be matched by"
    for alternatives in REQUIRED[rec.kind]:
        if not present & set(alternatives):
            return f"{article(rec.kind)} needs {' or '.join(alternatives)}"
    return None


# -- the plan -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """One mapping object, ready to apply to records."""

    om: ObjectMap  # what it was compiled from (a replaced object is compiled again)
    kind: str
    source: str
    object: str
    outside: Callable[[RawRecord], str | None] | None
    values: tuple[tuple[str, ValueFn], ...]
    refs: tuple[tuple[str, str, bool, RefFn], ...]  # name, object referred to, many, ids
    outbound: tuple[str, ...]  # CRM fields Carnet writes, kept as seen

    def run(self, raw: RawRecord) -> Mapped:
        rec = Mapped(
            kind=self.kind,
            source=self.source,
            object=self.object,
            external_id=str(raw.id),
            deleted=raw.deleted,
            merged_into=raw.merged_into,
            modstamp=raw.modstamp,
        )
        if raw.deleted or raw.merged_into:
            return rec  # a tombstone: only its identity matters
        if self.outside is not None:
            outside = self.outside(raw)
            if outside:
                rec.problems.append(f"{FILTERED}: {outside}")
                return rec
        self._fill(rec, raw)
        gap = missing(rec)
        if gap:
            rec.problems.append(gap)
            rec.problems += rec.notes
        return rec

    def _fill(self, rec: Mapped, raw: RawRecord) -> None:
        values, notes = rec.values, rec.notes
        for name, fn in self.values:
            value = fn(raw, notes)
            if value is not None and value != []:
                values[name] = value
        for name, to, many, ids_of in self.refs:
            ids = ids_of(raw)
            if not ids:
                continue
            if many:
                rec.many_refs[name] = (to, ids)
            else:
                rec.refs[name] = (to, ids[0])
        if self.outbound:
            fields = raw.fields
            rec.seen = {f: fields[f] for f in self.outbound if f in fields}


def compile_object(mapping: Mapping, object_name: str) -> Plan:
    om = mapping.objects[object_name]
    many = MANY_REFS.get(om.kind, {})
    return Plan(
        om=om,
        kind=om.kind,
        source=mapping.source,
        object=object_name,
        outside=filter_fn(om),
        values=tuple((n, value_fn(om.kind, n, r)) for n, r in om.values.items()),
        refs=tuple((n, r.to, n in many, ref_fn(r)) for n, r in om.refs.items()),
        outbound=tuple(mapping.outbound_fields(object_name)),
    )


_PLANS: dict[tuple[int, str], Plan] = {}


def plan_for(mapping: Mapping, object_name: str) -> Plan:
    """The object's plan, compiled on first use and kept while the mapping lives."""
    om = mapping.objects[object_name]
    plan = _PLANS.get((id(mapping), object_name))
    if plan is None or plan.om is not om:
        if not any(k[0] == id(mapping) for k in _PLANS):
            weakref.finalize(mapping, _forget, id(mapping))
        plan = _PLANS[(id(mapping), object_name)] = compile_object(mapping, object_name)
    return plan


def _forget(mapping_id: int) -> None:
    for k in [k for k in _PLANS if k[0] == mapping_id]:
        del _PLANS[k]
