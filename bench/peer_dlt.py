"""The peer of `bench_peer`: dlt merging the objects of Carnet's mapping of a CRM, with the fields
Carnet's adapter asks for, from the running stand-in into a fresh SQLite database (dlt's
sqlalchemy destination), each object a resource with the merge write disposition on its primary
key, handed one page at a time.

Reading the CRM is in bench/peer_sf.py (simple-salesforce, logged in the way Carnet's adapter logs
in) and bench/peer_hs.py (hubspot-api-client); only the CRM's own module is imported.

Run in a process of its own by `bench_peer` (so its CPU and memory are its own):
`python -m bench.peer_dlt [--crm salesforce|hubspot] --config CONFIG --db FILE --work FOLDER`
prints `{table: rows}` as JSON.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

import dlt

READERS = {"salesforce": "bench.peer_sf", "hubspot": "bench.peer_hs"}


def run(crm: str, config: str, db: Path, work: Path) -> dict[str, int]:
    """Load every mapped object of `crm`; the rows each table holds afterwards."""
    reader = importlib.import_module(READERS[crm])
    resources = [
        dlt.resource(pages, name=name, write_disposition="merge", primary_key=key)
        for name, key, pages in reader.tables(config)
    ]
    pipeline = dlt.pipeline(
        pipeline_name=f"bench_peer_{crm}",
        pipelines_dir=str(work / "pipelines"),
        destination=dlt.destinations.sqlalchemy(credentials=f"sqlite:///{db}"),
        dataset_name=crm,
    )
    info = pipeline.run(resources)
    info.raise_on_failed_jobs()
    counts = {}
    with pipeline.sql_client() as sql:
        for resource in resources:
            rows = sql.execute_sql(f"SELECT COUNT(*) FROM {resource.name}")
            counts[resource.name] = int(rows[0][0]) if rows else 0
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peer_dlt")
    parser.add_argument("--crm", choices=sorted(READERS), default="salesforce")
    parser.add_argument("--config", required=True)
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--work", required=True, type=Path)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.crm, args.config, args.db, args.work)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
