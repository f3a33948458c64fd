"""Every HubSpot API call the adapter makes, through hubspot-api-client unchanged: the one retry
policy, the client-side rate limiters, the daily budget and the client's errors as Carnet's.

Calls use the client's `*_with_http_info(..., _preload_content=False)` form: the raw urllib3
response carries the X-HubSpot-RateLimit-* headers, and its JSON is read as plain dicts.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterable
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import urllib3
from hubspot import HubSpot
from hubspot.crm.associations.v4 import (
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicFetchAssociationsBatchRequest,
)
from hubspot.crm.objects import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInput,
    SimplePublicObjectBatchInputForCreate,
)
from urllib3.util.retry import Retry

from connector.core.answers import Answer
from connector.core.errors import (
    AuthError,
    BudgetExhausted,
    CarnetError,
    FatalError,
    RateLimited,
    RetriableError,
)
from connector.core.http import WindowLimiter, budget_spent, parse_retry_after, retrying
from connector.core.records import ApiUsage

LIST_LIMIT, SEARCH_LIMIT, OWNERS_LIMIT, BATCH_LIMIT = 100, 200, 500, 100  # HubSpot's maxima
SEARCH_PER_SECOND = 4  # HubSpot limits search separately; plan for 4 requests a second
WINDOW_SHARE = 0.9  # of `requests_per_10s`: leave room for other apps sharing the window
TIMEOUT = (10.0, 120.0)  # connect, read (seconds) for every call
_PACKAGES = ("objects", "owners", "pipelines", "properties", "associations.v4", "lists")
API_ERRORS: tuple[type[Exception], ...] = tuple(
    importlib.import_module(f"hubspot.crm.{pkg}.exceptions").ApiException for pkg in _PACKAGES
)
_VERBS = {  # the calls not made with POST (search, batch and v4 reads, creations)
    ("basic", "get_page"): "GET",
    ("owners", "get_page"): "GET",
    ("pipelines", "get_all"): "GET",
    ("properties", "get_all"): "GET",
    ("groups", "get_all"): "GET",
    ("lists", "get_by_id"): "GET",
    ("lists", "get_by_name"): "GET",
    ("lists", "update_name"): "PUT",
    ("lists", "remove"): "DELETE",
    ("memberships", "get_page"): "GET",
    ("memberships", "add"): "PUT",
    ("memberships", "remove"): "PUT",
}
# name -> how to reach that API object on a client (each access builds a new ApiClient: cache it)
_APIS: dict[str, Callable[[HubSpot], Any]] = {
    "basic": lambda c: c.crm.objects.basic_api,
    "batch": lambda c: c.crm.objects.batch_api,
    "search": lambda c: c.crm.objects.search_api,
    "owners": lambda c: c.crm.owners.owners_api,
    "pipelines": lambda c: c.crm.pipelines.pipelines_api,
    "properties": lambda c: c.crm.properties.core_api,
    "groups": lambda c: c.crm.properties.groups_api,
    "associations": lambda c: c.crm.associations.v4.batch_api,
    "lists": lambda c: c.crm.lists.lists_api,
    "memberships": lambda c: c.crm.lists.memberships_api,
}


class HubSpotRefused(FatalError):
    """HubSpot answered a call with an error that retrying will not mend (400, 403, 404, 409)."""

    def __init__(self, status: int, body: dict[str, Any]):
        self.status, self.body = status, body
        self.category = str(body.get("category") or body.get("errorType") or "")
        self.detail = str(body.get("message") or "")
        super().__init__(f"HubSpot refused the call ({status} {self.category}): {self.detail}")


class HubSpotApi:
    """One client for one source: counts calls, paces them, stops at the budget share."""

    def __init__(self, settings: Any, secret: Callable[[str], str], sleep: Callable[[float], None]):
        self.settings, self._secret, self._sleep = settings, secret, sleep
        per_window = max(1, int(settings.requests_per_10s * WINDOW_SHARE))
        self.window = WindowLimiter(per_window, 10.0)
        self.search_window = WindowLimiter(SEARCH_PER_SECOND, 1.0)
        self.usage = ApiUsage()
        self._apis: dict[str, Any] = {}
        self._client = self._build()
        self._reread_token = False  # a 401 was answered by reading the token again
        self.server_ms: int | None = None  # the Date of the last answer (epoch ms): HubSpot's now

    def _build(self) -> HubSpot:
        options: dict[str, Any] = {
            "access_token": self._secret("token"),
            "host": str(self.settings.base_url).rstrip("/"),
            # `retrying` is the one policy: urllib3 must neither retry nor turn a 429 into its own
            # MaxRetryError (its default retries GETs that carry Retry-After by itself)
            "retry": Retry(
                total=0, redirect=False, respect_retry_after_header=False, raise_on_status=False
            ),
        }
        if self.settings.ca_file:
            options["ssl_ca_cert"] = str(self.settings.ca_file)
        return HubSpot(**options)

    def api(self, name: str) -> Any:
        if name not in self._apis:
            self._apis[name] = _APIS[name](self._client)
        return self._apis[name]

    def close(self) -> None:
        for api in self._apis.values():
            api.api_client.rest_client.pool_manager.clear()
            api.api_client.close()
        self._apis.clear()

    # -- the one way a call is made ----------------------------------------------------------

    def call(
        self,
        api: str,
        method: str,
        *args: Any,
        search: bool = False,
        rows: str | None = "results",
        row_keys: tuple[str, ...] = (),
        **kw: Any,
    ) -> Any:
        """`api.method(*args, **kw)` through the limiters and the one retry policy; the JSON
        body as plain data (None for an empty answer), checked: a JSON object, with the list of
        objects `rows` (each with `row_keys`) and its `paging` object, unless `rows` is None."""

        def attempt() -> Any:
            self._check_budget()
            if search:
                self.search_window.acquire()
            self.window.acquire()
            self.usage.calls += 1
            fn = getattr(self.api(api), f"{method}_with_http_info")
            try:
                resp = fn(*args, _preload_content=False, _request_timeout=TIMEOUT, **kw)
                verb = _VERBS.get((api, method), "POST")
                body = self._read(resp, Answer("HubSpot", f"{verb} {_path(resp)}"), rows, row_keys)
            except API_ERRORS as exc:
                raise self._error(exc) from None
            except urllib3.exceptions.HTTPError as exc:  # no answer, or half of one
                raise _unreachable(exc) from None
            self._reread_token = False
            return body

        return retrying(attempt, sleep=self._sleep)

    def _read(self, resp: Any, answer: Answer, rows: str | None, row_keys: tuple[str, ...]) -> Any:
        try:
            data = resp.data
        finally:
            resp.release_conn()
        self._note_limits(resp.headers)
        self.server_ms = date_ms(resp.headers.get("Date")) or self.server_ms
        if not data and rows is None:
            return None
        body = answer.object(answer.json(data), *([rows] if rows else []))
        if rows:
            answer.rows(body, rows, *row_keys)
            answer.part(answer.part(body, "paging"), "next")
        return body

    # -- the calls the adapter makes ------------------------------------------------------------

    def list_page(
        self, obj: str, after: str | None, props: Iterable[str], archived: bool, assocs: list[str]
    ) -> Any:
        """GET /crm/v3/objects/{obj}: one page of 100 in id order."""
        return self.call(
            "basic", "get_page", obj, limit=LIST_LIMIT, after=after, properties=list(props),
            archived=archived, associations=assocs or None, row_keys=("id",),
        )  # fmt: skip

    def search(
        self, obj: str, filters: list[dict[str, str]], sort: str, after: str | None,
        props: Iterable[str], descending: bool = False, limit: int = SEARCH_LIMIT,
    ) -> Any:  # fmt: skip
        """POST /crm/v3/objects/{obj}/search: one AND group of filters, one sort."""
        request = PublicObjectSearchRequest(
            filter_groups=[FilterGroup(filters=[Filter(**f) for f in filters])],
            sorts=[
                {"propertyName": sort, "direction": "DESCENDING" if descending else "ASCENDING"}
            ],
            properties=list(props),
            limit=limit,
            after=after,
        )
        return self.call("search", "do_search", obj, request, search=True, row_keys=("id",))

    def associations(self, from_obj: str, to_obj: str, inputs: list[tuple[str, str | None]]) -> Any:
        """POST /crm/v4/associations/{from}/{to}/batch/read for (id, after) inputs."""
        body = BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[PublicFetchAssociationsBatchRequest(id=i, after=a) for i, a in inputs]
        )
        return self.call("associations", "get_page", from_obj, to_obj, body, row_keys=("from",))

    def owners_page(self, after: str | None, archived: bool) -> Any:
        page: dict[str, Any] = {"after": after, "limit": OWNERS_LIMIT, "archived": archived}
        return self.call("owners", "get_page", row_keys=("id",), **page)

    def pipelines(self, obj: str) -> Any:
        return self.call("pipelines", "get_all", obj, row_keys=("id",))

    def properties(self, obj: str) -> Any:
        return self.call("properties", "get_all", obj, archived=False, row_keys=("name",))

    def batch_update(self, obj: str, rows: list[tuple[str, dict[str, str], str]]) -> Any:
        """(id, properties, trace id) rows, at most 100."""
        inputs = [SimplePublicObjectBatchInput(id=i, properties=p, object_write_trace_id=t)
                  for i, p, t in rows]  # fmt: skip
        body = BatchInputSimplePublicObjectBatchInput(inputs=inputs)
        return self.call("batch", "update", obj, body)

    def batch_create(
        self, obj: str, rows: list[tuple[dict[str, str], str]], links: list[Any] | None = None
    ) -> Any:
        """(properties, trace id) rows, at most 100; `links`: each row's associations."""
        inputs = [
            SimplePublicObjectBatchInputForCreate(
                properties=p, object_write_trace_id=t, associations=links[n] if links else None
            )
            for n, (p, t) in enumerate(rows)
        ]
        body = BatchInputSimplePublicObjectBatchInputForCreate(inputs=inputs)
        return self.call("batch", "create", obj, body)

    # -- errors ----------------------------------------------------------------------------------

    def _error(self, exc: Any) -> CarnetError:
        """What one failed call means for the caller (429/5xx retried, 401 once re-read)."""
        status, headers = int(exc.status or 0), exc.headers or {}
        body = _json_body(exc.body)
        self._note_limits(headers)
        if status == 429:
            return self._rate_limited(headers, body)
        if status == 401:
            return self._unauthorized(body)
        if status >= 500 or status in (408, 423):
            return RetriableError(f"HubSpot answered {status}: {body.get('message', '')}")
        if status == 0:  # the client's own wrapping of TLS failures
            return _tls_failure(str(exc.reason or ""))
        return HubSpotRefused(status, body)

    def _rate_limited(self, headers: Any, body: dict[str, Any]) -> CarnetError:
        policy = str(body.get("policyName") or "")
        if policy == "DAILY":
            return BudgetExhausted("HubSpot's daily API allowance is spent (429 DAILY)")
        return RateLimited(f"HubSpot rate limit ({policy or '429'})", retry_after_s(headers))

    def _unauthorized(self, body: dict[str, Any]) -> CarnetError:
        """The token may have been rotated where it is kept: read it once more and retry; a second
        refusal in a row is final: a token HubSpot does not know (INVALID_AUTHENTICATION) is a
        ConfigError on the setting that holds it (exit 2), an expired one an AuthError."""
        category = body.get("category", "")
        if self._reread_token and category == "INVALID_AUTHENTICATION":
            why = f"HubSpot refused the access token (401 {category}): {body.get('message', '')}"
            return self.settings.refused("token", why.rstrip(": "))
        if self._reread_token:
            return AuthError(f"HubSpot refused the access token (401 {category})")
        self._reread_token = True
        self.close()
        self._client = self._build()
        return RetriableError(f"HubSpot refused the access token (401 {category}); read it again")

    # -- the daily budget ------------------------------------------------------------------------

    def _note_limits(self, headers: Any) -> None:
        """The daily allowance from X-HubSpot-RateLimit-Daily(-Remaining). HubSpot leaves those
        two out on calls made with an OAuth access token: the usage stays unknown, and the
        budget share cannot stop a run (the 10-second window still paces it)."""
        daily = _int(headers.get("X-HubSpot-RateLimit-Daily"))
        remaining = _int(headers.get("X-HubSpot-RateLimit-Daily-Remaining"))
        if daily and remaining is not None:
            self.usage.limit, self.usage.used = daily, max(0, daily - remaining)

    def _check_budget(self) -> None:
        spent = budget_spent(self.usage, self.settings.api_budget_share)
        if spent:
            raise BudgetExhausted(f"HubSpot {spent}; carrying on at the next run")


def date_ms(header: str | None) -> int | None:
    """An HTTP Date header as epoch ms (None when absent or unreadable)."""
    if not header:
        return None
    try:
        return int(parsedate_to_datetime(header).timestamp() * 1000)
    except (TypeError, ValueError):
        return None


def retry_after_s(headers: Any) -> float:
    """How long a 429 asks us to wait: Retry-After when sent, else a tenth of the rolling window
    (X-HubSpot-RateLimit-Interval-Milliseconds, 10 s by default): by then, with calls spread
    evenly, a tenth of the window's calls have aged out of it."""
    given = parse_retry_after(headers.get("Retry-After"))
    if given is not None:
        return given
    interval_ms = _int(headers.get("X-HubSpot-RateLimit-Interval-Milliseconds")) or 10_000
    return max(0.5, interval_ms / 1000 / 10)


def _unreachable(exc: urllib3.exceptions.HTTPError) -> CarnetError:
    """A call that got no HTTP answer: refused or dropped connections and timeouts are passing
    faults; an untrusted certificate is not."""
    reason = getattr(exc, "reason", None)
    if isinstance(exc, urllib3.exceptions.SSLError) or isinstance(
        reason, urllib3.exceptions.SSLError
    ):
        return _tls_failure(str(reason or exc))
    return RetriableError(f"HubSpot could not be reached: {type(reason or exc).__name__}")


def _tls_failure(reason: str) -> CarnetError:
    if "CERTIFICATE_VERIFY_FAILED" in reason:
        return FatalError("HubSpot's TLS certificate is not trusted (see the source's ca_file)")
    return RetriableError("TLS failure talking to HubSpot")


def _path(resp: Any) -> str:
    """The path a call went to (without its query: it may hold a paging token)."""
    return urlsplit(str(getattr(resp, "url", "") or "")).path


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _json_body(raw: Any) -> dict[str, Any]:
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        return {"message": str(raw)[:200]}
    return body if isinstance(body, dict) else {}
