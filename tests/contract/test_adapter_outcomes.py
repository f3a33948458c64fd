"""Every adapter classifies its own write failures into an Outcome (connector/core/records.py):
the core decides what to do next from it, never from the words of the CRM's message.

First against the stand-ins through the real clients (a deleted target, a refused record, a
passing per-record fault, a spent budget, a creation lost in a 500), then table by table over
the errors each adapter can meet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from adapters.hubspot.adapter import HubSpotAdapter
from adapters.hubspot.api import HubSpotRefused
from adapters.salesforce import push as sf_push
from adapters.salesforce.client import MaybeApplied
from connector.core.errors import (
    AuthError,
    BudgetExhausted,
    CarnetError,
    FatalError,
    RateLimited,
    RetriableError,
)
from connector.core.protocols import Adapter
from connector.core.records import FieldSpec, Outcome, PlanNote, Write, WriteResult
from tests.contract.cases import exchange, hubspot, salesforce
from tests.contract.cases.base import admin

CASES = {"salesforce": salesforce.CASE, "hubspot": hubspot.CASE}
# per CRM: an object, a field a user may set on it, and a creation the CRM refuses
TARGET = {"salesforce": ("Contact", "Title"), "hubspot": ("contacts", "jobtitle")}
REFUSED = {
    "salesforce": Write("Contact", None, {"FirstName": "No last name"}, key="bad"),
    "hubspot": Write("contacts", None, {"carnet_strength": "not a number"}, key="bad"),
}
CREATE = {
    "salesforce": Write("Contact", None, {"LastName": "Newman"}, key="new"),
    "hubspot": Write("contacts", None, {"firstname": "New"}, key="new"),
}

Make = Callable[..., Adapter]


@pytest.fixture
def make(fresh_sandbox: Any) -> Iterator[Make]:
    """The source's adapter on the sandbox (settings overridable), never sleeping to retry."""
    made: list[Adapter] = []

    def build(source: str, **overrides: Any) -> Adapter:
        settings = CASES[source].settings(fresh_sandbox, **overrides)
        adapter: Any
        if source == "hubspot":
            adapter = HubSpotAdapter(settings, settings.secret, sleep=lambda s: None)
        else:
            adapter = CASES[source].adapter(fresh_sandbox, **overrides)
            adapter.client.sleep = lambda s: None
        made.append(adapter)
        return adapter

    yield build
    admin(fresh_sandbox, "salesforce", "POST", "faults", {})
    admin(fresh_sandbox, "hubspot", "POST", "faults", {})
    for adapter in made:
        adapter.close()


def update(source: str, record_id: str, n: int = 0) -> Write:
    obj, field = TARGET[source]
    return Write(obj, record_id, {field: f"outcome {n}"}, key=f"k{n}")


def live(sandbox: Any, source: str) -> list[str]:
    ids = CASES[source].live_ids(sandbox, TARGET[source][0])
    return sorted(ids, key=lambda i: (len(i), i))


@pytest.mark.parametrize("source", ["salesforce", "hubspot"])
def test_written_refused_and_gone(source: str, fresh_sandbox: Any, make: Make) -> None:
    adapter = make(source)
    deleted = CASES[source].delete(fresh_sandbox, TARGET[source][0])
    writes = [update(source, live(fresh_sandbox, source)[0]), update(source, deleted, 1)]
    ok, gone, refused = adapter.push([*writes, REFUSED[source]])
    assert (ok.outcome, gone.outcome, refused.outcome) == (
        Outcome.OK,
        Outcome.GONE,
        Outcome.REFUSED,
    )
    assert gone.error and refused.error  # the CRM's own words, for people


@pytest.mark.parametrize("source", ["salesforce", "hubspot"])
def test_a_passing_per_record_fault_is_retry(source: str, fresh_sandbox: Any, make: Make) -> None:
    adapter = make(source)
    ids = live(fresh_sandbox, source)[:3]
    admin(fresh_sandbox, source, "POST", "faults", {"once": ["partial"]})
    results = adapter.push([update(source, i, n) for n, i in enumerate(ids)])
    assert sorted(r.outcome for r in results) == sorted([Outcome.OK, Outcome.OK, Outcome.RETRY])


@pytest.mark.parametrize("source", ["salesforce", "hubspot"])
def test_a_spent_budget_is_budget(source: str, fresh_sandbox: Any, make: Make) -> None:
    adapter = make(source, api_budget_share=1e-9)  # spent once the CRM told its allowance
    first, second = live(fresh_sandbox, source)[:2]
    (sent,) = adapter.push([update(source, first)])
    (unsent,) = adapter.push([update(source, second, 1)])
    assert (sent.outcome, unsent.outcome) == (Outcome.OK, Outcome.BUDGET)
    assert unsent.retriable


@pytest.mark.parametrize("source", ["salesforce", "hubspot"])
def test_a_creation_lost_in_a_500_may_have_been_applied(
    source: str, fresh_sandbox: Any, make: Make
) -> None:
    adapter = make(source)
    adapter.push([update(source, live(fresh_sandbox, source)[0])])  # signed in
    admin(fresh_sandbox, source, "POST", "faults", {"rate": 1.0, "kinds": ["500"]})
    (created,) = adapter.push([CREATE[source]])
    assert created.outcome is Outcome.MAYBE_APPLIED and not created.retriable


def test_exchange_refuses_every_write(fresh_sandbox: Any) -> None:
    adapter = exchange.CASE.adapter(fresh_sandbox)
    try:
        note = PlanNote("p", None, "[carnet:plan:p]", "t", "x", "<p>x</p>", key="n")
        results = [*adapter.push([Write("contacts", "1", {"a": 1}, key="w")]),
                   *adapter.push_notes([note])]  # fmt: skip
        assert [(r.key, r.outcome) for r in results] == [
            ("w", Outcome.REFUSED),
            ("n", Outcome.REFUSED),
        ]
        assert adapter.find_plan_notes(["p"]) == {}
        (step,) = adapter.ensure_fields("contacts", [FieldSpec("x", "string", "X")])
        assert step.action == "incompatible"
    finally:
        adapter.close()


# -- Salesforce: each error, each outcome ----------------------------------------------------------


class FakeClient:
    """Answers every call with `error` (or the answers given); `spent`: the budget check."""

    def __init__(self, error: CarnetError | None = None, spent: str | None = None):
        self.error, self.spent = error, spent

    def budget_spent(self) -> str | None:
        return self.spent

    def call(self, fn: Any, what: str, idempotent: bool = True) -> Any:
        assert self.error is not None
        raise self.error


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (RetriableError("HTTP 500"), Outcome.RETRY),
        (RateLimited("HTTP 503", 2.0), Outcome.RETRY),
        (BudgetExhausted("Salesforce daily API allowance spent"), Outcome.BUDGET),
        (MaybeApplied("HTTP 500 (not retried: it may have been applied)"), Outcome.MAYBE_APPLIED),
        (AuthError("refused"), Outcome.REFUSED),
        (FatalError("HTTP 400 MALFORMED_QUERY"), Outcome.REFUSED),
    ],
)
def test_salesforce_call_errors(error: CarnetError, outcome: Outcome) -> None:
    writes = [Write("Contact", "003A", {"Title": "x"}, key="a")]
    (result,) = sf_push.push(FakeClient(error), writes)  # type: ignore[arg-type]
    assert (result.outcome, result.error) == (outcome, str(error))


def test_salesforce_spent_budget_sends_nothing() -> None:
    writes = [Write("Contact", "003A", {"Title": "x"}, key="a")]
    client = FakeClient(spent="Salesforce API allowance: 9 of 10")
    (result,) = sf_push.push(client, writes)  # type: ignore[arg-type]
    assert result.outcome is Outcome.BUDGET


@pytest.mark.parametrize(
    ("code", "record_id", "outcome"),
    [
        ("UNABLE_TO_LOCK_ROW", "003A", Outcome.RETRY),
        ("SERVER_UNAVAILABLE", None, Outcome.RETRY),
        ("ENTITY_IS_DELETED", "003A", Outcome.GONE),
        ("INVALID_CROSS_REFERENCE_KEY", "003A", Outcome.GONE),
        ("INVALID_CROSS_REFERENCE_KEY", None, Outcome.REFUSED),  # a creation's parent
        ("REQUIRED_FIELD_MISSING", None, Outcome.REFUSED),
        ("INVALID_FIELD_FOR_INSERT_UPDATE", "003A", Outcome.REFUSED),
        ("", "003A", Outcome.REFUSED),
    ],
)
def test_salesforce_record_errors(code: str, record_id: str | None, outcome: Outcome) -> None:
    answer = {"success": False, "errors": [{"statusCode": code, "message": "why"}]}
    result = sf_push.result(Write("Contact", record_id, {}, key="a"), answer)
    assert result.outcome is outcome and not result.ok


# -- HubSpot: each error, each outcome -------------------------------------------------------------


class FakeApi:
    def __init__(self, error: CarnetError | None = None, answer: Any = None):
        self.error, self.answer = error, answer

    def _answer(self, *args: Any, **kw: Any) -> Any:
        if self.error is not None:
            raise self.error
        return self.answer

    batch_create = batch_update = _answer

    def close(self) -> None:
        return None


def hubspot_push(writes: list[Write], **fake: Any) -> list[WriteResult]:
    """The adapter's push over a fake API (the adapter is not built: it would read a token)."""
    adapter = HubSpotAdapter.__new__(HubSpotAdapter)
    adapter.api = FakeApi(**fake)  # type: ignore[assignment]
    return adapter.push(writes)


UPDATE = Write("contacts", "101", {"jobtitle": "x"}, key="u")
NEW = Write("contacts", None, {"firstname": "x"}, key="c")


@pytest.mark.parametrize(
    ("error", "outcomes"),
    [
        (HubSpotRefused(400, {"category": "VALIDATION_ERROR"}), (Outcome.REFUSED,) * 2),
        (HubSpotRefused(404, {"category": "OBJECT_NOT_FOUND"}), (Outcome.GONE, Outcome.REFUSED)),
        (RetriableError("HubSpot answered 502"), (Outcome.RETRY, Outcome.MAYBE_APPLIED)),
        (RateLimited("HubSpot rate limit", 1.0), (Outcome.RETRY, Outcome.RETRY)),
        (BudgetExhausted("HubSpot's daily API allowance is spent"), (Outcome.BUDGET,) * 2),
        (AuthError("HubSpot refused the access token"), (Outcome.RETRY,) * 2),
    ],
)
def test_hubspot_call_errors(error: CarnetError, outcomes: tuple[Outcome, Outcome]) -> None:
    (on_update,) = hubspot_push([UPDATE], error=error)
    (on_create,) = hubspot_push([NEW], error=error)
    assert (on_update.outcome, on_create.outcome) == outcomes


@pytest.mark.parametrize(
    ("category", "write", "outcome"),
    [
        ("INTERNAL_ERROR", UPDATE, Outcome.RETRY),
        ("RATE_LIMITS", NEW, Outcome.RETRY),
        ("OBJECT_NOT_FOUND", UPDATE, Outcome.GONE),
        ("OBJECT_NOT_FOUND", NEW, Outcome.REFUSED),  # an association's target
        ("VALIDATION_ERROR", UPDATE, Outcome.REFUSED),
    ],
)
def test_hubspot_batch_errors(category: str, write: Write, outcome: Outcome) -> None:
    error = {"category": category, "message": "why", "context": {"objectWriteTraceId": ["0"]}}
    (result,) = hubspot_push([write], answer={"results": [], "errors": [error]})
    assert (result.outcome, result.error) == (outcome, "why")


def test_hubspot_silence_on_a_write() -> None:
    """No result and no error for a write: an update is sent again, a creation may exist."""
    on_update, on_create = hubspot_push([UPDATE, NEW], answer={"results": [], "errors": []})
    assert (on_update.outcome, on_create.outcome) == (Outcome.RETRY, Outcome.MAYBE_APPLIED)
