"""Reading a CRM's answer where an adapter parses it: JSON of the shape that call returns, or one
UnexpectedAnswer naming the source, the endpoint and what was expected.

Never an AttributeError three calls later, nor a silently empty page: a full pass that took
`{"results": "nope"}` for "no records" would tombstone every record it had seen before.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from connector.core.errors import UnexpectedAnswer

_HTML = ("<!doctype html", "<html", "<head", "<body")


@dataclass(frozen=True)
class Answer:
    """One call's answer, as `source` (the CRM's name) answered `endpoint` ("GET /path")."""

    source: str
    endpoint: str

    def unexpected(self, expected: str, got: str) -> UnexpectedAnswer:
        return UnexpectedAnswer(self.source, self.endpoint, expected, got)

    def not_json(self, raw: bytes | str) -> UnexpectedAnswer:
        """The error for a body that is not JSON (an HTML page from a proxy or a sign-in wall)."""
        return self.unexpected("a JSON document", text_kind(raw))

    def json(self, raw: bytes | str) -> Any:
        """The JSON document of a body."""
        try:
            return json.loads(raw)
        except ValueError:
            raise self.not_json(raw) from None

    def object(self, body: Any, *keys: str) -> dict[str, Any]:
        """`body` as a JSON object that holds every one of `keys`."""
        wanted = "a JSON object" + (f" with {_and(keys)}" if keys else "")
        if not isinstance(body, dict):
            raise self.unexpected(wanted, json_kind(body))
        missing = [k for k in keys if k not in body]
        if missing:
            raise self.unexpected(wanted, f"{json_kind(body)} (no {_and(missing)})")
        return body

    def rows(self, body: dict[str, Any], key: str, *fields: str) -> list[dict[str, Any]]:
        """The list of JSON objects under `key` (a missing key or null is an empty list), each
        holding every one of `fields`."""
        found = body.get(key)
        if found is None:
            return []
        wanted = f"{key} as a list of JSON objects" + (f" with {_and(fields)}" if fields else "")
        if not isinstance(found, list):
            raise self.unexpected(wanted, f"{key} as {json_kind(found)}")
        for row in found:
            if not isinstance(row, dict) or any(f not in row for f in fields):
                raise self.unexpected(wanted, f"an item of {key} that is {json_kind(row)}")
        return found

    def part(self, body: dict[str, Any], key: str) -> dict[str, Any]:
        """The JSON object under `key` (a missing key or null is an empty one)."""
        found = body.get(key)
        if found is None:
            return {}
        if not isinstance(found, dict):
            raise self.unexpected(f"{key} as a JSON object", f"{key} as {json_kind(found)}")
        return found

    def text(self, body: dict[str, Any], key: str) -> str | None:
        """The string under `key` (None when missing or null)."""
        found = body.get(key)
        if found is None or isinstance(found, str):
            return found
        raise self.unexpected(f"{key} as a string", f"{key} as {json_kind(found)}")


def text_kind(raw: bytes | str) -> str:
    """What a body that is not JSON looks like, without quoting it (it may hold CRM data)."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    head = text.lstrip()[:100].lower()
    if not head:
        return "an empty body"
    if head.startswith(_HTML):
        return "an HTML page"
    return f"{len(text)} characters that are not JSON"


def json_kind(value: Any) -> str:
    """What a JSON value is, by its type and (for an object) its first keys."""
    if isinstance(value, dict):
        keys = list(value)[:5]
        return f"a JSON object with {_and(keys)}" if keys else "an empty JSON object"
    if isinstance(value, list):
        return f"a JSON list of {len(value)} items"
    if isinstance(value, bool):
        return "a JSON boolean"
    if isinstance(value, int | float):
        return "a JSON number"
    if isinstance(value, str):
        return "a JSON string"
    return "null"


def _and(names: Any) -> str:
    names = [str(n) for n in names]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
