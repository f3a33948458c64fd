"""The HubSpot adapter beyond the shared contract, continued: the daily budget, refused tokens,
TLS to a private CA, an unreachable portal, describe and batch writes.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from pathlib import Path

import pytest
import trustme
from hubspot import HubSpot
from hubspot.crm.properties import PropertyCreate

from adapters.hubspot.adapter import HubSpotAdapter
from connector.core.config import HubSpotSource
from connector.core.errors import AuthError, BudgetExhausted, FatalError, RetriableError
from connector.core.http import MAX_ATTEMPTS
from connector.core.records import Page, Write
from sandbox.hubspot import HubSpotStandIn
from sandbox.server import serve
from tests.contract.cases.hubspot import CASE
from tests.contract.hubspot_adapter_kit import (
    MakeAdapter,
    Portal,
    last_cursor,
    make_adapter,
    portal,
    portal_factory,
    pull,
    records,
)
from tests.contract.hubspot_fixtures import small_world

__all__ = ["make_adapter", "portal", "portal_factory"]  # the fixtures


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
