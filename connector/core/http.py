"""The one retry policy and the rate limiter every adapter shares, and the pagination guard."""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from tenacity import RetryCallState, retry, retry_if_exception_type, stop_after_attempt

from connector.core.errors import FatalError, RateLimited, RetriableError

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


# -- write-back: custom fields and plan notes (issue 7) ------------------------------------------
