"""CRM search of the HubSpot stand-in: filter groups (OR of ANDs), the operators, one sort, a
free-text query, offset paging, and the limits HubSpot enforces (200 a page, the 10,000 cap).
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections import OrderedDict
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from .core import HTTPError
from .hubspot_props import epoch_ms
from .hubspot_schema import object_type
from .hubspot_store import Record, Store

MAX_GROUPS, MAX_FILTERS_PER_GROUP, MAX_FILTERS = 5, 6, 18
MAX_LIMIT, DEFAULT_LIMIT, RESULT_CAP = 200, 10, 10_000
OPERATORS = {
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
}
_QUERY_PROPS = {
    "contacts": ("firstname", "lastname", "email", "phone", "company"),
    "companies": ("name", "domain", "website", "phone"),
    "deals": ("dealname",),
    "notes": ("hs_note_body",),
    "calls": ("hs_call_title", "hs_call_body"),
    "emails": ("hs_email_subject", "hs_email_text"),
    "meetings": ("hs_meeting_title", "hs_meeting_body"),
    "tasks": ("hs_task_subject", "hs_task_body"),
}
_TOKEN = re.compile(r"[\w*]+", re.UNICODE)
Predicate = Callable[[Record], bool]


def invalid(message: str) -> HTTPError:
    return HTTPError(400, "VALIDATION_ERROR", message)


class Search:
    """Runs searches over a store; caches the ordered ids of recent queries for paging.

    With `lag_s` > 0 the index trails writes as HubSpot's does: a record created or changed in
    the last `lag_s` seconds is not found yet (so a modstamp cursor must re-read an overlap).
    """

    def __init__(self, store: Store, lag_s: float = 0.0, cache_size: int = 16):
        self.store, self.lag = store, timedelta(seconds=lag_s)
        self.cache: OrderedDict[tuple[str, str, int], list[str]] = OrderedDict()
        self.cache_size = cache_size

    def run(self, type_name: str, body: Any) -> dict[str, Any]:
        body = body if isinstance(body, dict) else {}
        limit, after = _paging(body)
        ids = self._matching(type_name, body)
        page = ids[after : after + limit]
        names = [str(p) for p in body.get("properties") or []] or None
        out: dict[str, Any] = {
            "total": len(ids),
            "results": [self.store.render(self.store.records[type_name][i], names) for i in page],
        }
        if after + limit < len(ids):
            out["paging"] = {"next": {"after": str(after + limit)}}
        return out

    def _matching(self, type_name: str, body: dict[str, Any]) -> list[str]:
        groups, sort, query = (
            body.get("filterGroups") or [],
            body.get("sorts") or [],
            body.get("query"),
        )
        key = (
            type_name,
            json.dumps([groups, sort, query], sort_keys=True, default=str),
            self.store.version,
        )
        if key in self.cache:
            self.cache.move_to_end(key)
            return self.cache[key]
        predicate = self._predicate(type_name, groups, query)
        hits = [r for r in self.store.live(type_name) if predicate(r)]
        if self.lag:
            indexed = self.store.clock.now() - self.lag
            return [r.id for r in self._sorted(type_name, hits, sort) if r.updated <= indexed]
        ids = [r.id for r in self._sorted(type_name, hits, sort)]
        self.cache[key] = ids
        if len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)
        return ids

    # -- filters -------------------------------------------------------------------------------
    def _predicate(self, type_name: str, groups: Any, query: Any) -> Predicate:
        if not isinstance(groups, list):
            raise invalid("Invalid input JSON: filterGroups must be an array")
        if len(groups) > MAX_GROUPS:
            raise invalid(f"Too many filter groups: {len(groups)}. The maximum is {MAX_GROUPS}.")
        compiled = [self._group(type_name, g) for g in groups]
        total = sum(len(g) for g in compiled)
        if total > MAX_FILTERS:
            raise invalid(
                f"Too many filters: {total}. The maximum across all filter groups is {MAX_FILTERS}."
            )
        text = _query_predicate(type_name, query)

        def matches(rec: Record) -> bool:
            if text is not None and not text(rec):
                return False
            return not compiled or any(all(f(rec) for f in g) for g in compiled)

        return matches

    def _group(self, type_name: str, group: Any) -> list[Predicate]:
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list):
            raise invalid("Invalid input JSON: each filter group needs a filters array")
        if len(filters) > MAX_FILTERS_PER_GROUP:
            raise invalid(
                f"Too many filters in a filter group: {len(filters)}. The maximum is "
                f"{MAX_FILTERS_PER_GROUP}."
            )
        return [self._filter(type_name, f) for f in filters]

    def _filter(self, type_name: str, flt: Any) -> Predicate:
        if not isinstance(flt, dict) or not flt.get("propertyName") or not flt.get("operator"):
            raise invalid("Invalid input JSON: a filter needs propertyName and operator")
        name, op = str(flt["propertyName"]), str(flt["operator"]).upper()
        if op not in OPERATORS:
            raise invalid(f"Invalid input JSON: operator {op} is not one of {sorted(OPERATORS)}")
        if name.startswith("associations."):
            return self._association_filter(type_name, name, op, flt)
        prop = self.store.props.get(type_name, name)
        if prop is None:
            raise invalid(
                f"Unable to find property {name} on object type {object_type(type_name).type_id}"
            )
        return _compare(name, prop["type"], op, flt)

    def _association_filter(
        self,
        type_name: str,
        name: str,
        op: str,
        flt: dict[str, Any],
    ) -> Predicate:
        """`associations.company EQ <id>`: records associated with that record."""
        to_type = object_type(name.split(".", 1)[1]).name
        if op not in ("EQ", "IN"):
            raise invalid(f"Operator {op} is not supported for {name}")
        wanted = {str(v) for v in (flt.get("values") or [flt.get("value")]) if v is not None}
        assoc = self.store.assoc
        return lambda rec: bool(wanted & assoc.targets(type_name, rec.id, to_type).keys())

    # -- sorting -------------------------------------------------------------------------------
    def _sorted(self, type_name: str, hits: list[Record], sorts: Any) -> list[Record]:
        if not isinstance(sorts, list):
            raise invalid("Invalid input JSON: sorts must be an array")
        if len(sorts) > 1:
            raise invalid("Only one sort is allowed per search.")
        by_id = sorted(hits, key=lambda r: int(r.id))
        if not sorts:
            return by_id
        name, descending = _sort_spec(sorts[0])
        prop = self.store.props.get(type_name, name)
        if prop is None:
            raise invalid(
                f"Unable to find property {name} on object type {object_type(type_name).type_id}"
            )
        kind = "number" if name == "hs_object_id" else prop["type"]
        present = [r for r in by_id if r.props.get(name) is not None]
        absent = [r for r in by_id if r.props.get(name) is None]
        present.sort(key=lambda r: _typed(kind, r.props[name]), reverse=descending)
        return present + absent


def _paging(body: dict[str, Any]) -> tuple[int, int]:
    try:
        limit = int(body.get("limit") or DEFAULT_LIMIT)
        after = int(body.get("after") or 0)
    except (TypeError, ValueError):
        raise invalid("Invalid input JSON: limit and after must be integers") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise invalid(f"Invalid input JSON: limit must be between 1 and {MAX_LIMIT}; got {limit}")
    if after < 0 or after + limit > RESULT_CAP:
        raise invalid(
            f"Search results are limited to {RESULT_CAP} records per query: after "
            f"({after}) plus limit ({limit}) must not exceed {RESULT_CAP}."
        )
    return limit, after


def _sort_spec(spec: Any) -> tuple[str, bool]:
    if isinstance(spec, str):
        return spec.lstrip("-"), spec.startswith("-")
    if isinstance(spec, dict) and spec.get("propertyName"):
        direction = str(spec.get("direction") or "ASCENDING").upper()
        if direction not in ("ASCENDING", "DESCENDING"):
            raise invalid(f"Invalid sort direction {direction}")
        return str(spec["propertyName"]), direction == "DESCENDING"
    raise invalid("Invalid input JSON: a sort needs propertyName and direction")


def _typed(kind: str, value: str) -> Any:
    """A value in the order HubSpot compares that property type."""
    if kind == "number":
        try:
            return float(value)
        except ValueError:
            return float("nan")
    if kind in ("date", "datetime"):
        ms = epoch_ms(value)
        return ms if ms is not None else 0
    return value.lower()


def _compare(name: str, ptype: str, op: str, flt: dict[str, Any]) -> Predicate:
    kind = "number" if name == "hs_object_id" else ptype
    if op == "HAS_PROPERTY":
        return lambda r: r.props.get(name) is not None
    if op == "NOT_HAS_PROPERTY":
        return lambda r: r.props.get(name) is None
    if op in ("IN", "NOT_IN"):
        values = flt.get("values")
        if not isinstance(values, list) or not values:
            raise invalid(f"Operator {op} needs a non-empty values array")
        wanted = {_typed(kind, str(v)) for v in values}
        if op == "IN":
            return lambda r: r.props.get(name) is not None and _typed(kind, r.props[name]) in wanted
        return lambda r: r.props.get(name) is None or _typed(kind, r.props[name]) not in wanted
    if flt.get("value") is None:
        raise invalid(f"Operator {op} on {name} needs a value")
    value = str(flt["value"])
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        contains = _token_predicate(name, value)
        return contains if op == "CONTAINS_TOKEN" else (lambda r: not contains(r))
    target = _typed(kind, value)
    if op == "BETWEEN":
        if flt.get("highValue") is None:
            raise invalid(f"Operator BETWEEN on {name} needs value and highValue")
        high = _typed(kind, str(flt["highValue"]))
        return lambda r: (
            r.props.get(name) is not None and target <= _typed(kind, r.props[name]) <= high
        )
    if op == "NEQ":
        return lambda r: r.props.get(name) is None or _typed(kind, r.props[name]) != target
    test: Callable[[Any], bool] = {
        "EQ": lambda v: v == target, "LT": lambda v: v < target, "LTE": lambda v: v <= target,
        "GT": lambda v: v > target, "GTE": lambda v: v >= target,
    }[op]  # fmt: skip
    return lambda r: r.props.get(name) is not None and test(_typed(kind, r.props[name]))


def _token_predicate(name: str, value: str) -> Predicate:
    pattern = value.lower()

    def contains(rec: Record) -> bool:
        text = rec.props.get(name)
        if text is None:
            return False
        text = text.lower()
        if "*" in pattern:
            return fnmatch.fnmatchcase(text, pattern) or any(
                fnmatch.fnmatchcase(t, pattern) for t in _TOKEN.findall(text)
            )
        return pattern in _TOKEN.findall(text) or text == pattern

    return contains


def _query_predicate(type_name: str, query: Any) -> Predicate | None:
    """`query`: every word must start a word of one of the type's default searchable fields."""
    if not query:
        return None
    tokens = [t.lower() for t in str(query).split()]
    fields = _QUERY_PROPS[type_name]

    def matches(rec: Record) -> bool:
        texts = [(rec.props.get(f) or "").lower() for f in fields]
        words = texts + [w for text in texts for w in _TOKEN.findall(text)]
        return all(any(w.startswith(t) for w in words) for t in tokens)

    return matches
