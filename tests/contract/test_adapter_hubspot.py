"""What the HubSpot adapter does beyond the shared contract, against the HubSpot stand-in through
hubspot-api-client: retries (POST included) and rate limits, the 10,000 search cap, archived
records, merges, deal stage status, the daily budget, 401s, describe and batch writes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hubspot import HubSpot

from adapters.hubspot.api import retry_after_s
from adapters.hubspot.assoc import inline_ids, primary_first
from adapters.hubspot.pull import epoch_ms, mark_last, merged_losers, stage_statuses
from connector.core.errors import BudgetExhausted
from connector.core.records import Page, RawRecord
from tests.contract.cases.hubspot import CASE
from tests.contract.hubspot_adapter_kit import (
    SEARCH,
    MakeAdapter,
    Portal,
    last_cursor,
    make_adapter,
    portal,
    portal_factory,
    pull,
    records,
    unthrottled,
)
from tests.contract.hubspot_fixtures import ApiException

__all__ = ["make_adapter", "portal", "portal_factory"]  # the fixtures


# -- pure parts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"Retry-After": "0"}, 0.0),
        ({"X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}, 1.0),
        ({"X-HubSpot-RateLimit-Interval-Milliseconds": "60000"}, 6.0),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # an HTTP-date gone by: now
        ({}, 1.0),
        ({"X-HubSpot-RateLimit-Interval-Milliseconds": "1000"}, 0.5),
    ],
)
def test_the_wait_a_429_asks_for(headers: dict[str, str], wait: float) -> None:
    assert retry_after_s(headers) == wait


def test_stage_status_comes_from_stage_metadata_not_from_ids() -> None:
    pipelines = {
        "results": [
            {"id": "default", "stages": [
                {"id": "closedwon", "metadata": {"isClosed": "false", "probability": "1.0"}},
                {"id": "x1", "metadata": {"isClosed": "true", "probability": "1.0"}},
                {"id": "x2", "metadata": {"isClosed": "true", "probability": "0.0"}},
                {"id": "x3", "metadata": {"isClosed": "true", "probability": "0.5"}},
            ]},
            {"id": "9911", "stages": [
                {"id": "x1", "metadata": {"isClosed": "false", "probability": "0.3"}},
            ]},
        ]
    }  # fmt: skip
    table = stage_statuses(pipelines)
    assert table[("default", "closedwon")] == "open"
    assert table[("default", "x1")] == "won" and table[("9911", "x1")] == "open"
    assert table[("default", "x2")] == "lost" and table[("default", "x3")] == "lost"


def test_merged_losers_and_association_order() -> None:
    when = datetime(2024, 1, 1, tzinfo=UTC)
    survivor = RawRecord("7", {"hs_merged_object_ids": "3;5;3;7"}, modstamp=when)
    losers = merged_losers(survivor)
    assert [(r.id, r.merged_into, r.deleted) for r in losers] == [
        ("3", "7", True),
        ("5", "7", True),
    ]
    assert merged_losers(RawRecord("8", {"hs_merged_object_ids": None})) == []
    assert primary_first([("1", False), ("2", True), ("1", False)]) == ["2", "1"]
    assert primary_first([("30", False), ("4", False), ("100", True)]) == ["100", "4", "30"]
    row = {"associations": {"companies": {"results": [
        {"id": "11", "type": "contact_to_company_unlabeled"},
        {"id": "12", "type": "contact_to_company_unlabeled"},
        {"id": "12", "type": "contact_to_company"},
    ]}}}  # fmt: skip
    assert inline_ids(row, "companies") == ["12", "11"]
    assert inline_ids(row, "deals") == []
    paged = {"associations": {"contacts": {"results": [], "paging": {"next": {"after": "9"}}}}}
    assert inline_ids(paged, "contacts") is None
    assert epoch_ms("2024-01-01T00:00:00.250Z") == 1_704_067_200_250 == epoch_ms("1704067200250")


def test_a_pull_that_stops_still_gives_the_pages_it_read() -> None:
    def pages() -> Iterator[Page]:
        yield Page([RawRecord("1", {})], "10")
        yield Page([RawRecord("2", {})], "20")
        raise BudgetExhausted("spent")

    got: list[Page] = []
    with pytest.raises(BudgetExhausted):
        got.extend(mark_last(pages(), None))
    assert [p.cursor for p in got] == ["10", "20"] and not any(p.done for p in got)
    done = list(mark_last(iter([Page([], None), Page([], None)]), lambda: "30"))
    assert [(p.cursor, p.done) for p in done] == [(None, False), ("30", True)]
    assert [(p.cursor, p.done) for p in mark_last(iter([]), lambda: "0")] == [("0", True)]


# -- retries and pacing --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["429", "429-no-retry-after"])
def test_a_429_is_waited_out_and_retried(
    portal: Portal, make_adapter: MakeAdapter, kind: str
) -> None:
    waits: list[float] = []
    adapter = make_adapter(portal, sleep=waits.append)
    portal.faults(once=[kind])
    assert {r.id for r in records(pull(adapter, "owners", None, True))}
    assert waits == [1.0]  # Retry-After: 1, or a tenth of the 10 s window when it is missing
    assert portal.calls("GET /crm/v3/owners") == 3  # 429, its retry, the archived owners


def test_a_post_search_is_retried_like_any_call(portal: Portal, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(portal, sleep=lambda s: None)
    portal.faults(once=["503", "429"])  # the first call of a full pass is a search
    pages = pull(adapter, "contacts", None, True)
    assert portal.calls(SEARCH) == 3
    cursor = last_cursor(pages)
    changed = portal.ids("contacts")[:3]
    for i, cid in enumerate(changed):
        portal.edit("contacts", cid, jobtitle=f"Retried {i}")
    portal.faults(rate=0.4, kinds=["429", "500", "503"], seed=3)
    before = portal.calls()
    faulty = pull(adapter, "contacts", cursor, False)
    portal.faults()
    middle = portal.calls()
    clean = pull(adapter, "contacts", cursor, False)
    assert {r.id for r in records(faulty)} == {r.id for r in records(clean)} >= set(changed)
    assert middle - before > portal.calls() - middle  # faults met, and retried


def test_the_limiter_keeps_a_burst_under_the_window(
    portal_factory: Callable[..., Portal], make_adapter: MakeAdapter
) -> None:
    portal = portal_factory(per_10s=5)
    raw = HubSpot(access_token="no-limiter", host=portal.url)
    for _ in range(5):
        raw.crm.owners.owners_api.get_page()
    with pytest.raises(ApiException) as refused:  # without a limiter the 6th call is refused
        raw.crm.owners.owners_api.get_page()
    assert refused.value.status == 429
    waits: list[float] = []
    adapter = make_adapter(portal, sleep=waits.append, requests_per_10s=5)
    started = time.monotonic()
    for _ in range(3):
        pull(adapter, "owners", None, True)  # 6 calls: 4 in the first window, 2 in the next
    assert time.monotonic() - started >= 9.5
    assert waits == []  # never a 429 to wait out
    assert portal.calls("GET /crm/v3/owners") == 6 + 6


def test_search_is_paced_at_four_a_second(portal: Portal, make_adapter: MakeAdapter) -> None:
    waits: list[float] = []
    adapter = make_adapter(portal, sleep=waits.append)
    raw = HubSpot(access_token="no-limiter", host=portal.url)
    with pytest.raises(ApiException) as refused:  # HubSpot's own limit: 5 a second
        for _ in range(6):
            raw.crm.contacts.search_api.do_search({"limit": 1})
    assert refused.value.status == 429 and b"SECONDLY" in refused.value.body.encode()
    started = time.monotonic()
    for _ in range(12):
        adapter.api.search("contacts", [], "lastmodifieddate", None, ["email"], limit=1)
    assert time.monotonic() - started >= 2.0 and waits == []
    assert portal.calls(SEARCH) == 6 + 12


# -- the 10,000 search cap -----------------------------------------------------------------------


def _bulk_contacts(portal: Portal, n: int, stamp: Callable[[int], datetime]) -> set[str]:
    """n new contacts written straight into the stand-in (cheap), modified at stamp(i)."""
    store, made = portal.standin.store, set()
    with portal.standin.lock:
        for i in range(n):
            values: dict[str, str | None] = {"email": f"b{i}@cap.example", "lastname": f"B{i}"}
            made.add(store.create("contacts", values, at=stamp(i), check=False).id)
    return made


@pytest.mark.parametrize(
    "ties",
    [
        pytest.param(lambda i: i if not 9_850 <= i < 10_150 else 9_850, id="ties-at-the-cap"),
        pytest.param(lambda i: 0, id="all-one-timestamp"),
    ],
)
def test_the_search_cap_is_crossed_without_gap_or_duplicate(
    portal_factory: Callable[..., Portal], make_adapter: MakeAdapter, ties: Callable[[int], int]
) -> None:
    portal = portal_factory(per_10s=100_000, search_per_second=10_000)
    adapter = unthrottled(make_adapter(portal))
    base = portal.clock.now() + timedelta(hours=1)
    made = _bulk_contacts(portal, 10_300, lambda i: base + timedelta(milliseconds=ties(i)))
    cursor = str(int(base.timestamp() * 1000))
    pages = pull(adapter, "contacts", cursor, False)
    ids = [r.id for r in records(pages)]
    assert len(ids) == len(set(ids)) == len(made) and set(ids) == made
    assert 52 <= portal.calls(SEARCH) <= 105  # past the cap, without re-reading the window
    cursors = [int(p.cursor) for p in pages if p.cursor is not None]
    assert cursors == sorted(cursors) and cursors[-1] == epoch_ms(
        (base + timedelta(milliseconds=max(ties(i) for i in range(10_300)))).isoformat()
    )


# -- archived records, merges, deal stages -------------------------------------------------------


def test_archived_records_are_tombstones(portal: Portal, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(portal)
    first, second, third = portal.ids("companies")[:3]
    portal.admin("DELETE", f"records/companies/{first}")
    portal.clock.offset = timedelta(hours=2)  # an old deletion, a newer change, a full pass
    portal.edit("companies", third, description="two hours later")
    full = pull(adapter, "companies", None, True)
    assert {r.id for r in records(full) if r.deleted} == {first}
    assert all(p.full for p in full) and full[-1].done and full[-1].cursor is not None
    assert all(p.cursor is None for p in full[:-1])  # only a finished pass moves the cursor
    portal.admin("DELETE", f"records/companies/{second}")
    later = records(pull(adapter, "companies", last_cursor(full), False))
    assert [r.id for r in later if r.deleted] == [second]  # the old deletion is not read again
    assert later[0].modstamp is not None and later[0].modstamp > portal.clock.now() - timedelta(
        minutes=1
    )


def test_a_merge_tombstones_the_loser_pointing_at_the_survivor(
    portal: Portal, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter(portal)
    full = pull(adapter, "contacts", None, True)
    seeded = [r for r in records(full) if r.merged_into]
    assert len(seeded) == 1 and seeded[0].deleted  # small_world's merge, seen on a full pass
    live = [r.id for r in records(full) if not r.deleted]
    assert seeded[0].merged_into in live and seeded[0].id not in live
    winner, loser = portal.ids("contacts")[20:22]
    portal.admin("POST", "merge/contacts", {"winner": winner, "loser": loser})
    got = records(pull(adapter, "contacts", last_cursor(full), False))
    gone = {r.id: r.merged_into for r in got if r.deleted}
    assert gone == {loser: winner}
    assert winner in {r.id for r in got if not r.deleted}


def test_deal_stage_status_follows_the_pipelines(portal: Portal, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(portal)
    full = pull(adapter, "deals", None, True)
    status = {r.id: r.fields["_stage_status"] for r in records(full)}
    assert set(status.values()) == {"open", "won", "lost"}
    deals = portal.ids("deals")
    moves = {deals[0]: ("138276405", "won"), deals[1]: ("138276406", "lost"),
             deals[2]: ("138276402", "open")}  # fmt: skip  # "Enterprise Renewals" stages
    for deal, (stage, _) in moves.items():
        portal.edit("deals", deal, pipeline="75342518", dealstage=stage)
    calls = portal.calls("GET /crm/v3/pipelines/{objectType}")
    changed = {r.id: r for r in records(pull(adapter, "deals", last_cursor(full), False))}
    assert {d: changed[d].fields["_stage_status"] for d in moves} == {
        d: s for d, (_, s) in moves.items()
    }
    assert portal.calls("GET /crm/v3/pipelines/{objectType}") == calls + 1  # once a pull
    # associations read in batch on an incremental page equal the inline ones of the full pass
    before = {r.id: r.associations for r in records(full)}
    assert all(changed[d].associations == before[d] for d in moves)
    assert all(changed[d].associations["companies"] for d in moves)


def test_a_change_during_a_full_pass_is_not_lost(portal: Portal, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(portal)
    ids = portal.ids("contacts")
    pages = adapter.pull(CASE.spec("contacts"), None, True)
    got = [next(pages)]  # the first 100, in id order
    portal.edit("contacts", ids[0], jobtitle="Changed while the pass ran")
    portal.clock.offset = timedelta(hours=1)
    portal.edit("contacts", ids[-1], jobtitle="Changed an hour later, not yet listed")
    got += list(pages)
    later = {r.id for r in records(pull(adapter, "contacts", last_cursor(got), False))}
    assert {ids[0], ids[-1]} <= later
