"""The SOQL subset the Salesforce stand-in understands: parse, check against the schema, run.
Anything outside the subset is refused with Salesforce's own error codes, never guessed at.

Supported: SELECT of fields, one-level parent relationship fields (Account.Name) or COUNT();
FROM one object; WHERE with =, !=, <>, <, <=, >, >=, IN, NOT IN, LIKE, NOT, AND/OR (mixing
needs parentheses, as in Salesforce) over strings, numbers, booleans, null, ids, date and
datetime literals; ORDER BY several fields with ASC/DESC and NULLS FIRST/LAST; LIMIT; OFFSET.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .sf_fields import ID_TYPES, NUMBER_TYPES, STRING_TYPES, Field, SObject
from .sf_ids import normalize_id
from .sf_schema import Schema
from .soql_parse import (
    BoolOp,
    Cmp,
    Not,
    Parsed,
    SoqlError,
    Token,
    datetime_literal,
    parse,
    unquote,
)

__all__ = ["Bound", "Column", "SoqlError", "compile_query", "datetime_literal", "parse"]

Record = dict[str, Any]
Lookup = Callable[[str, str | None], Record | None]
Getter = Callable[[Record], Any]

_INVALID_FIELD_TAIL = (
    "If you are attempting to use a custom field, be sure to append the '__c' after the custom "
    "field name. Please reference your WSDL or the describe call for the appropriate names."
)


# -- binding to the schema --------------------------------------------------------------------
@dataclass
class Column:
    header: str  # "Email" or "Account.Name", as Bulk API CSV headers show it
    field: Field
    getter: Getter
    rel: Field | None = None  # the lookup field of a parent relationship column
    rel_obj: SObject | None = None


@dataclass
class Bound:
    """A query checked against the schema, ready to run over records."""

    obj: SObject
    columns: list[Column]
    count: bool
    predicate: Callable[[Record], bool] | None
    sort: list[tuple[Getter, bool, bool, bool]]  # getter, desc, nulls last, case-insensitive
    limit: int | None
    offset: int | None
    lookup: Lookup
    _plain: list[str] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if all(c.rel is None and c.field.type != "base64" for c in self.columns):
            self._plain = [c.field.name for c in self.columns]

    def run(self, rows: Iterable[Record]) -> list[Record]:
        pred = self.predicate
        out = [r for r in rows if pred(r)] if pred else list(rows)
        for getter, desc, nulls_last, fold in reversed(self.sort):
            null_rank = 0 if nulls_last == desc else 2

            def key(r: Record, g: Getter = getter, nr: int = null_rank, f: bool = fold) -> Any:
                v = g(r)
                return (nr, 0) if v is None else (1, v.casefold() if f else v)

            out.sort(key=key, reverse=desc)
        start = self.offset or 0
        end = None if self.limit is None else start + self.limit
        return out[start:end]

    def render(self, rec: Record, url_base: str) -> Record:
        """One row as the REST API shows it; `url_base` is ".../sobjects" (or tooling's)."""
        obj = self.obj.name
        if self._plain is not None:  # the common case, kept fast: no lookups, no blobs
            out = {n: rec.get(n) for n in self._plain}
            return {"attributes": {"type": obj, "url": f"{url_base}/{obj}/{rec['Id']}"}, **out}
        out = {"attributes": _attributes(obj, rec["Id"], url_base)}
        for col in self.columns:
            if col.rel is None:
                out[col.field.name] = _shown(col.field, rec, url_base, obj)
            else:
                self._render_parent(out, col, rec, url_base)
        return out

    def _render_parent(self, out: Record, col: Column, rec: Record, url_base: str) -> None:
        assert col.rel_obj is not None and col.rel is not None and col.rel.relationship
        parent = self.lookup(col.rel_obj.name, rec.get(col.rel.name))
        if parent is None:
            out[col.rel.relationship] = None
            return
        nested = out.get(col.rel.relationship) or {
            "attributes": _attributes(col.rel_obj.name, parent["Id"], url_base)
        }
        nested[col.field.name] = _shown(col.field, parent, url_base, col.rel_obj.name)
        out[col.rel.relationship] = nested


def _attributes(obj: str, record_id: str, url_base: str) -> dict[str, str]:
    return {"type": obj, "url": f"{url_base}/{obj}/{record_id}"}


def _shown(f: Field, rec: Record, url_base: str, obj: str) -> Any:
    value = rec.get(f.name)
    if f.type == "base64" and value is not None:
        return f"{url_base}/{obj}/{rec['Id']}/{f.name}"
    return value


@dataclass
class _ParentGetter:
    """Reads a parent record's field through a lookup (kept as an object so render can reuse)."""

    lookup: Lookup
    fk: str
    parent_obj: str
    name: str

    def __call__(self, rec: Record) -> Any:
        parent = self.lookup(self.parent_obj, rec.get(self.fk))
        return None if parent is None else parent.get(self.name)


class Binder:
    def __init__(self, parsed: Parsed, schema: Schema, lookup: Lookup):
        self.p, self.schema, self.lookup = parsed, schema, lookup
        obj = schema.get(parsed.obj.text)
        if obj is None:
            raise self.error(
                "INVALID_TYPE",
                f"sObject type '{parsed.obj.text}' is not supported. If you are attempting to use "
                "a custom object, be sure to append the '__c' after the entity name. Please "
                "reference your WSDL or the describe call for the appropriate names.",
                parsed.obj,
            )
        self.obj = obj

    def error(self, code: str, text: str, tok: Token) -> SoqlError:
        return SoqlError(code, text, self.p.text, tok.pos)

    def bind(self) -> Bound:
        columns = [self.column(tok) for tok in self.p.fields]
        seen = set()
        for tok, col in zip(self.p.fields, columns, strict=True):
            if col.header.lower() in seen:
                raise self.error("MALFORMED_QUERY", f"duplicate field selected: {tok.text}", tok)
            seen.add(col.header.lower())
        if self.p.offset is not None and self.p.offset > 2000:
            raise SoqlError("NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000")
        if self.obj.name == "ContentDocumentLink":
            self.check_link_filter()
        sort = []
        for key in self.p.order:
            col = self.column(key.path)
            if not col.field.filterable:
                raise self.error(
                    "INVALID_FIELD",
                    f"field '{col.field.name}' can not be sorted in a query call",
                    key.path,
                )
            fold = col.field.type in STRING_TYPES  # text sorts case-insensitively, ids do not
            sort.append((col.getter, key.desc, key.nulls_last, fold))
        predicate = self.predicate(self.p.where) if self.p.where is not None else None
        p = self.p
        return Bound(self.obj, columns, p.count, predicate, sort, p.limit, p.offset, self.lookup)

    def column(self, tok: Token) -> Column:
        parts = tok.text.split(".")
        if len(parts) > 1 and parts[0].lower() == self.obj.name.lower():
            parts = parts[1:]  # "Contact.Email" FROM Contact is the same as "Email"
        if len(parts) == 1:
            f = self.field(self.obj, parts[0], tok)
            return Column(f.name, f, _plain_getter(f.name))
        if len(parts) > 2:
            raise self.error(
                "MALFORMED_QUERY",
                "relationship paths deeper than one level are not in the sandbox's SOQL subset",
                tok,
            )
        rel = self.obj.relationship(parts[0])
        if rel is None:
            raise self.error(
                "INVALID_FIELD",
                f"Didn't understand relationship '{parts[0]}' in field path. If you are "
                "attempting to use a custom relationship, be sure to append the '__r' after the "
                "custom relationship name. Please reference your WSDL or the describe call for "
                "the appropriate names.",
                tok,
            )
        target = self.schema.get(rel.reference_to[0]) if len(rel.reference_to) == 1 else None
        if target is None:
            raise self.error(
                "MALFORMED_QUERY",
                f"polymorphic or non-queryable relationship '{parts[0]}' is not in the sandbox's "
                "SOQL subset",
                tok,
            )
        f = self.field(target, parts[1], tok)
        getter = _ParentGetter(self.lookup, rel.name, target.name, f.name)
        return Column(f"{rel.relationship}.{f.name}", f, getter, rel, target)

    def field(self, obj: SObject, name: str, tok: Token) -> Field:
        f = obj.field(name)
        if f is None:
            raise self.error(
                "INVALID_FIELD",
                f"No such column '{name}' on entity '{obj.name}'. {_INVALID_FIELD_TAIL}",
                tok,
            )
        return f

    def predicate(self, node: Any) -> Callable[[Record], bool]:
        if isinstance(node, BoolOp):
            preds = [self.predicate(item) for item in node.items]
            if node.op == "AND":
                return lambda r: all(p(r) for p in preds)
            return lambda r: any(p(r) for p in preds)
        if isinstance(node, Not):
            inner = self.predicate(node.item)
            return lambda r: not inner(r)
        return self.comparison(node)

    def comparison(self, cmp: Cmp) -> Callable[[Record], bool]:
        col = self.column(cmp.path)
        f, get = col.field, col.getter
        if not f.filterable:
            raise self.error(
                "INVALID_FIELD", f"field '{f.name}' can not be filtered in query call", cmp.path
            )
        norm = _casefold if f.type in STRING_TYPES else _same
        values = [self.literal(f, tok, cmp.op) for tok in cmp.values]
        if cmp.op in ("IN", "NOT IN"):
            keys = {norm(v) for v in values if v is not None}
            has_null, negate = None in values, cmp.op == "NOT IN"

            def member(r: Record) -> bool:
                v = get(r)
                inside = has_null if v is None else norm(v) in keys
                return inside != negate

            return member
        value = values[0]
        if cmp.op == "LIKE":
            rx = _like_regex(value)
            return lambda r: (v := get(r)) is not None and rx.fullmatch(v) is not None
        return _compare(get, cmp.op, None if value is None else norm(value), norm)

    def literal(self, f: Field, tok: Token, op: str) -> Any:
        if tok.word == "NULL":
            if op not in ("=", "!=", "IN", "NOT IN"):
                raise self.error("INVALID_QUERY_FILTER_OPERATOR", "invalid operator for null", tok)
            return None
        if op == "LIKE" and (f.type not in STRING_TYPES or tok.kind != "string"):
            raise self.error(
                "INVALID_QUERY_FILTER_OPERATOR",
                f"invalid operator on {f.type} field: LIKE",
                tok,
            )
        if f.type == "boolean" and op not in ("=", "!="):
            raise self.error(
                "INVALID_QUERY_FILTER_OPERATOR", "invalid operator on boolean field", tok
            )
        value = _convert(f, tok)
        if value is _WRONG:
            kind, quoted = _TYPE_WORDS.get(f.type, ("string", True))
            raise self.error(
                "INVALID_QUERY_FILTER_OPERATOR",
                f"value of filter criterion for field '{f.name}' must be of type {kind} and "
                f"should {'' if quoted else 'not '}be enclosed in quotes",
                tok,
            )
        if value is _BAD_ID:
            raise self.error("INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {tok.text}", tok)
        return value

    def check_link_filter(self) -> None:
        where = self.p.where
        items = where.items if isinstance(where, BoolOp) and where.op == "AND" else [where]
        names = {"contentdocumentid", "linkedentityid", "id"}
        ok = any(
            isinstance(c, Cmp) and c.path.text.lower() in names and c.op in ("=", "IN")
            for c in items
        )
        if not ok:
            raise SoqlError(
                "MALFORMED_QUERY",
                "Implementation restriction: ContentDocumentLink requires a filter by a single "
                "Id on ContentDocumentId or LinkedEntityId using the equals operator or multiple "
                "Id's using the IN operator.",
            )


_TYPE_WORDS = {
    "datetime": ("dateTime", False),
    "date": ("date", False),
    "boolean": ("boolean", False),
    "double": ("double", False),
    "currency": ("double", False),
    "percent": ("double", False),
    "int": ("int", False),
}
_WRONG, _BAD_ID = object(), object()


def _convert(f: Field, tok: Token) -> Any:
    """A literal as the stored values of field `f` are kept, or _WRONG / _BAD_ID."""
    t = f.type
    if t in ID_TYPES:
        if tok.kind != "string":
            return _WRONG
        return normalize_id(unquote(tok.text)) or _BAD_ID
    if t in STRING_TYPES:
        return unquote(tok.text) if tok.kind == "string" else _WRONG
    if t == "boolean":
        return tok.word == "TRUE" if tok.word in ("TRUE", "FALSE") else _WRONG
    if t == "datetime":
        return datetime_literal(tok.text) if tok.kind == "datetime" else _WRONG
    if t == "date":
        if tok.kind != "date":
            return _WRONG
        try:
            return date.fromisoformat(tok.text).isoformat()
        except ValueError:
            raise SoqlError("MALFORMED_QUERY", f"invalid date: {tok.text}") from None
    if t in NUMBER_TYPES:
        if tok.kind != "number":
            return _WRONG
        return int(tok.text) if t == "int" and tok.text.lstrip("-").isdigit() else float(tok.text)
    return _WRONG


def _like_regex(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out += re.escape(pattern[i + 1])
            i += 2
            continue
        out += ".*" if ch == "%" else "." if ch == "_" else re.escape(ch)
        i += 1
    return re.compile(out, re.IGNORECASE | re.DOTALL)


def _plain_getter(name: str) -> Getter:
    return lambda r: r.get(name)


def _casefold(v: Any) -> Any:
    return v.casefold() if isinstance(v, str) else v


def _same(v: Any) -> Any:
    return v


def _compare(
    get: Getter, op: str, key: Any, norm: Callable[[Any], Any]
) -> Callable[[Record], bool]:
    if key is None:
        return (lambda r: get(r) is None) if op == "=" else (lambda r: get(r) is not None)
    if op == "=":
        return lambda r: (v := get(r)) is not None and norm(v) == key
    if op == "!=":
        return lambda r: (v := get(r)) is None or norm(v) != key
    if op == "<":
        return lambda r: (v := get(r)) is not None and norm(v) < key
    if op == "<=":
        return lambda r: (v := get(r)) is not None and norm(v) <= key
    if op == ">":
        return lambda r: (v := get(r)) is not None and norm(v) > key
    return lambda r: (v := get(r)) is not None and norm(v) >= key


def compile_query(query: str, schema: Schema, lookup: Lookup) -> Bound:
    """Parse and bind `query`; raises SoqlError as Salesforce would refuse it."""
    if not query or not query.strip():
        raise SoqlError("MALFORMED_QUERY", "unexpected token: <EOF>")
    return Binder(parse(query), schema, lookup).bind()
