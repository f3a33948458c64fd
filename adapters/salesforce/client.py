"""One Salesforce connection for the adapter: the TLS session, login and re-login on expiry, the
one retry policy around every call, Salesforce errors mapped onto Carnet's tree, API usage seen.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from requests.exceptions import ChunkedEncodingError
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError, SalesforceExpiredSession
from simple_salesforce.util import exception_handler

from adapters.salesforce.auth import TIMEOUT_S, login
from connector.core.answers import Answer
from connector.core.errors import (
    AuthError,
    BudgetExhausted,
    CarnetError,
    FatalError,
    RateLimited,
    RetriableError,
)
from connector.core.http import budget_spent, parse_retry_after, retrying
from connector.core.records import ApiUsage

T = TypeVar("T")
MAPPING_ERRORS = (
    "MALFORMED_QUERY",
    "INVALID_FIELD",
    "INVALID_TYPE",
    "INVALID_FIELD_FOR_INSERT_UPDATE",
)


class _Expired(Exception):
    """The session was refused (401 INVALID_SESSION_ID); log in again."""


class MaybeApplied(FatalError):
    """A call that is not idempotent (a creation) failed after it was sent: it may have been
    applied, so it is not retried here (the caller decides, knowing how to find it again)."""


class Client:
    """Calls Salesforce through simple-salesforce with our own session and login."""

    def __init__(self, settings: Any, secret: Callable[[str], str]):
        self.settings, self._secret = settings, secret
        self.http = requests.Session()
        self.http.trust_env = False  # else REQUESTS_CA_BUNDLE overrides `verify`
        self.http.verify = str(settings.ca_file) if settings.ca_file else True
        self.http.hooks["response"].append(self._observe)
        self.calls = 0  # data API calls this process made (what the daily allowance counts)
        self.logins = 0
        self.used: int | None = None
        self.limit: int | None = None
        self.retry_after: float | None = None
        self.endpoint = ""  # the last call's "METHOD /path", for the error of an odd answer
        self.sleep: Callable[[float], None] = time.sleep
        self.user_id: str | None = None  # the user Carnet's sessions run as, once logged in
        self._sf: Salesforce | None = None
        self.server_time: datetime | None = None  # the Date of the last answer: Salesforce's now

    # -- what every response tells --------------------------------------------------------------
    def _observe(self, resp: requests.Response, *args: Any, **kwargs: Any) -> None:
        path = urlsplit(resp.url).path
        if path.startswith("/services/data/"):
            self.calls += 1
        self.endpoint = f"{resp.request.method} {path}"
        info = resp.headers.get("Sforce-Limit-Info")
        usage = Salesforce.parse_api_usage(info).get("api-usage") if info else None
        if usage is not None:
            self.used, self.limit = usage.used, usage.total
        self.retry_after = parse_retry_after(resp.headers.get("Retry-After"))
        self.server_time = server_time(resp.headers.get("Date")) or self.server_time

    def usage(self) -> ApiUsage:
        return ApiUsage(used=self.used, limit=self.limit, calls=self.calls)

    def answer(self) -> Answer:
        """The last call's answer, to check its shape where it is read."""
        return Answer("Salesforce", self.endpoint)

    def budget_spent(self) -> str | None:
        """Why no more calls should be made now (the configured share of the allowance)."""
        spent = budget_spent(self.usage(), self.settings.api_budget_share)
        return f"Salesforce {spent}" if spent else None

    def check_budget(self) -> None:
        spent = self.budget_spent()
        if spent:
            raise BudgetExhausted(f"{spent}; carrying on at the next run")

    # -- login and calls --------------------------------------------------------------------------
    def login(self) -> None:
        token = login(self.settings, self._secret, self.http)
        self.logins += 1
        self.user_id = token.user_id
        self._sf = Salesforce(
            instance_url=token.instance_url,
            session_id=token.access_token,
            session=self.http,
            version=self.settings.api_version,
        )

    def call(self, fn: Callable[[Salesforce], T], what: str, idempotent: bool = True) -> T:
        """`fn(sf)` with the one retry policy; an expired session is renewed once per call. A call
        that is not idempotent is retried only when Salesforce shed it unprocessed (503)."""

        def attempt() -> T:
            if self._sf is None:
                self.login()
            try:
                try:
                    return self._once(fn, what)
                except _Expired:
                    self.login()
                try:
                    return self._once(fn, what)
                except _Expired:
                    raise AuthError(
                        f"{what}: Salesforce refused a session it had just issued"
                    ) from None
            except RetriableError as exc:
                if idempotent or isinstance(exc, RateLimited):
                    raise
                raise MaybeApplied(f"{exc} (not retried: it may have been applied)") from None

        return retrying(attempt, sleep=self.sleep)

    def _once(self, fn: Callable[[Salesforce], T], what: str) -> T:
        assert self._sf is not None
        try:
            return fn(self._sf)
        except SalesforceExpiredSession:
            raise _Expired from None
        except requests.JSONDecodeError as exc:  # 2xx, but not JSON (a proxy's HTML page)
            raise self.answer().not_json(exc.doc) from None
        except SalesforceError as exc:
            raise translate(exc.status, exc.content, what, self.retry_after) from None
        except (requests.ConnectionError, requests.Timeout, ChunkedEncodingError) as exc:
            raise RetriableError(f"{what}: {type(exc).__name__}") from None

    def get(self, path: str, params: dict[str, Any], accept: str) -> requests.Response:
        """A GET under the data API that simple-salesforce has no helper for (Bulk 2.0 CSV)."""

        def fn(sf: Salesforce) -> requests.Response:
            headers = {**sf.headers, "Accept": accept}
            resp = self.http.get(
                sf.base_url + path, headers=headers, params=params, timeout=TIMEOUT_S
            )
            if resp.status_code >= 300:
                exception_handler(resp, name=path)
            return resp

        return self.call(fn, path)

    def close(self) -> None:
        self.http.close()


def server_time(header: str | None) -> datetime | None:
    """An HTTP Date header as an aware datetime (None when absent or unreadable)."""
    if not header:
        return None
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def first_error(content: Any) -> tuple[str, str]:
    """(errorCode, message) of Salesforce's error body `[{"message", "errorCode"}]`."""
    entry = content[0] if isinstance(content, list) and content else content
    if isinstance(entry, dict):
        return str(entry.get("errorCode") or ""), str(entry.get("message") or "")
    return "", str(entry or "")[:300]


def translate(status: int, content: Any, what: str, retry_after: float | None) -> CarnetError:
    """What Carnet does next with a Salesforce error answer."""
    code, message = first_error(content)
    if status == 503 or code == "SERVER_UNAVAILABLE":  # Salesforce shedding load
        return RateLimited(f"{what}: HTTP {status} {code}", retry_after)
    if status >= 500:
        return RetriableError(f"{what}: HTTP {status} {code}")
    if status == 403 and code == "REQUEST_LIMIT_EXCEEDED":
        if "TotalRequests" in message:  # the daily allowance: stop for today, never retry
            return BudgetExhausted(f"{what}: Salesforce daily API allowance spent ({message})")
        return RateLimited(f"{what}: {message}", retry_after)  # concurrent long requests
    if code in MAPPING_ERRORS:
        named = re.search(r"'([\w.]+)'", message)
        field = f"field {named.group(1)}: " if named else ""
        return FatalError(f"{what}: {field}{code}: {message} (check the mapping file)")
    return FatalError(f"{what}: HTTP {status} {code}: {message}".rstrip(": "))
