"""What the HubSpot adapter does beyond the shared contract, against the HubSpot stand-in through
hubspot-api-client: retries (POST included) and rate limits, the 10,000 search cap, archived
records, merges, deal stage status, the daily budget, 401s, describe and batch writes.
"""

from __future__ import annotations

import socket
import ssl
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import trustme
from hubspot import HubSpot
from hubspot.crm.properties import PropertyCreate

from adapters.hubspot.adapter import HubSpotAdapter
from adapters.hubspot.api import retry_after_s
from adapters.hubspot.assoc import inline_ids, primary_first
from adapters.hubspot.pull import epoch_ms, mark_last, merged_losers, stage_statuses
from connector.core.config import HubSpotSource
from connector.core.errors import AuthError, BudgetExhausted, FatalError, RetriableError
from connector.core.http import MAX_ATTEMPTS, WindowLimiter
from connector.core.records import Page, RawRecord, Write
from sandbox.core import Clock
from sandbox.hubspot import HubSpotStandIn
from sandbox.server import Served, serve
from tests.contract.cases.hubspot import CASE
from tests.contract.hubspot_fixtures import ApiException, small_world

MakeAdapter = Callable[..., HubSpotAdapter]
SEARCH = "POST /crm/v3/objects/{objectType}/search"


# -- fixtures ------------------------------------------------------------------------------------


class Portal:
    """A HubSpot stand-in of its own (small_world: 150 contacts, one merge, deals in both
    pipelines) served on loopback for one test, with its admin endpoints at hand."""

    def __init__(self, **options: Any):
        self.clock = Clock()
        self.standin = HubSpotStandIn(small_world(), self.clock, **options)
        self.served: Served = serve(self.standin)
        self.url = self.served.url

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        resp = requests.request(method, f"{self.url}/__sandbox/{path}", json=body, timeout=10)
        resp.raise_for_status()
        return resp.json() if resp.content else None

    def faults(self, **spec: Any) -> None:
        self.admin("POST", "faults", spec)

    def calls(self, route: str | None = None) -> int:
        stats = self.admin("GET", "stats")
        return int(stats["calls"].get(route, 0) if route else stats["total"])

    def edit(self, obj: str, record_id: str, **props: Any) -> None:
        self.admin("POST", f"records/{obj}", {"id": record_id, "properties": props})

    def ids(self, obj: str) -> list[str]:
        return sorted((str(r["id"]) for r in self.admin("GET", f"records/{obj}")), key=int)


@pytest.fixture
def portal_factory() -> Iterator[Callable[..., Portal]]:
    started: list[Portal] = []

    def make(**options: Any) -> Portal:
        started.append(Portal(**options))
        return started[-1]

    yield make
    for p in started:
        p.served.stop()


@pytest.fixture
def portal(portal_factory: Callable[..., Portal]) -> Portal:
    return portal_factory()


@pytest.fixture
def make_adapter(tmp_path: Path) -> Iterator[MakeAdapter]:
    made: list[HubSpotAdapter] = []

    def make(portal: Portal, sleep: Callable[[float], None] = time.sleep, **kw: Any) -> Any:
        token = tmp_path / f"token-{uuid.uuid4().hex}"
        token.write_text(f"pat-na1-{uuid.uuid4()}\n")
        settings = HubSpotSource(base_url=portal.url, token_file=token, **kw)
        made.append(HubSpotAdapter(settings, settings.secret, sleep=sleep))
        return made[-1]

    yield make
    for a in made:
        a.close()


def pull(adapter: HubSpotAdapter, obj: str, cursor: str | None, full: bool) -> list[Page]:
    return list(adapter.pull(CASE.spec(obj), cursor, full))


def records(pages: list[Page]) -> list[RawRecord]:
    return [r for p in pages for r in p.records]


def last_cursor(pages: list[Page], before: str | None = None) -> str | None:
    return next((p.cursor for p in reversed(pages) if p.cursor is not None), before)


def unthrottled(adapter: HubSpotAdapter) -> HubSpotAdapter:
    """Lift the client-side limiters (for tests of paging, not of pacing)."""
    adapter.api.window = WindowLimiter(100_000, 10.0)
    adapter.api.search_window = WindowLimiter(100_000, 1.0)
    return adapter


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


# -- budget and credentials ----------------------------------------------------------------------


def test_the_budget_share_stops_a_pull_cleanly(
    portal_factory: Callable[..., Portal], make_adapter: MakeAdapter
) -> None:
    portal = portal_factory(daily_limit=20)
    adapter = make_adapter(portal, api_budget_share=0.5)
    full = pull(adapter, "contacts", None, True)  # 4 calls
    for cid in portal.ids("contacts")[:3]:
        portal.edit("contacts", cid, jobtitle="budget")
    got: list[Page] = []
    with pytest.raises(BudgetExhausted, match="10 of 20"):
        for obj in ["contacts", "deals", "companies", "calls"]:
            for page in adapter.pull(CASE.spec(obj), last_cursor(full), False):
                got.append(page)
    assert portal.calls() == 10 and adapter.usage().used == 10 and adapter.usage().limit == 20
    assert got and got[0].records  # what was read before the stop is kept


def test_a_daily_429_is_a_budget_stop_not_a_retry(
    portal_factory: Callable[..., Portal], make_adapter: MakeAdapter
) -> None:
    portal = portal_factory(daily_limit=3)
    raw = HubSpot(access_token="someone-else", host=portal.url)
    for _ in range(3):
        raw.crm.owners.owners_api.get_page()
    adapter = make_adapter(portal, sleep=lambda s: pytest.fail("a DAILY 429 is not retried"))
    with pytest.raises(BudgetExhausted, match="DAILY"):
        pull(adapter, "owners", None, True)
    assert portal.calls() == 4


def test_a_refused_token_is_read_again_once_then_final(
    portal: Portal, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter(portal, sleep=lambda s: None)
    portal.faults(once=["expire"])
    assert records(pull(adapter, "owners", None, True))  # one 401: the token is read again
    token = adapter.settings.secret("token")
    portal.standin.expired[token] = portal.clock.now()
    before = portal.calls()
    with pytest.raises(AuthError) as exc:
        pull(adapter, "owners", None, True)
    assert portal.calls() == before + 2 and token not in str(exc.value)


def _adapter_at(url: str, tmp_path: Path, ca_file: Path | None = None) -> HubSpotAdapter:
    token = tmp_path / "token"
    token.write_text("pat-na1-tls\n")
    settings = HubSpotSource(base_url=url, token_file=token, ca_file=ca_file)
    return HubSpotAdapter(settings, settings.secret, sleep=lambda s: None)


def test_tls_to_a_private_ca_needs_its_ca_file(tmp_path: Path) -> None:
    ca = trustme.CA()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(tls)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    served = serve(HubSpotStandIn(small_world()), tls=tls)
    trusted = _adapter_at(served.url, tmp_path, ca_file)
    untrusted = _adapter_at(served.url, tmp_path)
    try:
        assert "email" in trusted.describe("contacts")
        with pytest.raises(FatalError, match="not trusted"):  # final at once, not retried
            untrusted.describe("contacts")
        assert untrusted.usage().calls == 1
    finally:
        trusted.close()
        untrusted.close()
        served.stop()


def test_an_unreachable_portal_is_retried_then_given_up(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    adapter = _adapter_at(f"http://127.0.0.1:{port}", tmp_path)
    with pytest.raises(RetriableError, match="could not be reached"):
        pull(adapter, "owners", None, True)
    assert adapter.usage().calls == MAX_ATTEMPTS
    adapter.close()


# -- describe and push ---------------------------------------------------------------------------


def test_describe_tells_writable_and_custom_properties(
    portal: Portal, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter(portal)
    HubSpot(access_token="admin", host=portal.url).crm.properties.core_api.create(
        "contacts",
        PropertyCreate(name="carnet_strength", label="Strength", type="number",
                       field_type="number", group_name="contactinformation"),
    )  # fmt: skip
    fields = adapter.describe("contacts")
    assert fields["jobtitle"].writable and fields["jobtitle"].type == "string"
    assert not fields["lastmodifieddate"].writable and fields["lastmodifieddate"].type == "datetime"
    assert fields["carnet_strength"].custom and not fields["email"].custom
    assert set(adapter.describe("owners")) >= {"email", "firstName", "lastName", "teams"}


def test_push_batches_100_a_call_and_reports_each_write(
    portal: Portal, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter(portal, sleep=lambda s: None)
    ids = portal.ids("contacts")[:101]
    writes = [
        Write("contacts", cid, {"jobtitle": f"T{i}"}, key=f"k{i}") for i, cid in enumerate(ids)
    ]
    portal.faults(once=["partial"])
    results = adapter.push(writes)
    assert portal.calls("POST /crm/v3/objects/{objectType}/batch/update") == 2
    assert [r.key for r in results] == [w.key for w in writes]
    failed = [r for r in results if not r.ok]
    assert len(failed) == 1 and failed[0].retriable and "internal error" in str(failed[0].error)
    stored = {r["id"]: r["properties"]["jobtitle"] for r in portal.admin("GET", "records/contacts")}
    assert all(stored[r.id] == f"T{i}" for i, r in enumerate(results) if r.ok)


def test_push_creates_and_reports_refusals_per_batch(
    portal: Portal, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter(portal, sleep=lambda s: None)
    first = portal.ids("companies")[0]
    writes = [
        Write("companies", None, {"name": "New One", "numberofemployees": 12}, key="a"),
        Write("companies", None, {"name": "New Two", "domain": None}, key="b"),
        Write("deals", portal.ids("deals")[0], {"amount": "not a number"}, key="c"),
        Write("companies", first, {"description": "kept"}, key="d"),
    ]
    results = {r.key: r for r in adapter.push(writes)}
    assert results["a"].ok and results["b"].ok and results["d"].ok
    assert results["a"].id and results["a"].id != results["b"].id
    assert not results["c"].ok and not results["c"].retriable and results["c"].error
    names = {r["id"]: r["properties"].get("name") for r in portal.admin("GET", "records/companies")}
    assert names[str(results["a"].id)] == "New One"
    assert portal.calls("POST /crm/v3/objects/{objectType}/batch/create") == 1
