"""A mapping's object compiled once into plain Python (field getters, transforms with their options
and a memo, store lengths), so that applying it to a record touches no pydantic model.

`mappings.apply.apply` runs these plans; the value functions are in `mappings.compiled_values`.
A plan assumes its mapping is not changed after loading (the loader's promise).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

from connector.core.records import RawRecord
from mappings.compiled_values import ValueFn, value_fn
from mappings.fields import SIMPLE, getter, key, ref_id
from mappings.kinds import KINDS
from mappings.records import MappedRecord
from mappings.schema import Mapping, ObjectMap, RefRule

FILTERED = "filtered out by the mapping"

RefFn = Callable[[RawRecord], list[str]]


@dataclass
class Mapped(MappedRecord):
    """A MappedRecord with the notes that did not stop it being taken (an invalid second email,
    an unknown country, a name cut to the store's length)."""

    notes: list[str] = field(default_factory=list)


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

    if ref.from_ is None or not SIMPLE.fullmatch(ref.from_):
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
    return KINDS[rec.kind].missing(set(rec.values) | set(rec.refs) | set(rec.many_refs))


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
    many = KINDS[om.kind].many_refs
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
