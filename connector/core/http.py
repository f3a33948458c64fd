"""What every adapter shares about talking HTTP to a CRM: the one retry policy, the one
Retry-After parser, the rate limiter, the pagination guard and the one API-budget check."""

from __future__ import annotations

import math
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from tenacity import RetryCallState, retry, retry_if_exception_type, stop_after_attempt

from connector.core.errors import FatalError, RateLimited, RetriableError
from connector.core.records import ApiUsage

T = TypeVar("T")

# -- the one retry policy ----------------------------------------------------------------------

MAX_ATTEMPTS = 6
BASE_DELAY = 0.5
MAX_DELAY = 30.0


def _wait(state: RetryCallState) -> float:
    """Honour the service's Retry-After; else exponential backoff with jitter."""
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, RateLimited) and exc.retry_after is not None:
        return min(float(exc.retry_after), MAX_DELAY)
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
    if token in seen:
        raise FatalError(f"loop detected in pagination: token {token!r} came back")
    seen.add(token)


# -- Retry-After ---------------------------------------------------------------------------------

_DELTA_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """The seconds a `Retry-After` header asks to wait (RFC 9110 section 10.2.3): delta-seconds
    (`120`) or an HTTP-date (`Wed, 21 Oct 2015 07:28:00 GMT`, counted from `now`, a date in the
    past being 0). None when the header is missing or unreadable; never negative."""
    text = (value or "").strip()
    if not text:
        return None
    if _DELTA_SECONDS.fullmatch(text):
        seconds = float(text)
        return seconds if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": the date is in UTC, as HTTP-dates always are
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


# -- the API budget ------------------------------------------------------------------------------


def budget_spent(usage: ApiUsage, share: float | None) -> str | None:
    """Why no more calls should be made now: `usage` has reached the configured `share` of the
    CRM's daily allowance (None: carry on, also while the CRM has not told its allowance)."""
    used = usage.share()
    if share is None or used is None or used < share:
        return None
    return (
        f"API allowance: {usage.used} of {usage.limit} daily calls used, at or over the "
        f"configured share {share * 100:g}% (api_budget_share)"
    )
