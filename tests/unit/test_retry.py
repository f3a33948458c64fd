"""The one retry policy and the rolling-window limiter, on a fake clock."""

from __future__ import annotations

import pytest

from connector.core.errors import FatalError, RateLimited, RecordError, RetriableError
from connector.core.http import MAX_ATTEMPTS, WindowLimiter, check_pagination, retrying


class Flaky:
    def __init__(self, failures: list[Exception]):
        self.failures = failures
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


def test_retries_retriable_errors_then_succeeds() -> None:
    sleeps: list[float] = []
    fn = Flaky([RetriableError("502"), RetriableError("503")])
    assert retrying(fn, sleep=sleeps.append) == "ok"
    assert fn.calls == 3
    assert len(sleeps) == 2
    assert 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0  # exponential, with jitter


def test_honours_retry_after() -> None:
    sleeps: list[float] = []
    retrying(Flaky([RateLimited("429", retry_after=7)]), sleep=sleeps.append)
    assert sleeps == [7.0]


def test_gives_up_after_max_attempts() -> None:
    fn = Flaky([RetriableError(str(i)) for i in range(MAX_ATTEMPTS + 2)])
    with pytest.raises(RetriableError):
        retrying(fn, sleep=lambda s: None)
    assert fn.calls == MAX_ATTEMPTS


@pytest.mark.parametrize("error", [RecordError("bad"), FatalError("auth"), ValueError("bug")])
def test_does_not_retry_other_errors(error: Exception) -> None:
    fn = Flaky([error])
    with pytest.raises(type(error)):
        retrying(fn, sleep=lambda s: None)
    assert fn.calls == 1


def test_window_limiter_keeps_under_the_limit() -> None:
    now = [0.0]
    sleeps: list[float] = []

    def sleep(s: float) -> None:
        sleeps.append(s)
        now[0] += s

    limiter = WindowLimiter(3, 10.0, clock=lambda: now[0], sleep=sleep)
    stamps = []
    for _ in range(7):
        limiter.acquire()
        stamps.append(now[0])
        now[0] += 1.0
    for i in range(len(stamps)):
        in_window = [t for t in stamps if stamps[i] - 10.0 < t <= stamps[i]]
        assert len(in_window) <= 3
    assert stamps[3] >= 10.0


def test_pagination_loop_is_detected() -> None:
    seen: set[object] = set()
    check_pagination(seen, "a")
    check_pagination(seen, "b")
    with pytest.raises(FatalError, match="loop detected"):
        check_pagination(seen, "a")
