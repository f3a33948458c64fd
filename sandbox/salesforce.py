"""The Salesforce stand-in: OAuth token endpoint, REST API v52-61 (query, sObjects, collections,
updated/deleted), Bulk API 2.0 query jobs and the Tooling API, on loopback for simple-salesforce.

Choices made where Salesforce leaves room, checked against its REST, Bulk 2.0 and Tooling docs:

- Sessions come from `POST /services/oauth2/token` (client credentials, JWT bearer or password
  grant; sf_oauth: the connected app's credentials are checked, and client credentials are
  refused on a generic login host) and expire `token_ttl_s` after issue (default 7200; stricter
  than Salesforce's sliding inactivity timeout). A missing, unknown or expired one answers 401
  INVALID_SESSION_ID. Client-credentials sessions run as an integration user ("Carnet
  Integration", not a world member), like a connected app's run-as user; JWT and password
  sessions run as the named user when one exists.
- Every call under /services/data counts against a rolling 24-hour allowance (`daily_limit`,
  default 100,000), shown in `Sforce-Limit-Info: api-usage=N/M`; once spent: 403
  REQUEST_LIMIT_EXCEEDED "TotalRequests Limit exceeded.". Salesforce sends the *same* status
  and errorCode for its concurrent long-request limit (message "ConcurrentPerOrgLongTxn Limit
  exceeded."): clients must read the message before deciding to stop for the day.
- Salesforce's REST API has no 429. The generic "429" fault is rendered as what Salesforce
  sends when it sheds load: 503 SERVER_UNAVAILABLE, with `Retry-After: 1`; "429-no-retry-after"
  is the same without the header. "503" is 503 SERVER_UNAVAILABLE, "500" is 500
  UNKNOWN_EXCEPTION with an ErrorId, "expire" invalidates the call's session and answers 401
  INVALID_SESSION_ID (simple-salesforce raises SalesforceExpiredSession), "partial" fails single
  records of a collection with UNABLE_TO_LOCK_ROW.
- Custom fields are created through the Tooling API (`tooling/sobjects/CustomField`), not the
  Metadata API, with no field-level security: hidden from every user until a permission set
  grants them (sf_access; PermissionSet, FieldPermissions and PermissionSetAssignment are plain
  sObjects here as there). `bulk_enabled=False` answers Bulk 2.0 job creation with 400
  FeatureNotEnabled, as an org without the async API does.
"""

from __future__ import annotations

import secrets
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from .core import Clock, HTTPError, Request, Response, StandIn
from .sf_access import FieldSecurity
from .sf_bulk import BulkJobs
from .sf_ids import make_id, normalize_id
from .sf_load import load_world
from .sf_oauth import ConnectedApp, OAuth
from .sf_rest import RestAPI, record_body
from .sf_schema import API_VERSIONS, RELEASES, Schema
from .sf_store import Store
from .sf_tooling import ToolingAPI
from .sf_validate import RecordError, coerce
from .sf_write import create_record, target, update_record
from .world import World

DATA = "/services/data/v{version}"
SessionHandler = Any  # Callable[[Request, "Session"], Response]


@dataclass
class Session:
    token: str
    user_id: str
    expires: datetime


class SalesforceStandIn(StandIn):
    name = "salesforce"

    def __init__(self, world: World, clock: Clock | None = None, **options: Any):
        super().__init__(clock)
        self.token_ttl = timedelta(seconds=float(options.pop("token_ttl_s", 7200)))
        self.daily_limit = int(options.pop("daily_limit", 100_000))
        self.bulk_enabled = bool(options.pop("bulk_enabled", True))
        self.bulk_delay_s = float(options.pop("bulk_delay_s", 0.5))
        app = _connected_app(options.pop("client_id", None), options.pop("client_secret", None))
        if options:
            raise TypeError(f"unknown Salesforce stand-in options: {sorted(options)}")
        self.world = world
        self.loaded_at = self.clock.now()
        self.org_id = make_id("00D", "org")
        self.sessions: dict[str, Session] = {}
        self.rest, self.bulk, self.tooling = RestAPI(self), BulkJobs(self), ToolingAPI(self)
        self.oauth, self.security = OAuth(self, app), FieldSecurity()
        self._load()
        self.oauth.register()
        self.add("GET", "/services/data", self.versions)
        self.api("GET", "", self.resources)
        self.api("GET", "/limits", self.limits)
        for part in (self.rest, self.bulk, self.tooling):
            part.register()

    def _load(self) -> None:
        self.schema = Schema()
        self.store = Store(self.schema, self.clock)
        self.api_user = load_world(self.store, self.world, self.loaded_at)
        self.usage: deque[datetime] = deque()
        self.rest.reset()
        self.bulk.reset()
        self.tooling.reset()
        self.oauth.reset()
        self.security.reset()

    def reset(self) -> None:
        with self.lock:
            self._load()

    # -- sessions, the allowance, routing with both ----------------------------------------------
    def api(self, method: str, template: str, fn: SessionHandler) -> None:
        """Register a /services/data/vXX.X route that needs a session and spends the allowance."""

        def handler(req: Request) -> Response:
            session = self.authenticate(req)
            if req.params.get("version") not in API_VERSIONS:
                raise HTTPError(404, "NOT_FOUND", "The requested resource does not exist")
            self.spend()
            resp: Response = fn(req, session)
            return resp

        self.add(method, DATA + template, handler)

    def authenticate(self, req: Request) -> Session:
        header = req.header("authorization") or ""
        scheme, _, token = header.partition(" ")
        session = self.sessions.get(token.strip()) if scheme in ("Bearer", "OAuth") else None
        if session is None or session.expires <= self.clock.now():
            if session is not None:
                del self.sessions[session.token]
            raise HTTPError(401, "INVALID_SESSION_ID", "Session expired or invalid")
        return session

    def schema_for(self, session: Session) -> Schema:
        """The org as the session's user sees it: field-level security applied."""
        return self.security.schema_for(self.schema, self.store, session.user_id)

    def add_login_host(self, url: str) -> None:
        """Serve `url` (a listener of this stand-in) as a generic login host, such as
        login.salesforce.com: there, client credentials are refused. `base_url`, where sessions
        send their calls, stays the My Domain one."""
        port = urlsplit(url).port
        with self.lock:
            self.oauth.login_hosts |= {f"127.0.0.1:{port}", f"localhost:{port}"}

    def register_certificate(self, pem: str) -> None:
        """A certificate (public key) of the connected app: JWT assertions signed for it pass."""
        with self.lock:
            self.oauth.certificates.append(pem)

    def register_password(self, username: str, password: str) -> None:
        """A user's password (with the security token appended) for the password grant."""
        with self.lock:
            self.oauth.passwords[username.lower()] = password

    def issue_session(self, user_id: str | None = None) -> Session:
        token = f"{self.org_id[:15]}!{secrets.token_urlsafe(72)}"
        session = Session(token, user_id or self.api_user, self.clock.now() + self.token_ttl)
        with self.lock:
            self.sessions[token] = session
        return session

    def api_used(self) -> int:
        horizon = self.clock.now() - timedelta(hours=24)
        while self.usage and self.usage[0] <= horizon:
            self.usage.popleft()
        return len(self.usage)

    def spend(self) -> None:
        if self.api_used() >= self.daily_limit:
            raise HTTPError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        self.usage.append(self.clock.now())

    # -- how Salesforce answers -----------------------------------------------------------------
    def render_error(self, err: HTTPError, req: Request) -> Response:
        if req.path.startswith("/services/oauth2"):
            body: Any = {"error": err.code.lower(), "error_description": err.message}
            return Response(err.status, body, err.headers)
        if err.code == "METHOD_NOT_ALLOWED":
            err.message = f"HTTP Method '{req.method}' not allowed."
        entry: dict[str, Any] = {"message": err.message, "errorCode": err.code}
        if "fields" in err.extra:
            entry["fields"] = err.extra["fields"]
        return Response(err.status, [entry], err.headers)

    def render_fault(self, kind: str, req: Request) -> Response:
        if kind == "expire":
            header = req.header("authorization") or ""
            self.sessions.pop(header.partition(" ")[2].strip(), None)
            return self.render_error(
                HTTPError(401, "INVALID_SESSION_ID", "Session expired or invalid"), req
            )
        if kind == "401":  # refused, the session kept: a new login meets the same answer
            return self.render_error(
                HTTPError(401, "INVALID_SESSION_ID", "Session expired or invalid"), req
            )
        if kind == "403":  # the integration user's profile lacks "API Enabled"
            message = "API is not enabled for this Organization or Partner"
            return self.render_error(HTTPError(403, "API_DISABLED_FOR_ORG", message), req)
        if kind == "500":
            error_id = secrets.randbelow(10**10)
            message = (
                "An unexpected error occurred. Please include this ErrorId if you contact "
                f"support: {error_id}-{secrets.randbelow(10**5)} ({-secrets.randbelow(10**9)})"
            )
            return self.render_error(HTTPError(500, "UNKNOWN_EXCEPTION", message), req)
        headers = {"Retry-After": "1"} if kind == "429" else {}
        message = "Server temporarily unavailable. Please try again later."
        return self.render_error(HTTPError(503, "SERVER_UNAVAILABLE", message, headers), req)

    def decorate(self, resp: Response, req: Request) -> Response:
        if req.path.startswith("/services/data/v"):
            with self.lock:
                used = self.api_used()
            resp.headers["Sforce-Limit-Info"] = f"api-usage={used}/{self.daily_limit}"
        return resp

    # -- the version catalogue and org resources --------------------------------------------------
    def versions(self, req: Request) -> Response:
        return Response(
            200,
            [
                {"label": RELEASES[int(float(v))], "url": f"/services/data/v{v}", "version": v}
                for v in API_VERSIONS
            ],
        )

    def resources(self, req: Request, session: Session) -> Response:
        base = f"/services/data/v{req.params['version']}"
        names = ["sobjects", "query", "queryAll", "limits", "tooling", "composite", "jobs/query"]
        return Response(200, {name.split("/")[0]: f"{base}/{name}" for name in names})

    def limits(self, req: Request, session: Session) -> Response:
        jobs_left = 10_000 - self.bulk.jobs_today()
        return Response(
            200,
            {
                "DailyApiRequests": {
                    "Max": self.daily_limit,
                    "Remaining": max(self.daily_limit - self.api_used(), 0),
                },
                "DailyBulkV2QueryJobs": {"Max": 10_000, "Remaining": jobs_left},
                "DailyBulkV2QueryFileStorageMB": {"Max": 976_562, "Remaining": 976_562},
                "DataStorageMB": {"Max": 1_024, "Remaining": 1_000},
            },
        )

    # -- admin hooks ----------------------------------------------------------------------------
    def _admin_object(self, obj: str) -> Any:
        sobj = self.schema.get(obj)
        if sobj is None:
            raise HTTPError(404, "NOT_FOUND", f"unknown object {obj}")
        return sobj

    def admin_records(self, obj: str) -> list[dict[str, Any]]:
        sobj = self._admin_object(obj)
        version = API_VERSIONS[-1]
        return [record_body(sobj, rec, version, raw=True) for rec in self.store.rows(sobj.name)]

    def admin_upsert(self, obj: str, body: dict[str, Any]) -> dict[str, Any]:
        sobj = self._admin_object(obj)
        body = dict(body)
        record_id = body.pop("id", None) or body.pop("Id", None)
        user = self._admin_user(sobj, body, record_id)
        try:
            values = coerce(sobj, body)
            if record_id:
                rec = update_record(
                    self.store, sobj, target(self.store, sobj, record_id), values, user
                )
            else:
                rec = create_record(self.store, sobj, values, user)
        except RecordError as err:
            raise HTTPError(400, err.code, err.message, extra={"fields": err.fields}) from None
        return record_body(sobj, rec, API_VERSIONS[-1], raw=True)

    def _admin_user(self, sobj: Any, body: dict[str, Any], record_id: str | None) -> str:
        """A CRM user's change is made as the user the body names (`LastModifiedById`, which the
        API itself never takes), else as the record's owner, else as the API user."""
        editor = body.pop("LastModifiedById", None)
        if editor:
            user = normalize_id(editor)
            if user is None:
                raise HTTPError(400, "MALFORMED_ID", f"LastModifiedById: invalid id {editor!r}")
            return user
        owner = body.get("OwnerId")
        if not owner and record_id:
            rec = self.store.lookup(sobj.name, normalize_id(record_id))
            owner = rec.get("OwnerId") if rec else None
        return str(normalize_id(owner) or self.api_user)

    def admin_delete(self, obj: str, record_id: str) -> None:
        sobj = self._admin_object(obj)
        try:
            rid = target(self.store, sobj, record_id)
        except RecordError as err:
            raise HTTPError(404, err.code, err.message) from None
        if sobj.name == "User":  # Salesforce never deletes users: they are deactivated
            self.store.update("User", rid, {"IsActive": False}, self.api_user)
            return
        self.store.delete(sobj.name, rid, self.api_user)

    def admin_merge(self, obj: str, winner: str, loser: str) -> dict[str, Any]:
        sobj = self._admin_object(obj)
        if not sobj.mergeable:
            raise HTTPError(400, "INVALID_OPERATION", f"{sobj.name} records cannot be merged")
        try:
            win, lose = target(self.store, sobj, winner), target(self.store, sobj, loser)
        except RecordError as err:
            raise HTTPError(400, err.code, err.message) from None
        if win == lose:
            raise HTTPError(400, "INVALID_OPERATION", "cannot merge a record with itself")
        rec = self.store.merge(sobj.name, win, lose, self.api_user)
        return {"id": win, "mergedRecordIds": [lose], "success": True, "record": rec}


def _connected_app(client_id: str | None, client_secret: str | None) -> ConnectedApp | None:
    """The connected app the `client_id` and `client_secret` options describe, if given."""
    if client_id is None and client_secret is None:
        return None
    if not client_id or not client_secret:
        raise TypeError("the Salesforce stand-in needs both client_id and client_secret")
    return ConnectedApp(client_id, client_secret)
