"""The describe cache of `carnet sync` (connector/sync_describes.py), on both stores: a sync hands
its adapter the describes it knows, read from the CRM again on a --full sync, when the mapping
changed, when a day old, and (an hour old) when they lack the mapping's outbound fields; the
adapters answer `describe` from them without a call."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.hubspot.adapter import HubSpotAdapter
from connector.core.config_sources import HubSpotSource, SourceBase
from connector.core.errors import FatalError
from connector.core.protocols import Adapter, known_describes, with_describes
from connector.core.records import FieldInfo
from connector.store.models import SyncState
from connector.sync_describes import DESCRIBE_STATE, described, prepare
from mappings.loader import default_path, load_mapping
from mappings.schema import Mapping

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Describing:
    """An adapter that only describes: every object has the mapping's fields plus `extra`."""

    def __init__(self, mapping: Mapping, missing: frozenset[str] = frozenset()) -> None:
        self.mapping, self.missing = mapping, missing
        self.described: Counter[str] = Counter()
        self.opened = self.closed = 0
        self.fail: set[str] = set()

    def describe(self, obj: str) -> dict[str, FieldInfo]:
        self.described[obj] += 1
        if obj in self.fail:
            raise FatalError(f"{obj} describe refused")
        names = [*self.mapping.spec(obj).fields, *self.mapping.outbound_fields(obj), "Extra"]
        return {n: FieldInfo(n, "string", True) for n in names if n not in self.missing}

    def close(self) -> None:
        self.closed += 1

    def opener(self, source: str, settings: SourceBase) -> Adapter:
        self.opened += 1
        return self  # type: ignore[return-value]  # what prepare calls of an adapter


@pytest.fixture
def mapping() -> Mapping:
    return load_mapping(default_path("hubspot"), "hubspot")


def settings() -> HubSpotSource:
    return HubSpotSource(token_env="CARNET_TEST_NO_TOKEN")


def run(
    session: Session, mapping: Mapping, crm: Describing, now: datetime, full: bool = False
) -> SourceBase:
    return prepare(session, "hubspot", settings(), mapping, crm.opener, now, full=full)


def test_the_first_sync_reads_and_stores_them_and_the_next_reads_none(
    session: Session, mapping: Mapping
) -> None:
    crm = Describing(mapping)
    first = run(session, mapping, crm, T0)
    wanted = described(mapping)
    assert wanted and crm.described == Counter(wanted) and crm.opened == crm.closed == 1
    handed = known_describes(first)
    assert set(handed) == set(wanted)
    assert "Extra" in handed[wanted[0]]
    stored = session.scalar(
        select(SyncState.cursor).where(
            SyncState.source == "hubspot", SyncState.object == DESCRIBE_STATE
        )
    )
    assert stored and wanted[0] in stored

    crm.described.clear()
    again = run(session, mapping, crm, T0 + timedelta(hours=23))
    assert crm.described == Counter() and crm.opened == 1  # no adapter opened at all
    assert known_describes(again) == handed


def test_a_full_sync_a_changed_mapping_and_a_day_read_them_again(
    session: Session, mapping: Mapping
) -> None:
    crm = Describing(mapping)
    run(session, mapping, crm, T0)
    wanted = Counter(described(mapping))

    crm.described.clear()
    run(session, mapping, crm, T0 + timedelta(minutes=5), full=True)
    assert crm.described == wanted

    crm.described.clear()
    changed = mapping.model_copy(update={"cursor": "createdate"})
    assert changed.model_dump_json() != mapping.model_dump_json()
    run(session, changed, crm, T0 + timedelta(minutes=10))
    assert crm.described == wanted
    crm.described.clear()
    run(session, changed, crm, T0 + timedelta(minutes=11))
    assert crm.described == Counter()

    crm.described.clear()
    run(session, changed, crm, T0 + timedelta(minutes=10, days=1))
    assert crm.described == wanted


def test_without_the_outbound_fields_the_pull_describes_until_an_hour_has_passed(
    session: Session, mapping: Mapping
) -> None:
    obj = next(o for o in described(mapping) if mapping.outbound_fields(o))
    outbound = next(iter(mapping.outbound_fields(obj)))
    crm = Describing(mapping, missing=frozenset({outbound}))  # `carnet install` not run yet
    first = run(session, mapping, crm, T0)
    assert obj in known_describes(first)  # just read: handed on as it is

    crm.described.clear()
    later = run(session, mapping, crm, T0 + timedelta(minutes=30))
    assert crm.described == Counter() and obj not in known_describes(later)  # the pull asks

    crm.missing = frozenset()  # installed since
    crm.described.clear()
    run(session, mapping, crm, T0 + timedelta(minutes=61))
    assert crm.described[obj] == 1
    crm.described.clear()
    after = run(session, mapping, crm, T0 + timedelta(minutes=62))
    assert crm.described == Counter() and outbound in known_describes(after)[obj]


def test_a_describe_that_fails_is_left_to_the_pull(session: Session, mapping: Mapping) -> None:
    crm = Describing(mapping)
    failing = described(mapping)[0]
    crm.fail = {failing}
    handed = known_describes(run(session, mapping, crm, T0))
    assert failing not in handed and set(handed) == set(described(mapping)) - {failing}
    crm.fail = set()
    crm.described.clear()
    run(session, mapping, crm, T0 + timedelta(minutes=1))
    assert crm.described == Counter({failing: 1})


def test_the_adapter_answers_from_the_describes_it_is_handed(mapping: Mapping) -> None:
    crm = Describing(mapping)
    obj = described(mapping)[0]
    handed = {obj: crm.describe(obj)}
    from_settings = with_describes(settings(), handed)
    adapter = HubSpotAdapter(from_settings, lambda name: "token")
    try:
        assert adapter.describe(obj) == handed[obj]
        assert adapter.usage().calls == 0
    finally:
        adapter.close()
