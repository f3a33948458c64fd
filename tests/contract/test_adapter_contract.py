"""The one contract every adapter passes against its sandbox stand-in, through its real client.

Each adapter has a case module in tests/contract/cases/ (see cases/base.py). The suite pulls
every object fully and incrementally, sees changes and deletions, and survives injected faults.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest

from connector.core.protocols import Adapter
from connector.core.records import Page, RawRecord
from tests.contract.cases.base import Case, admin

SOURCES = ["salesforce", "hubspot", "exchange"]


def _case(source: str) -> Case:
    try:
        module = importlib.import_module(f"tests.contract.cases.{source}")
    except ModuleNotFoundError as exc:
        if exc.name == f"tests.contract.cases.{source}":
            pytest.skip(f"no contract case for {source} yet")
        raise
    case: Case = module.CASE
    return case


@pytest.fixture(params=SOURCES)
def case(request: pytest.FixtureRequest) -> Case:
    return _case(str(request.param))


@pytest.fixture
def adapter(case: Case, fresh_sandbox: Any) -> Iterator[Adapter]:
    a = case.adapter(fresh_sandbox)
    yield a
    a.close()


def pull(
    adapter: Adapter, case: Case, obj: str, cursor: str | None, full: bool
) -> tuple[list[Page], str | None]:
    pages = list(adapter.pull(case.spec(obj), cursor, full))
    last = cursor
    for p in pages:
        if p.cursor is not None:
            last = p.cursor
    return pages, last


def records(pages: list[Page]) -> list[RawRecord]:
    return [r for p in pages for r in p.records]


def test_full_pull_returns_every_live_record_once(
    case: Case, adapter: Adapter, fresh_sandbox: Any
) -> None:
    for obj in case.objects:
        pages, cursor = pull(adapter, case, obj, None, full=True)
        live = [r for r in records(pages) if not r.deleted and r.merged_into is None]
        ids = [r.id for r in live]
        assert len(ids) == len(set(ids)), f"{obj}: a record came twice in one pull"
        assert set(ids) == case.live_ids(fresh_sandbox, obj), obj
        assert all(len(p.records) <= case.page_size(obj) for p in pages)
        assert pages and pages[-1].done
        assert cursor is not None, f"{obj}: a full pull leaves a cursor"


def test_incremental_pull_sees_exactly_the_changes(
    case: Case, adapter: Adapter, fresh_sandbox: Any
) -> None:
    obj = (
        case.objects[-1]
        if case.source == "exchange"
        else next(o for o in case.objects if "ontact" in o)
    )
    _, cursor = pull(adapter, case, obj, None, full=True)
    changed = case.change(fresh_sandbox, obj, 5)
    deleted = case.delete(fresh_sandbox, obj)
    pages, _ = pull(adapter, case, obj, cursor, full=False)
    got = records(pages)
    assert changed <= {r.id for r in got if not r.deleted}
    assert deleted in {r.id for r in got if r.deleted}
    # what comes back beyond the changes is only the small overlap window, never the whole object
    assert len({r.id for r in got}) < len(case.live_ids(fresh_sandbox, obj)) or len(changed) >= 5


def test_a_pull_survives_injected_faults(case: Case, adapter: Adapter, fresh_sandbox: Any) -> None:
    obj = case.objects[-1]
    clean, _ = pull(adapter, case, obj, None, full=True)
    spec = {"rate": 0.2, "kinds": ["429", "500"], "once": ["expire"], "seed": 7}
    admin(fresh_sandbox, case.source, "POST", "faults", spec)
    try:
        faulty, _ = pull(adapter, case, obj, None, full=True)
    finally:
        admin(fresh_sandbox, case.source, "POST", "faults", {})
    assert {r.id for r in records(faulty)} == {r.id for r in records(clean)}


def test_describe_knows_the_mapped_fields(case: Case, adapter: Adapter) -> None:
    if case.source == "exchange":
        pytest.skip("Graph has no describe; its mapping is checked offline only")
    for obj in case.objects:
        fields = adapter.describe(obj)
        missing = [f for f in case.spec(obj).fields if f not in fields and not f.startswith("_")]
        assert not missing, f"{obj}: {missing}"
