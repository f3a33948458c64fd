"""The Salesforce stand-in and adapters on it, and helpers the test_adapter_salesforce* modules
share."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters.salesforce.adapter import SalesforceAdapter
from connector.core.records import Page, RawRecord
from tests.contract.cases.base import admin
from tests.contract.cases.salesforce import CASE

Make = Callable[..., SalesforceAdapter]


@pytest.fixture
def sf(fresh_sandbox: Any) -> Iterator[Any]:
    """The Salesforce stand-in itself, its org options put back after the test."""
    standin = fresh_sandbox.salesforce.standin
    saved = standin.daily_limit, standin.bulk_enabled
    yield standin
    standin.daily_limit, standin.bulk_enabled = saved


@pytest.fixture
def make(fresh_sandbox: Any) -> Iterator[Make]:
    """Adapters on the sandbox (settings overridable) that do not sleep between retries."""
    made: list[SalesforceAdapter] = []

    def build(batch_size: int = 2000, **overrides: Any) -> SalesforceAdapter:
        adapter = CASE.adapter(fresh_sandbox, **overrides)
        adapter.batch_size = batch_size
        adapter.client.sleep = lambda s: None
        made.append(adapter)
        return adapter

    yield build
    for adapter in made:
        adapter.close()


def calls(sandbox: Any) -> dict[str, int]:
    stats = admin(sandbox, "salesforce", "GET", "stats")["calls"]
    return {k.replace("/services/data/v{version}", ""): v for k, v in stats.items()}


def faults(sandbox: Any, spec: dict[str, Any]) -> None:
    admin(sandbox, "salesforce", "POST", "faults", spec)


def pull_all(adapter: SalesforceAdapter, obj: str, cursor: str | None = None) -> list[Page]:
    return list(adapter.pull(CASE.spec(obj), cursor, cursor is None))


def records(pages: list[Page]) -> list[RawRecord]:
    return [r for p in pages for r in p.records]


def last_cursor(pages: list[Page]) -> str:
    return [p.cursor for p in pages if p.cursor][-1]


def rsa_key(folder: Path) -> tuple[Path, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = folder / "server.key"
    path.write_bytes(pem)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return path, public
