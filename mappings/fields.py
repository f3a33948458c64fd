"""Reading a raw CRM record's fields by the paths a mapping names (`Email`, `emails[].address`,
`$id`), and the forms a read value takes as an id or a filter key.

`resolve` is the plain reading; `getter` compiles a path into a quicker function giving the same.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

from connector.core.records import RawRecord

Getter = Callable[[RawRecord], list[Any]]

_STEP = re.compile(r"\.?([A-Za-z_][\w-]*)|\[(\d*)\]")
SIMPLE = re.compile(r"[A-Za-z_][\w-]*")  # a plain field name


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


def resolve(raw: RawRecord, path: str) -> list[Any]:
    """Every value at `path` in the record (lists flattened), empty ones left out."""
    if path == "$id":
        return [raw.id]
    if path == "$container":
        return [raw.container] if raw.container else []
    return walk(raw.fields, steps(path))


def getter(path: str) -> Getter:
    """A function giving what `resolve(raw, path)` gives, quicker."""
    if path == "$id":
        return lambda raw: [raw.id]
    if path == "$container":
        return lambda raw: [raw.container] if raw.container else []
    path_steps = steps(path)
    if not SIMPLE.fullmatch(path):
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


def ref_id(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():  # HubSpot number properties
        return str(int(value))
    return str(value).strip()


def key(value: Any) -> str:
    return str(value).strip().casefold()
