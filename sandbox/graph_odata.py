"""OData plumbing of the Graph stand-in: Graph's error body, `$select` / `$top` / `Prefer`
parsing, the `$filter` subset for users, paging links and opaque state tokens.

Kept apart from the records (graph_records.py, graph_store.py) and the routes (graph.py,
graph_reads.py) so each stays small.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from sandbox.core import HTTPError, Request, Response

USER_TYPE = "Microsoft.DirectoryServices.User"
CONTACT_TYPE = "Microsoft.OutlookServices.Contact"


def graph_error(
    status: int,
    code: str,
    message: str,
    req: Request,
    now: datetime,
    headers: dict[str, str] | None = None,
) -> Response:
    """Graph's error body: {"error": {"code", "message", "innerError": {date, request-id, ...}}}."""
    request_id = str(uuid.uuid4())
    client_request_id = req.header("client-request-id") or request_id
    body = {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": now.strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": client_request_id,
            },
        }
    }
    out = {"request-id": request_id, "client-request-id": client_request_id, **(headers or {})}
    return Response(status, body, out)


# -- $select --------------------------------------------------------------------------------------
def parse_select(req: Request, known: set[str], type_name: str, bad_code: str) -> list[str] | None:
    """The `$select` list (None when absent); an unknown property answers Graph's 400."""
    raw = req.arg("$select")
    if raw is None or not raw.strip():
        return None
    fields = [f.strip() for f in raw.split(",") if f.strip()]
    by_lower = {k.lower(): k for k in known}
    out = []
    for name in fields:
        if name.lower() not in by_lower:
            raise HTTPError(
                400, bad_code, f"Could not find a property named '{name}' on type '{type_name}'."
            )
        out.append(by_lower[name.lower()])
    return out


def project(record: dict[str, Any], select: list[str] | None, always: tuple[str, ...]) -> dict:
    """The record as Graph shows it under `$select` (`always` fields are kept regardless)."""
    if select is None:
        return dict(record)
    keep = set(select) | set(always)
    return {k: v for k, v in record.items() if k in keep}


# -- page sizes -----------------------------------------------------------------------------------
def parse_top(req: Request) -> int | None:
    raw = req.arg("$top")
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise HTTPError(400, "BadRequest", f"Invalid $top query option value '{raw}'.") from None
    return value


def prefer_maxpagesize(req: Request) -> int | None:
    """The `odata.maxpagesize=N` preference of the Prefer header, if any."""
    prefer = req.header("prefer") or ""
    m = re.search(r"odata\.maxpagesize\s*=\s*(\d+)", prefer, re.IGNORECASE)
    return int(m.group(1)) if m else None


def applied(resp: Response, size: int) -> Response:
    resp.headers["Preference-Applied"] = f"odata.maxpagesize={size}"
    return resp


# -- links and state tokens ---------------------------------------------------------------------
def link(base: str, path: str, params: dict[str, str | None]) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None}, safe="$,'")
    return f"{base}{path}?{query}" if query else f"{base}{path}"


def encode_state(state: dict[str, Any]) -> str:
    raw = json.dumps(state, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_state(token: str) -> dict[str, Any] | None:
    """The state a token carries, or None when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        state = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return state if isinstance(state, dict) else None


# -- $filter subset for users --------------------------------------------------------------------
_CLAUSE = re.compile(
    r"^\s*(?:(?P<prop>\w+)\s+eq\s+(?P<value>'(?:[^']|'')*'|true|false)"
    r"|startswith\(\s*(?P<sprop>\w+)\s*,\s*(?P<svalue>'(?:[^']|'')*')\s*\))\s*$",
    re.IGNORECASE,
)
FILTERABLE_USER_FIELDS = (
    "mail",
    "userPrincipalName",
    "displayName",
    "givenName",
    "surname",
    "accountEnabled",
    "department",
    "jobTitle",
    "country",
    "id",
)


def _literal(text: str) -> str | bool:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text[1:-1].replace("''", "'")


def _unsupported(clause: str) -> HTTPError:
    return HTTPError(
        400,
        "Request_UnsupportedQuery",
        f"Unsupported or invalid query filter clause specified: '{clause}'.",
    )


def user_filter(expr: str | None) -> Callable[[dict[str, Any]], bool]:
    """A predicate for `$filter` on users: `prop eq 'v'`, `prop eq true`, `startswith(prop,'v')`,
    joined with `and`. String comparisons ignore case, as the directory does. Anything else
    answers 400 Request_UnsupportedQuery."""
    if expr is None or not expr.strip():
        return lambda _record: True
    fields = {f.lower(): f for f in FILTERABLE_USER_FIELDS}
    tests: list[Callable[[dict[str, Any]], bool]] = []
    for clause in re.split(r"\s+and\s+", expr.strip(), flags=re.IGNORECASE):
        m = _CLAUSE.match(clause)
        prop = m and (m.group("prop") or m.group("sprop"))
        if not m or not prop or prop.lower() not in fields:
            raise _unsupported(clause)
        name = fields[prop.lower()]
        if m.group("prop"):
            tests.append(_eq_test(name, _literal(m.group("value"))))
        else:
            tests.append(_startswith_test(name, str(_literal(m.group("svalue")))))
    return lambda record: all(t(record) for t in tests)


def _eq_test(name: str, value: str | bool) -> Callable[[dict[str, Any]], bool]:
    if isinstance(value, bool):
        return lambda r: r.get(name) is value
    return lambda r: isinstance(r.get(name), str) and r[name].lower() == value.lower()


def _startswith_test(name: str, value: str) -> Callable[[dict[str, Any]], bool]:
    return lambda r: isinstance(r.get(name), str) and r[name].lower().startswith(value.lower())
