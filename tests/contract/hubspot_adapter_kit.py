"""The HubSpot stand-in on a private port, an adapter on it, and helpers the test_adapter_hubspot*
modules share."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from adapters.hubspot.adapter import HubSpotAdapter
from connector.core.config import HubSpotSource
from connector.core.http import WindowLimiter
from connector.core.records import Page, RawRecord
from sandbox.core import Clock
from sandbox.hubspot import HubSpotStandIn
from sandbox.server import Served, serve
from tests.contract.cases.hubspot import CASE
from tests.contract.hubspot_fixtures import small_world

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
