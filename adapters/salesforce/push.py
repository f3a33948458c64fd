"""Writes to Salesforce through sObject Collections: updates as `PATCH composite/sobjects`,
creations as `POST`, 200 records a call, allOrNone false, one WriteResult per write, each with
the Outcome Salesforce's answer means (`outcome_of`, `failed`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from adapters.salesforce.auth import TIMEOUT_S
from adapters.salesforce.client import Client, MaybeApplied
from connector.core.errors import (
    AuthError,
    BudgetExhausted,
    CarnetError,
    RetriableError,
    UsageError,
)
from connector.core.records import Outcome, Write, WriteResult

CAP = 200  # records per sObject Collections call
# per-record errors that a later attempt may not meet (locks, timeouts, load)
RETRIABLE_CODES = {
    "UNABLE_TO_LOCK_ROW",
    "REQUEST_RUNNING_TOO_LONG",
    "SERVER_UNAVAILABLE",
    "QUERY_TIMEOUT",
    "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY_LOCKED",
}
GONE_CODES = {"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY"}  # the record updated is no more


Judge = Callable[[Write, dict[str, Any]], WriteResult]


def push(client: Client, writes: list[Write], judge: Judge | None = None) -> list[WriteResult]:
    """Send every write (updates, then creations), in calls of at most 200; results in order.
    `judge` reads one record's answer (`result` unless given: a caller that knows better what
    an error means for its records, such as an add that finds the member there already)."""
    judge = judge or result
    results: dict[int, WriteResult] = {}
    stopped: CarnetError | None = None
    for create, batch in batches(writes):
        spent = client.budget_spent() if stopped is None else None
        if spent:
            stopped = BudgetExhausted(spent)
        if stopped is not None:
            results |= {i: failed(w, stopped) for i, w in batch}
            continue
        try:
            answers = send(client, [w for _, w in batch], create)
        except UsageError:  # the config's credentials were refused: nothing more can be sent
            raise
        except CarnetError as exc:
            stopped = exc if isinstance(exc, BudgetExhausted | AuthError) else None
            results |= {i: failed(w, exc) for i, w in batch}
            continue
        results |= {i: judge(w, a) for (i, w), a in zip(batch, answers, strict=True)}
    return [results[i] for i in range(len(writes))]


def batches(writes: list[Write]) -> Iterator[tuple[bool, list[tuple[int, Write]]]]:
    """(is a creation, up to 200 indexed writes), grouped by object to keep calls homogeneous."""
    for create in (False, True):
        picked = [(i, w) for i, w in enumerate(writes) if (w.id is None) == create]
        picked.sort(key=lambda iw: iw[1].object)  # stable: the caller's order within an object
        for start in range(0, len(picked), CAP):
            yield create, picked[start : start + CAP]


def send(client: Client, writes: list[Write], create: bool) -> list[Any]:
    records = [
        {"attributes": {"type": w.object}, **jsonable(w.values), **({} if create else {"Id": w.id})}
        for w in writes
    ]
    body = {"allOrNone": False, "records": records}
    method = "POST" if create else "PATCH"
    answers = client.call(
        lambda sf: sf.restful("composite/sobjects", method=method, json=body, timeout=TIMEOUT_S),
        f"Salesforce composite/sobjects {method}",
        idempotent=not create,  # a creation retried after a lost answer would be made twice
    )
    if not isinstance(answers, list) or len(answers) != len(writes):
        raise RetriableError(f"Salesforce composite/sobjects {method}: unexpected answer")
    return answers


def result(write: Write, answer: dict[str, Any]) -> WriteResult:
    if answer.get("success"):
        return WriteResult(write.key, Outcome.OK, id=answer.get("id") or write.id)
    errors = answer.get("errors") or [{}]
    code = error_code(answer)
    message = "; ".join(str(e.get("message") or e.get("statusCode")) for e in errors)
    error = f"{code}: {message}" if code else message
    return WriteResult(write.key, outcome_of(code, write), id=write.id, error=error)


def error_code(answer: dict[str, Any]) -> str:
    """The status code of a refused record's first error ("" for a success)."""
    errors = answer.get("errors") or [{}]
    first = errors[0] if isinstance(errors[0], dict) else {}
    return "" if answer.get("success") else str(first.get("statusCode") or "")


def outcome_of(code: str, write: Write) -> Outcome:
    """What one record's error code means (the codes of a refused record's `errors[]`)."""
    if code in RETRIABLE_CODES:
        return Outcome.RETRY
    if code in GONE_CODES and write.id is not None:
        return Outcome.GONE
    return Outcome.REFUSED


def failed(write: Write, exc: CarnetError) -> WriteResult:
    """A write whose call failed as a whole (or was not made, after a stop)."""
    if isinstance(exc, BudgetExhausted):
        outcome = Outcome.BUDGET
    elif isinstance(exc, RetriableError):
        outcome = Outcome.RETRY
    elif isinstance(exc, MaybeApplied):
        outcome = Outcome.MAYBE_APPLIED
    else:  # refused: the credentials, the mapping, the request
        outcome = Outcome.REFUSED
    return WriteResult(write.key, outcome, id=write.id, error=str(exc))


def jsonable(values: dict[str, Any]) -> dict[str, Any]:
    """Field values as Salesforce's JSON takes them (datetimes in UTC ISO form)."""
    out: dict[str, Any] = {}
    for k, v in values.items():
        if isinstance(v, datetime):
            v = v.isoformat(timespec="milliseconds")
        elif isinstance(v, date):
            v = v.isoformat()
        elif isinstance(v, Decimal):
            v = float(v)
        out[k] = v
    return out
