"""Benchmark of `mappings.apply.apply` alone: the packaged Salesforce mapping over every record of
the sandbox's seeded world, shaped as the adapter pulls them (records/s per object, no I/O).

Run as `python -m bench mapping_apply` or `python -m bench.bench_mapping_apply [--scale S]
[--profile OBJECT]` (the second prints a cProfile of applying that object's records).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time

from adapters.salesforce.records import raw_record, select_fields
from connector.core.records import RawRecord
from mappings.apply import apply
from mappings.loader import default_path, load_mapping
from mappings.schema import Mapping
from sandbox.salesforce import SalesforceStandIn
from sandbox.seed import generate

TARGET_RATE = 50_000  # Contacts mapped per second
ROUNDS = 3  # best of


def pulled(mapping: Mapping, scale: float) -> dict[str, list[RawRecord]]:
    """Every object's records as the adapter would pull them: only the SELECTed fields."""
    standin = SalesforceStandIn(generate(1, scale))
    out: dict[str, list[RawRecord]] = {}
    for obj in mapping.objects:
        wanted = select_fields(mapping.spec(obj, available=None))
        rows = standin.admin_records(obj)
        out[obj] = [raw_record({f: row.get(f) for f in wanted}) for row in rows]
    return out


def rate(mapping: Mapping, obj: str, records: list[RawRecord]) -> float:
    """Records per second, the best of ROUNDS passes."""
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for raw in records:
            apply(mapping, obj, raw)
        best = min(best, time.perf_counter() - started)
    return len(records) / best if best > 0 else float("inf")


def profile(mapping: Mapping, obj: str, records: list[RawRecord]) -> None:
    prof = cProfile.Profile()
    prof.enable()
    for raw in records:
        apply(mapping, obj, raw)
    prof.disable()
    pstats.Stats(prof, stream=sys.stdout).sort_stats("tottime").print_stats(25)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_mapping_apply")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--profile", metavar="OBJECT")
    args = parser.parse_args(argv if argv is not None else [])
    mapping = load_mapping(default_path("salesforce"), "salesforce")
    records = pulled(mapping, args.scale)
    total, seconds = 0, 0.0
    for obj, recs in records.items():
        per_second = rate(mapping, obj, recs)
        total += len(recs)
        seconds += len(recs) / per_second
        print(f"{obj:<24} {len(recs):>7} records {per_second:>10,.0f} records/s")
    print(f"{'all':<24} {total:>7} records {total / seconds:>10,.0f} records/s")
    contacts = rate(mapping, "Contact", records["Contact"])
    verdict = "PASS" if contacts >= TARGET_RATE else "FAIL"
    print(f"{verdict}  mapping Contacts: {contacts:,.0f} records/s (target >= {TARGET_RATE:,})")
    if args.profile:
        profile(mapping, args.profile, records[args.profile])
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
