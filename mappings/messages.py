"""A mapping file's schema errors in the admin's words, such as `salesforce.yaml:43:
objects.Contact.values.name.from: expected a field name or a list of field names`, never
pydantic's internals (`from.list[function-after[_path(), str]]`, `Input should be a valid
dictionary or instance of RefRule`).

pydantic reports a value that fits none of a union's types once per type, each under a tag of the
type's own (`str`, `list[...]`); here the tags go, and a union's errors become one message: the
error of the type the value was meant as (a list whose item is wrong, a path that is not a
path), else what the key expects.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from connector.core.errors import Problem
from connector.core.yamlfile import dotted, line_of
from mappings.kinds import KINDS
from mappings.transforms import TRANSFORMS

# the tags pydantic gives a union's types, and the wrappers of validators, in an error's location
_TAG = re.compile(
    r"^(str|int|float|bool|none|bytes|decimal|date|datetime|any"
    r"|(list|dict|set|tuple|union|literal|nullable|chain|model|is-instance|json-or-python"
    r"|lax-or-strict|tagged-union|function-[a-z-]+|constrained-[a-z]+)\[.*\]|[A-Z]\w*)$"
)
# what a key expects, by its place in the file (names the admin chose are `*`)
HINTS = {
    "version": "the number 1 (every mapping file starts with version: 1)",
    "source": "one of salesforce, hubspot, exchange",
    "cursor": "a field name",
    "objects": "a table of CRM objects, such as Contact: {kind: person, values: ...}",
    "objects.*": "a table with kind:, and values:, refs: or filter:",
    "objects.*.kind": f"one of {', '.join(KINDS)}",
    "objects.*.values.*.transform": f"one of {', '.join(TRANSFORMS)}",
    "objects.*.values": "a table of overlay values, such as email: Email",
    "objects.*.values.*": "a field name, or a table such as {from: Email}",
    "objects.*.values.*.from": "a field name or a list of field names",
    "objects.*.values.*.first": "a list of field names",
    "objects.*.values.*.const": "one value: text, a number, or true or false",
    "objects.*.values.*.default": "one value: text, a number, or true or false",
    "objects.*.values.*.choices": "a list of words, or a table of word: value",
    "objects.*.refs": "a table of references, such as org: {from: AccountId, to: Account}",
    "objects.*.refs.*": "a table such as {from: AccountId, to: Account}",
    "objects.*.refs.*.from": "a field name",
    "objects.*.filter": "a table of field: value",
    "objects.*.filter.*": "a value (text, a number, true or false) or a list of values",
    "levels": "a list of rules such as {level: vp, match: [vice president]}",
    "levels[*].match": "a pattern or a list of patterns",
    "outbound.objects": "a table of CRM objects, each a table of the fields Carnet writes",
    "outbound.objects.*": "a table of the fields Carnet writes, such as X__c: {value: ...}",
    "outbound.objects.*.*": "a table such as {value: rating, type: Number, label: Rating}",
}
_EXPECTS = {  # what a type error means the value should have been
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a table of key: value",
    "model_type": "a table of key: value",
    "model_attributes_type": "a table of key: value",
}
_NAMED_BY_ADMIN = {"objects", "values", "refs", "filter"}  # the keys under these are names


def admin_problems(file: str, doc: Any, err: ValidationError) -> list[Problem]:
    """One problem per wrong place in the file, in plain words, with its line."""
    groups: dict[tuple[Any, ...], list[tuple[tuple[Any, ...], dict[str, Any]]]] = {}
    alone: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    for error in err.errors():
        e: dict[str, Any] = dict(error)
        loc, cut = _in_file(doc, e["loc"])
        if cut is None:
            alone.append((loc, e))
        else:
            groups.setdefault(loc[:cut], []).append((loc, e))
    found = [_problem(file, doc, loc, e) for loc, e in alone]
    for site, errors in groups.items():
        meant = [(loc, e) for loc, e in errors if len(loc) > len(site) or _said(e)]
        if meant:  # the value was meant as one of the types: that type's errors
            found += [_problem(file, doc, loc, e) for loc, e in meant]
        else:
            found.append(_expected(file, doc, site, [e["type"] for _, e in errors]))
    return list(dict.fromkeys(found))


def _in_file(doc: Any, loc: tuple[Any, ...]) -> tuple[tuple[Any, ...], int | None]:
    """The error's place in the file's own keys, and where a union's tag was left out (None:
    no union on the way). A tag is only taken as one where the file has no such key."""
    node = doc
    out: list[Any] = []
    site: int | None = None
    for part in loc:
        if _has(node, part):
            node = node[part]
        elif isinstance(part, str) and _TAG.match(part):
            site = len(out) if site is None else site
            continue
        else:
            node = None  # a missing key, or one a shorthand made (`email: Email` is {from: ...})
        out.append(part)
    return tuple(out), site


def _has(node: Any, part: Any) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _said(e: dict[str, Any]) -> bool:
    """An error with a message of Carnet's own (a validator's), not a type mismatch."""
    return e["type"] in ("value_error", "assertion_error")


def _problem(file: str, doc: Any, loc: tuple[Any, ...], e: dict[str, Any]) -> Problem:
    kind, ctx = e["type"], e.get("ctx") or {}
    if kind == "missing":  # on the line of the part it is missing from
        hint = " (every mapping file starts with version: 1)" if loc == ("version",) else ""
        return Problem(file, dotted(loc), f"missing{hint}", line_of(doc, loc[:-1]) or 1)
    if kind in _EXPECTS:
        return _expected(file, doc, loc, [kind])
    return Problem(file, dotted(loc), _message(kind, ctx, e["msg"]), line_of(doc, loc) or 1)


def _message(kind: str, ctx: dict[str, Any], msg: str) -> str:
    if kind == "extra_forbidden":
        return "unknown key"
    if kind in ("value_error", "assertion_error"):
        return re.sub(r"^(Value|Assertion) error, ", "", msg)
    bounds = {
        "greater_than": "must be more than {gt}",
        "greater_than_equal": "must be at least {ge}",
        "less_than": "must be less than {lt}",
        "less_than_equal": "must be at most {le}",
        "string_too_long": "must be at most {max_length} characters long",
        "too_long": "must have at most {max_length} items",
        "literal_error": "expected {expected}",
    }
    if kind in bounds:
        return bounds[kind].format(**ctx)
    if kind in ("string_too_short", "too_short"):
        return "must not be empty" if ctx.get("min_length") == 1 else msg
    return msg.replace("Input should be", "expected")


def _expected(file: str, doc: Any, loc: tuple[Any, ...], kinds: list[str]) -> Problem:
    """What the key expects: its hint, else the types the value could have had."""
    said = list(dict.fromkeys(_EXPECTS.get(k, "another kind of value") for k in kinds))
    if "a number" in said and "a whole number" in said:
        said.remove("a whole number")
    expects = HINTS.get(_generic(loc)) or (
        " or ".join(said) if len(said) < 3 else ", ".join(said[:-1]) + " or " + said[-1]
    )
    return Problem(file, dotted(loc), f"expected {expects}", line_of(doc, loc) or 1)


def _generic(loc: tuple[Any, ...]) -> str:
    """`objects.Contact.values.name.from` -> `objects.*.values.*.from`, `levels[0]` -> `levels[*]`:
    the names an admin chose (objects, values, refs, filter fields, outbound fields) as `*`."""
    out: list[str] = []
    for part in loc:
        if isinstance(part, int):
            out.append("[*]")
        elif (out and out[-1] in _NAMED_BY_ADMIN) or out == ["outbound", "objects", "*"]:
            out.append("*")
        else:
            out.append(str(part))
    return ".".join(out).replace(".[*]", "[*]")
