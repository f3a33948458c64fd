"""Compiled mapping plans against the rule-by-rule reference: the same MappedRecord (values, refs,
notes, problems, seen) for every packaged mapping's objects, on sandbox records and fuzzed ones."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.salesforce.records import raw_record
from connector.core.records import RawRecord
from mappings import compiled
from mappings.apply import apply
from mappings.compiled import plan_for
from mappings.loader import default_path, load_mapping
from mappings.schema import Mapping, root_field
from sandbox.graph import GraphStandIn
from sandbox.hubspot import HubSpotStandIn
from sandbox.salesforce import SalesforceStandIn
from sandbox.seed import generate
from sandbox.world import World
from tests.unit.mapping_oracle import apply_reference

SOURCES = ("salesforce", "hubspot", "exchange")
MAPPINGS = {s: load_mapping(default_path(s), s) for s in SOURCES}


@pytest.fixture(scope="module")
def world() -> World:
    return generate(7, 0.01)


def sandbox_records(source: str, world: World, obj: str) -> list[RawRecord]:
    """The stand-in's records of `obj`, roughly as its adapter hands them on."""
    if source == "salesforce":
        return [raw_record(r) for r in SalesforceStandIn(world).admin_records(obj)]
    if source == "exchange":
        rows = GraphStandIn(world).admin_records(obj)
        return [RawRecord(r["id"], r, container=r.get("_mailbox")) for r in rows]
    out = []
    for r in HubSpotStandIn(world).admin_records(obj):
        assocs = {k: [a["id"] for a in v["results"]] for k, v in r.get("associations", {}).items()}
        out.append(RawRecord(str(r["id"]), r.get("properties", r), associations=assocs))
    return out


def same(mapping: Mapping, obj: str, raw: RawRecord) -> None:
    want = apply_reference(mapping, obj, raw)
    assert apply(mapping, obj, raw) == want
    assert apply(mapping, obj, raw) == want  # again: what the plan remembered gives the same


@pytest.mark.parametrize("source", SOURCES)
def test_every_packaged_object_on_sandbox_records(source: str, world: World) -> None:
    mapping = MAPPINGS[source]
    for obj in mapping.objects:
        records = sandbox_records(source, world, obj)
        assert records or obj in ("Event",), obj
        for raw in records:
            same(mapping, obj, raw)


# -- fuzzed records -------------------------------------------------------------------------------

TEXT = st.sampled_from(
    [
        "",
        "  ",
        "Jane",
        " Jane.Doe@Example.COM ",
        "mailto:a@b.co",
        "Ann <ann@acme.com>",
        "a@b.co;broken;A@B.co",
        "jane.doe@",
        "Allemagne",
        "Korea, Republic of",
        "Atlantis",
        "Directrice commerciale",
        "VP Sales",
        "Assistant to the CEO",
        "https://www.Acme.de/en",
        "Shared",
        "Villain",
        "Call",
        "true",
        "no",
        "maybe",
        "1,250.50",
        "eur",
        "2024-06-30",
        "2024-02-31",
        "2024-01-02T03:04:05.000+0000",
        "1719705600000",
        "won",
        "closedlost",
        "Standard",
        "PowerPartner",
        "x" * 900,
    ]
)
SCALAR = st.one_of(
    st.none(),
    TEXT,
    st.text(max_size=12),
    st.booleans(),
    st.integers(-10, 10),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)
VALUE = st.one_of(
    SCALAR,
    st.lists(SCALAR, max_size=3),
    st.lists(st.dictionaries(st.sampled_from(["address", "name"]), SCALAR), max_size=3),
    st.dictionaries(st.sampled_from(["name", "x"]), SCALAR, max_size=2),
)
CASES = [(s, obj) for s in SOURCES for obj in MAPPINGS[s].objects]


def fields_read(mapping: Mapping, obj: str) -> list[str]:
    paths = [*mapping.inbound_fields(obj), *mapping.outbound_fields(obj)]
    return sorted({f for p in paths if (f := root_field(p))})


@st.composite
def records(draw: st.DrawFn, mapping: Mapping, obj: str) -> RawRecord:
    fields = {f: draw(VALUE) for f in fields_read(mapping, obj) if draw(st.booleans())}
    assocs = draw(
        st.dictionaries(
            st.sampled_from(["companies", "contacts"]),
            st.lists(st.sampled_from(["1", " ", "2", "1"]), max_size=3),
        )
    )
    return RawRecord(
        draw(st.sampled_from(["1", "003A"])),
        fields,
        deleted=draw(st.booleans()) and draw(st.booleans()),
        merged_into=draw(st.sampled_from([None, None, None, "9"])),
        associations=assocs,
        container=draw(st.sampled_from([None, "", "box"])),
    )


@pytest.mark.parametrize(("source", "obj"), CASES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzzed_records_of_every_packaged_object(
    source: str, obj: str, data: st.DataObject
) -> None:
    mapping = MAPPINGS[source]
    same(mapping, obj, data.draw(records(mapping, obj)))


# -- rules the packaged files do not use ----------------------------------------------------------

ODD = """\
version: 1
source: salesforce
outbound:
  objects:
    Contact:
      Carnet_Strength__c: {value: strongest_strength, type: Number, label: Strength}
objects:
  Account:
    kind: org
    values:
      name: {from: [Name, Legal], transform: join, sep: " / ", default: "?"}
  Contact:
    kind: person
    filter:
      Kind: [Customer, 7, true]
      "Nested.level": Gold
    values:
      emails: {from: [Email, "Others[].address", "Others[0].name"], split: ","}
      first_name: {from: FirstName, default: "  Anon  ", max_length: 5}
      last_name: {first: [LastName, "Alt[1]"], transform: choice, choices: [Doe, Roe]}
      name: {const: "Constant Name", transform: join}
      title: {from: "$id"}
      rating: {from: Rating, min: 2, default: 3}
      stance: {from: Stance, choices: {friend: champion, foe: adversary}}
      country: {first: [Country, CountryCode]}
    refs:
      reports_to: {from: "$container", to: Contact}
      org: {from: "Owner.id", to: Account}
"""


def test_a_mapping_with_every_kind_of_rule(tmp_path: Path) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text(ODD)
    mapping = load_mapping(path, "salesforce")
    base: dict[str, Any] = {
        "Kind": "customer",
        "Nested": {"level": " gold "},
        "Email": "a@b.co, c@d.co ,bad",
        "Others": [{"address": "E@F.co", "name": "g@h.co"}, {"address": None}],
        "FirstName": "Alexandra",
        "Alt": ["x", "roe"],
        "Rating": "1",
        "Stance": "Foe",
        "Country": "Narnia",
        "CountryCode": "fr",
        "Owner": {"id": 5.0},
        "Carnet_Strength__c": 2,
    }
    variants: list[dict[str, Any]] = [
        base,
        {**base, "Kind": 7, "FirstName": "  ", "Rating": None, "Stance": "x"},
        {**base, "Kind": "True", "Email": None, "Others": [], "Alt": []},
        {**base, "Kind": "Prospect"},
        {**base, "Nested": {"level": ["Silver", "GOLD"]}, "Country": None},
        {**base, "Nested": None},
    ]
    for fields in variants:
        for container in (None, "001X"):
            same(mapping, "Contact", RawRecord("003", fields, container=container))
    for account in ({"Name": "A", "Legal": ["B", "C"]}, {"Name": " "}, {"Legal": 4.0}):
        same(mapping, "Account", RawRecord("001", account))


def test_a_plan_is_compiled_once_per_mapping_and_object() -> None:
    mapping = MAPPINGS["salesforce"]
    assert plan_for(mapping, "Contact") is plan_for(mapping, "Contact")
    assert plan_for(mapping, "Contact") is not plan_for(mapping, "Account")
    with pytest.raises(KeyError):
        apply(mapping, "Nope", RawRecord("1", {}))


def test_a_replaced_object_is_compiled_again_and_a_dropped_mapping_forgotten() -> None:
    mapping = load_mapping(default_path("salesforce"), "salesforce")
    before = plan_for(mapping, "Contact")
    mapping.objects["Contact"] = mapping.objects["Contact"].model_copy(deep=True)
    after = plan_for(mapping, "Contact")
    assert after is not before and after.om is mapping.objects["Contact"]
    same(mapping, "Contact", RawRecord("003", {"Email": "a@b.co", "Title": "CEO"}))
    key = (id(mapping), "Contact")
    assert key in compiled._PLANS
    del mapping, before, after
    gc.collect()
    assert key not in compiled._PLANS
