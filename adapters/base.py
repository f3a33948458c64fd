"""The small protocol every CRM adapter follows, the record types that cross it, and the one
retry policy and rate limiter they share.

An adapter pulls pages of raw records (in its API's own field names) for an `ObjectSpec` the
mapping file describes, and pushes batches of field writes. It knows nothing of the overlay.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from tenacity import RetryCallState, retry, retry_if_exception_type, stop_after_attempt

from connector.errors import RateLimited, RetriableError

T = TypeVar("T")


@dataclass(frozen=True)
class ObjectSpec:
    """What to pull of one CRM object: its API name and the fields the mapping reads."""

    name: str  # the API's own object name: "Contact", "contacts", "users", ...
    fields: tuple[str, ...]
    associations: tuple[str, ...] = ()  # HubSpot: object types whose associations to read


@dataclass
class RawRecord:
    """One CRM record as the API gave it."""

    id: str
    fields: dict[str, Any]
    deleted: bool = False
    merged_into: str | None = None  # the survivor's id, when this record was merged away
    modstamp: datetime | None = None
    associations: dict[str, list[str]] = field(default_factory=dict)  # to-object -> ids
    container: str | None = None  # Graph: the mailbox (user id) the contact lives in


@dataclass
class Page:
    """Records to store together with the cursor that covers them (commit both at once)."""

    records: list[RawRecord]
    cursor: str | None  # the cursor to save once these records are stored; None: keep the old one
    full: bool = False  # this pull is a full pass (records not seen may be tombstoned at the end)
    done: bool = False  # the last page of this object's pull


@dataclass(frozen=True)
class Write:
    """Field values to set on one CRM record (`id` None: create)."""

    object: str
    id: str | None
    values: dict[str, Any]
    key: str = ""  # the caller's handle for the result (e.g. the outbox row id)
    # creations only: records to associate the new one with (HubSpot): (to object, id, type id)
    associate: tuple[tuple[str, str, int], ...] = ()


@dataclass(frozen=True)
class WriteResult:
    key: str
    ok: bool
    id: str | None = None
    error: str | None = None  # the CRM's own message
    retriable: bool = False


@dataclass
class FieldInfo:
    name: str
    type: str  # the CRM's type name
    writable: bool
    length: int | None = None
    custom: bool = False


@dataclass
class ApiUsage:
    used: int | None = None
    limit: int | None = None
    calls: int = 0  # calls this adapter made in this process

    def share(self) -> float | None:
        return self.used / self.limit if self.used is not None and self.limit else None


class Adapter(Protocol):
    source: str

    def pull(self, spec: ObjectSpec, cursor: str | None, full: bool) -> Iterator[Page]: ...

    def push(self, writes: list[Write]) -> list[WriteResult]: ...

    def describe(self, object_name: str) -> dict[str, FieldInfo]: ...

    def usage(self) -> ApiUsage: ...

    def close(self) -> None: ...


# -- the one retry policy ----------------------------------------------------------------------

MAX_ATTEMPTS = 6
BASE_DELAY = 0.5
MAX_DELAY = 30.0


def _wait(state: RetryCallState) -> float:
    """Honour the service's Retry-After; else exponential backoff with jitter."""
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, RateLimited) and exc.retry_after is not None:
        return min(float(exc.retry_after), MAX_DELAY)
    import random

    return min(MAX_DELAY, BASE_DELAY * 2 ** (state.attempt_number - 1)) * (
        0.5 + random.random() / 2
    )


def retrying(
    fn: Callable[[], T], attempts: int = MAX_ATTEMPTS, sleep: Callable[[float], None] = time.sleep
) -> T:
    """Call `fn`, retrying RetriableError (429, 5xx, timeouts) with the one policy."""
    policy = retry(
        retry=retry_if_exception_type(RetriableError),
        wait=_wait,
        stop=stop_after_attempt(attempts),
        sleep=sleep,
        reraise=True,
    )
    return policy(fn)()


class WindowLimiter:
    """At most `limit` calls in any rolling `window` seconds (HubSpot's TEN_SECONDLY_ROLLING)."""

    def __init__(
        self,
        limit: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.limit, self.window = limit, window
        self._clock, self._sleep = clock, sleep
        self._calls: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            while True:
                now = self._clock()
                while self._calls and self._calls[0] <= now - self.window:
                    self._calls.popleft()
                if len(self._calls) < self.limit:
                    self._calls.append(now)
                    return
                self._sleep(self._calls[0] + self.window - now)


def check_pagination(seen: set[Any], token: Any) -> None:
    """Raise when a pagination token repeats (a server bug would otherwise loop forever)."""
    from connector.errors import FatalError

    if token in seen:
        raise FatalError(f"loop detected in pagination: token {token!r} came back")
    seen.add(token)


# -- write-back: custom fields and plan notes (issue 7) ------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    """A custom field / property Carnet writes, as `carnet install` creates it."""

    name: str
    type: str  # the CRM's own type name as the mapping declares it (Number, Text, number, ...)
    label: str
    description: str | None = None
    length: int | None = None  # Salesforce text
    precision: int | None = None  # Salesforce Number / Percent / Currency
    scale: int | None = None
    field_type: str | None = None  # HubSpot: how the property shows


@dataclass(frozen=True)
class FieldStep:
    """One line of an install plan: `create`, `exists` or `incompatible` (with why)."""

    object: str
    name: str
    action: str
    detail: str = ""


def plan_marker(parent: str) -> str:
    """What an account-plan note carries (Salesforce: title; HubSpot: body) to be found again."""
    return f"[carnet:plan:{parent}]"


@dataclass(frozen=True)
class PlanNote:
    """An account-plan note: one per account, found again by the marker it carries."""

    parent: str  # the account / company id
    note_id: str | None  # the note's id when known; None: find it by its marker, else create
    marker: str  # `[carnet:plan:<parent>]`
    title: str  # plain text
    text: str  # plain text (Salesforce Note body)
    html: str  # escaped HTML (HubSpot note body)
    key: str = ""
