"""A mapping's value rules compiled into plain functions of a raw record: the transform with its
options and a memo, the store length, and quick paths for plain text fields. `mappings.compiled`
builds each object's plan from these.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connector.core.records import RawRecord
from mappings.fields import SIMPLE, Getter, getter
from mappings.kinds import KINDS
from mappings.schema import ValueRule
from mappings.transforms import TRANSFORMS, Bad, join, trim

MEMO_SIZE = 10_000  # text inputs remembered per rule (titles, countries, picklist values repeat)

ValueFn = Callable[[RawRecord, list[str]], Any]
Call = Callable[[Any], Any]


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
    vtype = KINDS[kind].values[name]
    limit = rule.max_length or vtype.max_length
    cut = cutter(limit, name)
    spec = TRANSFORMS[rule._transform]
    names = tuple(rule.sources)
    plain_fields = rule.const is None and all(SIMPLE.fullmatch(p) for p in names)
    if spec.combines:
        general = _combining(rule, where, cut)
        if plain_fields and spec.fn is join:
            return _join_fields(names, rule._opts.sep, limit, cut, general)
        return general
    candidates, call = _candidates(rule), caller(rule)
    fast = plain_fields and not rule.split
    if vtype.many:
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
