"""Fixtures shared by the unit tests of `carnet sync` (test_scheduler_jobs.py has an `app` of its
own, on a HubSpot-only config)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.store.app import App
from connector.store.migrate import upgrade
from tests.unit.test_sync_fake import write_config


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    """Carnet on a fresh SQLite store, configured for the fake Salesforce (test_sync_fake.py)."""
    carnet = App(write_config(tmp_path))
    upgrade(carnet.engine)
    yield carnet
    carnet.close()
