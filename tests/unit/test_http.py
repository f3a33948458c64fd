"""The one Retry-After parser (both forms of RFC 9110's header) and the one API-budget check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.core.http import budget_spent, parse_retry_after
from connector.core.records import ApiUsage

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def http_date(when: datetime) -> str:
    return format_datetime(when, usegmt=True)  # "Mon, 01 Jun 2026 12:02:00 GMT"


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        ("0", 0.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        (http_date(NOW + timedelta(minutes=2)), 120.0),  # an HTTP-date ahead
        (http_date(NOW - timedelta(minutes=2)), 0.0),  # an HTTP-date gone by: now
        ("Mon, 01 Jun 2026 12:00:30 -0000", 30.0),  # a date without a zone is UTC
        ("soon", None),
        ("-5", None),
        ("12 s", None),
        ("nan", None),
        ("inf", None),
        ("Mon, 99 Foo 2026 25:61:00 GMT", None),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_retry_after_reads_both_forms(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


def test_retry_after_counts_a_date_from_the_clock_by_default() -> None:
    ahead = datetime.now(UTC) + timedelta(hours=1)
    wait = parse_retry_after(http_date(ahead))
    assert wait is not None and 3500 < wait <= 3600


@given(st.one_of(st.none(), st.text(), st.from_regex(r"[0-9]{1,400}(\.[0-9]{1,5})?")))
def test_retry_after_never_raises_nor_goes_negative(header: str | None) -> None:
    wait = parse_retry_after(header, now=NOW)
    assert wait is None or wait >= 0


@given(st.datetimes(timezones=st.just(UTC), min_value=datetime(1900, 1, 1)))
def test_retry_after_of_any_http_date_is_never_negative(when: datetime) -> None:
    wait = parse_retry_after(http_date(when), now=NOW)
    assert wait is not None and wait >= 0


@pytest.mark.parametrize(
    ("usage", "share", "spent"),
    [
        (ApiUsage(used=79, limit=100), 0.8, False),
        (ApiUsage(used=80, limit=100), 0.8, True),
        (ApiUsage(used=100, limit=100), 1.0, True),
        (ApiUsage(used=None, limit=None), 0.8, False),  # the CRM has not told its allowance
        (ApiUsage(used=5, limit=0), 0.8, False),
        (ApiUsage(used=99, limit=100), None, False),  # no allowance to mind (Exchange)
    ],
)
def test_the_one_budget_check(usage: ApiUsage, share: float | None, spent: bool) -> None:
    reason = budget_spent(usage, share)
    assert (reason is not None) == spent
    if reason is not None:
        assert f"{usage.used} of {usage.limit}" in reason and "allowance" in reason
