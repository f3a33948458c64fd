"""The peer benchmark gives dlt the fields Carnet's own pull selects, and measures what it runs."""

from __future__ import annotations

import sys
from collections.abc import Collection

import pytest

from adapters.hubspot.pull import wanted_props
from adapters.salesforce.records import select_fields
from bench.peer_hs import mapped_props
from bench.peer_sf import mapped_fields
from bench.procs import measure
from connector.ingest.feed import object_spec
from mappings.loader import load_mapping, mapping_path
from mappings.schema import Mapping


class Describing:
    """An adapter whose describe names `fields` on every object, and counts what it was asked."""

    def __init__(self, fields: Collection[str]):
        self.fields = list(fields)
        self.asked: list[str] = []

    def describe(self, obj: str) -> dict[str, object]:
        self.asked.append(obj)
        return dict.fromkeys(self.fields)


@pytest.fixture(scope="module")
def mapping() -> Mapping:
    return load_mapping(mapping_path("salesforce", None), "salesforce")


@pytest.fixture(scope="module")
def hubspot() -> Mapping:
    return load_mapping(mapping_path("hubspot", None), "hubspot")


@pytest.mark.parametrize("org_has", [[], ["Carnet_Owner_Rating__c", "Carnet_Strength__c"]])
def test_the_peer_selects_what_carnet_pulls(mapping: Mapping, org_has: list[str]) -> None:
    ours, peers = Describing(org_has), Describing(org_has)
    given = mapped_fields(mapping, peers.describe)
    wanted = {
        obj: select_fields(object_spec(ours, mapping, obj))  # type: ignore[arg-type]
        for obj in mapping.objects
    }
    assert given == wanted
    assert list(given) == list(mapping.objects)
    assert peers.asked == ours.asked  # describes only what Carnet describes
    assert {"Id", "SystemModstamp", "IsDeleted", "Email"} <= set(given["Contact"])
    assert ("Carnet_Owner_Rating__c" in given["Contact"]) == bool(org_has)


@pytest.mark.parametrize("portal_has", [[], ["carnet_owner_rating", "carnet_strength"]])
def test_the_hubspot_peer_asks_what_carnet_asks(hubspot: Mapping, portal_has: list[str]) -> None:
    ours, peers = Describing(portal_has), Describing(portal_has)
    given = mapped_props(hubspot, peers.describe)
    for obj in hubspot.objects:
        spec = object_spec(ours, hubspot, obj)  # type: ignore[arg-type]
        assert given[obj] == (wanted_props(spec), list(spec.associations))
    assert list(given) == list(hubspot.objects)
    assert peers.asked == ours.asked
    assert given["deals"][1] == ["companies", "contacts"]
    assert ("carnet_owner_rating" in given["contacts"][0]) == bool(portal_has)


def test_measure_sees_the_cpu_the_output_and_the_memory() -> None:
    code = "import time; b = bytearray(60 << 20); b[::4096] = b'x' * len(b[::4096]); "
    code += "time.sleep(0.4); print('done')"
    run = measure([sys.executable, "-c", code], memory=True)
    assert run.returncode == 0 and run.stdout.strip() == "done"
    assert run.cpu > 0 and run.wall >= 0.4
    assert run.peak_mb >= 60 and run.together_mb >= 60


def test_measure_leaves_out_a_fork_before_its_exec_but_counts_a_child_that_runs() -> None:
    # the fork shares all the parent's pages until it execs (or, here, never does): not its own
    code = "import os, subprocess, sys, time; b = bytearray(60 << 20); b[::4096] = b'x' * 15360\n"
    code += "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(0.6)'])\n"
    code += "pid = os.fork()\n"
    code += "time.sleep(0.6)\n"
    code += "if pid == 0: os._exit(0)\n"
    code += "os.waitpid(pid, 0); child.wait(); print('done')"
    run = measure([sys.executable, "-c", code], memory=True)
    assert run.returncode == 0 and run.stdout.strip() == "done"
    assert len(run.hwm_kib) == 2  # the process and its exec'd child
    assert run.peak_mb < 60 + 60
