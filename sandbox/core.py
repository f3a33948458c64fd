"""What the three stand-ins share: routing, the admin endpoints, fault injection, call stats and
a clock (the loopback server is in server.py). Each stand-in is a `StandIn` with its own routes
and its own way of rendering an error; everything else is written here once.

A handler takes a `Request` and returns a `Response`; it raises `HTTPError` to answer with an
error the stand-in renders in its API's own shape.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

JSON = Any


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # named groups of the route pattern
    route: str = ""

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> JSON:
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise HTTPError(400, "MALFORMED_JSON", f"body is not JSON: {exc}") from None

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


@dataclass
class Response:
    status: int = 200
    body: JSON | bytes | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def encode(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body, separators=(",", ":"), default=str).encode()


class HTTPError(Exception):
    """An error answer; the stand-in's `render_error` gives it the API's own body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}
        self.extra = extra or {}


class Clock:
    """The stand-ins' notion of now. Tests may shift it to reach past the CRMs' windows."""

    def __init__(self) -> None:
        self.offset = timedelta(0)
        self._last = datetime.min.replace(tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def tick(self) -> datetime:
        """A strictly increasing timestamp (millisecond steps), for modstamps."""
        with self._lock:
            now = self.now().replace(microsecond=self.now().microsecond // 1000 * 1000)
            if now <= self._last:
                now = self._last + timedelta(milliseconds=1)
            self._last = now
            return now


FAULT_KINDS = (
    "429",
    "429-no-retry-after",
    "500",
    "503",
    "expire",
    "partial",
    "slow",
    "garbage",  # 200 with JSON of the wrong shape
    "html",  # 200 with an HTML page (a proxy's or a sign-in wall's), text/html
    "401",  # the credentials refused (each stand-in's own 401), without expiring them
    "403",  # the call not permitted (each stand-in's own 403: a missing permission or scope)
)
GARBAGE = {"results": "nope"}  # valid JSON, the shape of no answer of any of the three APIs
HTML_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>Sign in</title></head>"
    "<body><h1>Sign in to continue</h1><form method=post><input name=user></form></body></html>\n"
)


def odd_answer(kind: str) -> Response:
    """The answer of a "garbage" or "html" fault: 200, and a body no adapter can read."""
    if kind == "html":
        return Response(200, HTML_PAGE, content_type="text/html; charset=utf-8")
    return Response(200, dict(GARBAGE))


@dataclass
class Faults:
    """What `POST /__sandbox/faults` set: a share of calls that fail, and how.

    `rate` is the chance a call (admin and token endpoints excepted) meets a fault, chosen among
    `kinds`. `once` lists kinds to inject exactly once each, at the next eligible call, whatever the
    rate (e.g. one session expiry). `partial` is drawn separately by batch-write handlers, through
    `partial_failure()`, per record. `slow_ms` is the delay a "slow" fault adds. `after` eligible
    calls are served before any fault (a fault in the middle of a pull, not at its first call).
    """

    rate: float = 0.0
    kinds: list[str] = field(default_factory=list)
    once: list[str] = field(default_factory=list)
    seed: int = 0
    slow_ms: int = 1500
    after: int = 0
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def parse(cls, spec: JSON) -> Faults:
        if not isinstance(spec, dict):
            raise HTTPError(400, "INVALID_FAULTS", "faults must be a JSON object")
        unknown = [
            k for k in [*spec.get("kinds", []), *spec.get("once", [])] if k not in FAULT_KINDS
        ]
        if unknown:
            raise HTTPError(
                400, "INVALID_FAULTS", f"unknown fault kinds {unknown}; known: {FAULT_KINDS}"
            )
        rate = float(spec.get("rate", 0.0))
        if not 0.0 <= rate <= 1.0:
            raise HTTPError(400, "INVALID_FAULTS", "rate must be between 0 and 1")
        seed = int(spec.get("seed", 0))
        return cls(
            rate=rate,
            kinds=list(spec.get("kinds", [])),
            once=list(spec.get("once", [])),
            seed=seed,
            slow_ms=int(spec.get("slow_ms", 1500)),
            after=int(spec.get("after", 0)),
            rng=random.Random(seed),
        )

    def draw(self) -> str | None:
        """The fault this call meets, if any ("partial" is never drawn here)."""
        if self.after > 0:
            self.after -= 1
            return None
        call_kinds = [k for k in self.once if k != "partial"]
        if call_kinds:
            self.once.remove(call_kinds[0])
            return call_kinds[0]
        kinds = [k for k in self.kinds if k != "partial"]
        if kinds and self.rng.random() < self.rate:
            return self.rng.choice(kinds)
        return None

    def partial_failure(self) -> bool:
        """Whether one record of a batch write fails (for the "partial" kind)."""
        if "partial" in self.once:
            self.once.remove("partial")
            return True
        return "partial" in self.kinds and self.rng.random() < self.rate

    def describe(self) -> dict[str, Any]:
        shown = {"rate": self.rate, "kinds": self.kinds, "once": self.once, "seed": self.seed}
        return shown | ({"after": self.after} if self.after else {})


Handler = Callable[[Request], Response]


@dataclass
class Route:
    method: str
    template: str  # shown in stats, e.g. "GET /services/data/v{version}/query"
    regex: re.Pattern[str]
    handler: Handler
    faultable: bool


def compile_template(template: str) -> re.Pattern[str]:
    """'/users/{id}/contacts' -> a regex with named groups; '{rest:path}' matches slashes too."""
    out, pos = "", 0
    for m in re.finditer(r"\{(\w+)(?::path)?\}", template):
        out += re.escape(template[pos : m.start()])
        greedy = m.group(0).endswith(":path}")
        out += f"(?P<{m.group(1)}>{'.+' if greedy else '[^/]+'})"
        pos = m.end()
    out += re.escape(template[pos:])
    return re.compile(f"^{out}/?$")


class StandIn:
    """A CRM stand-in: its records, its routes, its faults and its call counts.

    Subclasses register routes with `self.add(method, template, handler)` and implement the admin
    hooks (`admin_records`, `admin_upsert`, `admin_delete`, `admin_merge`, `reset`) plus
    `render_error` (the API's error body) and `render_fault` (what a drawn fault looks like there).
    """

    name = "standin"

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self.lock = threading.RLock()  # one request mutates the records at a time
        self.routes: list[Route] = []
        self.calls: Counter[str] = Counter()
        self.faults = Faults()
        self.base_url = ""  # set by serve()
        self._add_admin_routes()

    # -- routing -------------------------------------------------------------------------------
    def add(self, method: str, template: str, handler: Handler, faultable: bool = True) -> None:
        self.routes.append(Route(method, template, compile_template(template), handler, faultable))

    def dispatch(self, req: Request) -> Response:
        allowed = []
        for route in self.routes:
            m = route.regex.match(req.path)
            if not m:
                continue
            if route.method != req.method:
                allowed.append(route.method)
                continue
            req.params, req.route = m.groupdict(), route.template
            is_admin = route.template.startswith("/__sandbox/")
            if not is_admin:
                with self.lock:
                    self.calls[f"{route.method} {route.template}"] += 1
            try:
                if route.faultable and not is_admin:
                    kind = self.faults.draw()
                    if kind == "slow":
                        time.sleep(self.faults.slow_ms / 1000)
                    elif kind in ("garbage", "html"):
                        return odd_answer(kind)
                    elif kind is not None:
                        return self.render_fault(kind, req)
                with self.lock:
                    return route.handler(req)
            except HTTPError as err:
                return self.render_error(err, req)
        if allowed:
            return self.render_error(
                HTTPError(405, "METHOD_NOT_ALLOWED", f"{req.method} not allowed"), req
            )
        return self.render_error(
            HTTPError(404, "NOT_FOUND", f"The requested resource does not exist: {req.path}"), req
        )

    # -- what each API renders its own way ---------------------------------------------------
    def render_error(self, err: HTTPError, req: Request) -> Response:
        return Response(
            err.status, {"error": err.code, "message": err.message, **err.extra}, err.headers
        )

    def render_fault(self, kind: str, req: Request) -> Response:
        raise NotImplementedError

    def decorate(self, resp: Response, req: Request) -> Response:
        """Headers every answer carries (Sforce-Limit-Info, X-HubSpot-RateLimit-*)."""
        return resp

    # -- admin hooks -----------------------------------------------------------------------------
    def admin_records(self, obj: str) -> list[dict[str, Any]]:
        raise NotImplementedError

    def admin_upsert(self, obj: str, body: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def admin_delete(self, obj: str, record_id: str) -> None:
        raise NotImplementedError

    def admin_merge(self, obj: str, winner: str, loser: str) -> dict[str, Any]:
        raise NotImplementedError

    def reset(self) -> None:
        raise NotImplementedError

    def _add_admin_routes(self) -> None:
        def stats(req: Request) -> Response:
            return Response(200, {"calls": dict(self.calls), "total": sum(self.calls.values())})

        def records(req: Request) -> Response:
            if req.method == "GET":
                return Response(200, self.admin_records(req.params["object"]))
            body = req.json()
            if not isinstance(body, dict):
                raise HTTPError(400, "INVALID_BODY", "body must be a JSON object")
            return Response(200, self.admin_upsert(req.params["object"], body))

        def delete(req: Request) -> Response:
            self.admin_delete(req.params["object"], req.params["id"])
            return Response(204)

        def merge(req: Request) -> Response:
            body = req.json() or {}
            if not body.get("winner") or not body.get("loser"):
                raise HTTPError(400, "INVALID_BODY", 'body must be {"winner": id, "loser": id}')
            return Response(
                200, self.admin_merge(req.params["object"], body["winner"], body["loser"])
            )

        def faults(req: Request) -> Response:
            if req.method == "GET":
                return Response(200, self.faults.describe())
            self.faults = Faults.parse(req.json() or {})
            return Response(200, self.faults.describe())

        def reset(req: Request) -> Response:
            self.reset()
            self.calls.clear()
            self.faults = Faults()
            return Response(204)

        for method, template, handler in [
            ("GET", "/__sandbox/stats", stats),
            ("GET", "/__sandbox/records/{object}", records),
            ("POST", "/__sandbox/records/{object}", records),
            ("DELETE", "/__sandbox/records/{object}/{id}", delete),
            ("POST", "/__sandbox/merge/{object}", merge),
            ("GET", "/__sandbox/faults", faults),
            ("POST", "/__sandbox/faults", faults),
            ("POST", "/__sandbox/reset", reset),
        ]:
            self.add(method, template, handler, faultable=False)


def iso(dt: datetime) -> str:
    """Salesforce-style datetime: 2024-01-31T12:00:00.000+0000."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"


def chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
