"""A loopback stand-in of HubSpot's CRM API (v3 objects, owners, properties, pipelines, v4
associations, v3 lists, OAuth token refresh) that hubspot-api-client 12.x runs against unchanged
through `HubSpot(access_token=..., host=<url>)`.

Private-app tokens: those in the `tokens` option (the sandbox runner gives the one it writes into
the generated config); without it, any non-empty Bearer token. Any other token answers 401
INVALID_AUTHENTICATION. Tokens issued by POST /oauth/v1/token expire after `token_ttl_s`. Every
authenticated answer carries the X-HubSpot-RateLimit-* headers (the daily ones only for
private-app tokens, as HubSpot leaves them out on OAuth calls); calls over the rolling 10-second
window, the daily allowance or the search limit get HubSpot's 429.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote

from .core import Clock, HTTPError, Request, Response, StandIn
from .hubspot_limits import RateLimiter, rate_limit_body
from .hubspot_lists import ListsApi
from .hubspot_load import WorldLoader, owners_from
from .hubspot_meta import MetaApi, owner_view
from .hubspot_objects import ObjectsApi
from .hubspot_props import Properties, hs_time
from .hubspot_schema import ASSOC_TYPES, OBJECT_TYPES
from .hubspot_store import Store
from .hubspot_v4 import AssociationsApi
from .world import HUBSPOT, World

DEFAULTS: dict[str, Any] = {
    "per_10s": 100,  # calls per token in any rolling 10 s (free / starter apps)
    "daily_limit": 250_000,  # calls per portal per day
    "search_per_second": 5,  # search calls per token per second
    "search_lag_s": 0.0,  # how long a write takes to reach the search index
    "token_ttl_s": 1800,  # lifetime of OAuth access tokens issued by /oauth/v1/token
    "portal_id": 24_681_357,
    "app_id": 3_141_592,
    "tokens": None,  # the private-app tokens accepted (None: any non-empty one)
}
UPDATED_BY = "hs_updated_by_user_id"  # the user behind a change made in HubSpot's UI
AUTH_MISSING = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
Handler = Callable[[Request], Response]


class HubSpotStandIn(StandIn):
    name = "hubspot"

    def __init__(self, world: World, clock: Clock | None = None, **options: Any):
        super().__init__(clock)
        unknown = set(options) - set(DEFAULTS)
        if unknown:
            raise TypeError(f"unknown HubSpot stand-in options: {sorted(unknown)}")
        self.options = {**DEFAULTS, **options}
        self.world = world.in_crm(HUBSPOT)
        self.started = self.clock.now()
        self.limiter = RateLimiter(
            self.clock,
            self.options["per_10s"],
            self.options["daily_limit"],
            self.options["search_per_second"],
            self.options["portal_id"],
            self.options["app_id"],
        )
        self.issued: dict[str, datetime] = {}  # OAuth access token -> expiry
        self.expired: dict[str, datetime] = {}  # token -> when it was invalidated
        self.props = self._fresh_props()
        self.store = Store(self.clock, self.props)
        self.lists = ListsApi(self.store, lambda: self.base_url)
        self._load()
        for api in (
            ObjectsApi(
                self.store,
                lambda: self.faults.partial_failure(),
                lambda: self.base_url,
                float(self.options["search_lag_s"]),
            ),
            MetaApi(lambda: self.owners, lambda: self.props, lambda: self.base_url),
            AssociationsApi(self.store),
            self.lists,
        ):
            for method, template, handler in api.routes():
                self.add(method, template, self._guard(handler, template))
        self.add("POST", "/oauth/v1/token", self.oauth_token, faultable=False)

    def _fresh_props(self) -> Properties:
        """Owners from the world's members, and a fresh property registry that knows them."""
        self.owners = owners_from(self.world, self.started)
        owner_ids = {o["id"] for o in self.owners}
        return Properties(self.clock, self.options["portal_id"], owner_ids.__contains__)

    def _load(self) -> None:
        self.props = self._fresh_props()
        self.store.clear(self.props)
        self.lists.clear()
        self.ids = WorldLoader(self.store, self.world, self.started, self.owners).load()
        self.ids.update({("owners", o["_member"]): o["id"] for o in self.owners})

    def reset(self) -> None:
        """The world as loaded (same ids, same timestamps); everything since is forgotten."""
        with self.lock:
            self._load()
            self.limiter.reset()
            self.issued.clear()
            self.expired.clear()

    # -- auth and limits -----------------------------------------------------------------------
    def _guard(self, handler: Handler, template: str) -> Handler:
        search = template.endswith("/search")

        def guarded(req: Request) -> Response:
            req.params = {k: unquote(v) for k, v in req.params.items()}
            token = self._authenticate(req)
            refused = self.limiter.admit(token, search)
            return refused if refused is not None else handler(req)

        return guarded

    def _bearer(self, req: Request) -> str | None:
        scheme, _, token = (req.header("authorization") or "").partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None

    def _authenticate(self, req: Request) -> str:
        token = self._bearer(req)
        if token is None:
            raise HTTPError(401, "INVALID_AUTHENTICATION", AUTH_MISSING)
        now = self.clock.now()
        ended = self.expired.get(token) or self.issued.get(token)
        if ended is not None and (token in self.expired or ended <= now):
            raise self._expired_error(ended)
        accepted = self.options["tokens"]
        if ended is None and accepted is not None and token not in accepted:
            raise HTTPError(401, "INVALID_AUTHENTICATION", AUTH_MISSING)
        return token

    def _expired_error(self, ended: datetime) -> HTTPError:
        ago = max(0, int((self.clock.now() - ended).total_seconds()))
        return HTTPError(
            401,
            "EXPIRED_AUTHENTICATION",
            f"The OAuth token used to make this call expired {ago} second(s) ago.",
            extra={"context": {"expire time": [hs_time(ended)]}},
        )

    def oauth_token(self, req: Request) -> Response:
        """POST /oauth/v1/token (form-encoded): authorization_code and refresh_token grants."""
        form = {k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace")).items()}
        problem = _oauth_problem(form)
        if problem is not None:
            body = {"status": problem[0], "message": problem[1], "correlationId": str(uuid.uuid4())}
            return Response(400, body)
        ttl = int(self.options["token_ttl_s"])
        access = f"sandbox-at-{uuid.uuid4().hex}"
        self.issued[access] = self.clock.now() + timedelta(seconds=ttl)
        refresh = form.get("refresh_token") or f"sandbox-rt-{uuid.uuid4().hex}"
        return Response(200, {"token_type": "bearer", "refresh_token": refresh,
                              "access_token": access, "expires_in": ttl})  # fmt: skip

    # -- how HubSpot answers -------------------------------------------------------------------
    def render_error(self, err: HTTPError, req: Request) -> Response:
        body = {
            "status": "error",
            "message": err.message,
            "correlationId": str(uuid.uuid4()),
            "category": err.code,
            **err.extra,
        }
        return Response(err.status, body, err.headers)

    def render_fault(self, kind: str, req: Request) -> Response:
        portal, app = self.options["portal_id"], self.options["app_id"]
        if kind in ("429", "429-no-retry-after"):
            headers = {"Retry-After": "1"} if kind == "429" else {}
            return Response(429, rate_limit_body("TEN_SECONDLY_ROLLING", portal, app), headers)
        if kind == "expire":
            token = self._bearer(req)
            now = self.clock.now()
            if token is not None and token in self.issued:
                self.expired[token] = now  # an OAuth token stays expired: refresh it
            return self.render_error(self._expired_error(now), req)
        if kind == "401":
            return self.render_error(HTTPError(401, "INVALID_AUTHENTICATION", AUTH_MISSING), req)
        if kind == "403":
            return self.render_error(missing_scopes(req.path), req)
        message, category = {
            "500": ("internal error", "INTERNAL_ERROR"),
            "503": ("Service Unavailable", "SERVICE_UNAVAILABLE"),
        }[kind]
        return self.render_error(HTTPError(int(kind), category, message), req)

    def decorate(self, resp: Response, req: Request) -> Response:
        token = self._bearer(req)
        if token is not None and req.route and not req.route.startswith(("/__sandbox/", "/oauth")):
            oauth = token in self.issued or token in self.expired
            for name, value in self.limiter.headers(token, daily=not oauth).items():
                resp.headers.setdefault(name, value)
        return resp

    # -- admin hooks ---------------------------------------------------------------------------
    def _type(self, obj: str) -> str:
        if obj not in OBJECT_TYPES and obj != "owners":
            raise HTTPError(
                404, "OBJECT_NOT_FOUND", f"Unknown object {obj}; known: {[*OBJECT_TYPES, 'owners']}"
            )
        return obj

    def _full(self, type_name: str, rec: Any) -> dict[str, Any]:
        linked = sorted({a.to_type for a in ASSOC_TYPES.values() if a.from_type == type_name})
        return self.store.render(rec, sorted(rec.props), associations=linked)

    def admin_records(self, obj: str) -> list[dict[str, Any]]:
        with self.lock:
            if obj == "lists":  # the Lists v3 lists, each with its members' ids
                return self.lists.admin_view()
            if self._type(obj) == "owners":
                return [owner_view(o) for o in self.owners if not o["archived"]]
            return [self._full(obj, r) for r in self.store.live(obj)]

    def admin_upsert(self, obj: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if self._type(obj) == "owners":
                return self._upsert_owner(body)
            values = body.get("properties")
            if not isinstance(values, dict):
                values = {k: v for k, v in body.items() if k not in ("id", "associations")}
            values = dict(values)
            editor = values.pop(UPDATED_BY, None)
            if body.get("id"):
                rec = self.store.get(obj, str(body["id"]))
                self.store.update(rec, values, source="CRM_UI")
            else:
                rec = self.store.create(obj, values)
            user = str(editor or self._user_of(rec.props.get("hubspot_owner_id")))
            if user:
                rec.props[UPDATED_BY] = user
                self.store.version += 1
            return self._full(obj, rec)

    def _user_of(self, owner_id: Any) -> str:
        """A change in HubSpot's UI is made by a user: as in Salesforce's stand-in, the record's
        owner (or, without one, the first owner) unless the admin call names another."""
        owners = [o for o in self.owners if str(o["id"]) == str(owner_id)] or self.owners[:1]
        return str(owners[0]["userId"]) if owners else ""

    def _upsert_owner(self, body: dict[str, Any]) -> dict[str, Any]:
        fields: dict[str, Any] = {
            k: body[k] for k in ("email", "firstName", "lastName", "archived") if k in body
        }
        now = hs_time(self.clock.now())
        for owner in self.owners:
            if owner["id"] == str(body.get("id")):
                owner.update(fields, updatedAt=now)
                return owner_view(owner)
        if body.get("id"):
            raise HTTPError(404, "OBJECT_NOT_FOUND", f"Owner {body['id']} not found")
        next_id = max((int(o["id"]) for o in self.owners), default=70_000_000) + 1
        user_id = max((o["userId"] for o in self.owners), default=9_000_000) + 1
        owner = {
            "id": str(next_id),
            "email": "",
            "type": "PERSON",
            "firstName": "",
            "lastName": "",
            "userId": user_id,
            "userIdIncludingInactive": user_id,
            "createdAt": now,
            "updatedAt": now,
            "archived": False,
            "teams": [],
            "_member": f"admin-{next_id}",
            **fields,
        }
        self.owners.append(owner)
        return owner_view(owner)

    def admin_delete(self, obj: str, record_id: str) -> None:
        with self.lock:
            if self._type(obj) == "owners":
                self._upsert_owner({"id": record_id, "archived": True})
                return
            self.store.archive(self.store.get(obj, record_id))

    def admin_merge(self, obj: str, winner: str, loser: str) -> dict[str, Any]:
        with self.lock:
            return self._full(obj, self.store.merge(self._type(obj), winner, loser))


def _oauth_problem(form: dict[str, str]) -> tuple[str, str] | None:
    """What HubSpot's token endpoint objects to in a request, if anything (any non-empty
    client id, secret, code or refresh token is accepted)."""
    grant = form.get("grant_type", "")
    if grant not in ("authorization_code", "refresh_token"):
        return "BAD_GRANT_TYPE", f"grant_type must be authorization_code or refresh_token: {grant}"
    if not form.get("client_id") or not form.get("client_secret"):
        return "BAD_CLIENT_ID", "missing or unknown client id or client secret"
    if grant == "refresh_token" and not form.get("refresh_token"):
        return "BAD_REFRESH_TOKEN", "missing or unknown refresh token"
    if grant == "authorization_code" and not form.get("code"):
        return "BAD_AUTH_CODE", "missing or unknown auth code"
    return None


def missing_scopes(path: str) -> HTTPError:
    """HubSpot's 403 for an app that was not granted the scope a call needs."""
    parts = path.strip("/").split("/")
    obj = parts[3] if len(parts) > 3 and parts[:3] == ["crm", "v3", "objects"] else "contacts"
    scope = "crm.lists.read" if parts[:3] == ["crm", "v3", "lists"] else f"crm.objects.{obj}.read"
    return HTTPError(
        403,
        "MISSING_SCOPES",
        "This app hasn't been granted all required scopes to make this call. Read more about "
        "required scopes here: https://developers.hubspot.com/scopes.",
        extra={
            "errors": [
                {
                    "message": "One or more of the following scopes are required.",
                    "context": {"requiredGranularScopes": [scope]},
                }
            ],
            "links": {"scopes": "https://developers.hubspot.com/scopes"},
        },
    )
