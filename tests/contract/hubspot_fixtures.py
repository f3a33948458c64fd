"""The hand-made world and fixtures the HubSpot stand-in's contract tests share: one stand-in
served per module, reset before each test, and a client with a token of its own per test.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.contacts import (
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
)

from sandbox.hubspot import HubSpotStandIn
from sandbox.server import Served, serve
from sandbox.world import (
    HUBSPOT,
    SALESFORCE,
    Account,
    Activity,
    Contact,
    ContactRole,
    Member,
    Merge,
    Opportunity,
    World,
)

# Each generated package of the client has its own ApiException; these are the ones used here.
ApiException = tuple(
    importlib.import_module(f"hubspot.crm.{pkg}.exceptions").ApiException
    for pkg in (
        "contacts",
        "companies",
        "deals",
        "owners",
        "properties",
        "pipelines",
        "associations.v4",
        "objects.notes",
        "objects.calls",
    )
)
BOTH = {SALESFORCE, HUBSPOT}
N_CONTACTS = 150
RATE_HEADERS = ("X-HubSpot-RateLimit-Max", "X-HubSpot-RateLimit-Remaining",
                "X-HubSpot-RateLimit-Interval-Milliseconds", "X-HubSpot-RateLimit-Daily",
                "X-HubSpot-RateLimit-Daily-Remaining")  # fmt: skip


DOMAINS = ("acme", "beta", "gamma")


def small_world() -> World:
    """Three accounts, 150 contacts (two of them merged), deals in every kind of stage."""
    w = World(seed=7, scale=0.0)
    w.members = [
        Member("m1", "Ann", "Lee", "Ann.Lee@ours.example", "EMEA Enterprise", "DE", "AE"),
        Member("m2", "Bob", "Ray", "bob@ours.example", "NA Enterprise", "US", "AE"),
        Member("m3", "Cy", "Old", "cy@ours.example", "NA Enterprise", "US", "AE", active=False),
        Member("m4", "Sf", "Only", "sf@ours.example", "APAC", "JP", "AE", crms={SALESFORCE}),
    ]
    w.accounts = [
        Account("a1", "Acme GmbH", "acme.example", "DE", "Technology", "m1", crms=BOTH),
        Account("a2", "Beta Bank", "beta.example", "US", "Banking", "m2", "a1", crms=BOTH),
        Account("a3", "Gamma KK", "gamma.example", "JP", "Retail", "m1", crms=BOTH),
        Account("a4", "SF only", "sf.example", "JP", "Retail", "m1"),
    ]
    w.contacts = [
        Contact(f"c{i}", f"First{i}", f"Last{i}", f"c{i}@{DOMAINS[i % 3]}.example",
                "VP Sales" if i % 5 == 0 else "Engineer", "vp" if i % 5 == 0 else "staff",
                "DE" if i % 3 == 0 else "US", f"a{i % 3 + 1}", "m1" if i % 2 else "m2",
                phone=f"+49 30 {i:04d}", crms=BOTH, age_days=float(i % 40))
        for i in range(N_CONTACTS)
    ]  # fmt: skip
    w.contacts.append(
        Contact("cx", "Sf", "Only", "sfonly@x.example", "CEO", "c_level", "JP", "a4", "m4")
    )
    stages = [
        ("Prospecting", False, False),
        ("Negotiation/Review", False, False),
        ("Closed Won", True, True),
        ("Closed Lost", True, False),
    ]
    w.opportunities = [
        Opportunity(f"o{i}", f"Deal {i}", f"a{i % 3 + 1}", "m1", 1000.0 * (i + 1), "EUR",
                    stage, closed, won, -5.0 if closed else 30.0,
                    [ContactRole(f"c{i}", "Decision Maker", True),
                     ContactRole(f"c{i + 3}", "Influencer")],
                    crms=BOTH)
        for i, (stage, closed, won) in enumerate(stages * 2)
    ]  # fmt: skip
    w.activities = [
        Activity(f"x{i}", kind, f"{kind} {i}", "m1", f"c{i}", 2.0 + i, crms=BOTH)
        for i, kind in enumerate(["call", "email", "meeting", "task"] * 3)
    ]
    w.merges = [Merge(HUBSPOT, "contacts", "c10", "c11")]
    return w


def served_fixture() -> Iterator[Served]:
    """The stand-in on small_world(), served on an ephemeral port (module scope)."""
    s = serve(HubSpotStandIn(small_world()))
    yield s
    s.stop()


def hs_fixture(served: Served) -> HubSpotStandIn:
    """The served stand-in, reset through its admin endpoint before the test."""
    requests.post(f"{served.url}/__sandbox/reset", timeout=5).raise_for_status()
    assert isinstance(served.standin, HubSpotStandIn)
    return served.standin


def client_fixture(served: Served, hs: HubSpotStandIn) -> HubSpot:
    """A client with a token of its own (the 10-second window is per token)."""
    return HubSpot(access_token=f"pat-{uuid.uuid4().hex}", host=served.url)


def install_fixtures() -> tuple[Any, Any, Any]:
    """(served, hs, client) fixtures for a test module to bind to those names."""
    return (
        pytest.fixture(scope="module", name="served")(served_fixture),
        pytest.fixture(name="hs")(hs_fixture),
        pytest.fixture(name="client")(client_fixture),
    )


def error_of(exc: pytest.ExceptionInfo[Any]) -> dict[str, Any]:
    body = json.loads(exc.value.body)
    assert isinstance(body, dict)
    return body


def contact_id(hs: HubSpotStandIn, key: str) -> str:
    return hs.ids[("contacts", key)]


def search(client: HubSpot, groups: list[list[dict[str, Any]]], **kw: Any) -> Any:
    request = PublicObjectSearchRequest(
        filter_groups=[FilterGroup(filters=[Filter(**f) for f in g]) for g in groups], **kw
    )
    return client.crm.contacts.search_api.do_search(request)
