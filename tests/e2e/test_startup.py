"""What a query command loads (issue 16): `carnet who-knows` and `carnet plan show` answer without
importing Alembic (the schema check is a plain query), an adapter, the stand-ins, an HTTP client,
the sync or the write-back; `carnet --help` without even SQLAlchemy. Each runs as `carnet` does,
in a fresh interpreter, which then lists the modules it holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from connector.core.config import Sharing
from connector.store.db import make_engine, session_factory
from connector.store.migrate import upgrade
from tests import governance_world as w

RUN_AND_LIST = """
import gc, json, sys, types
from connector.cli.main import main
listing = sys.argv.pop(1)
sys.argv[0] = "carnet"
try:
    main()
except SystemExit as exc:
    code = exc.code
# the modules still in the generations the collector walks (the rest are frozen), before the
# exit handlers run
walked = sorted(o.__name__ for o in gc.get_objects() if isinstance(o, types.ModuleType))
with open(listing, "w") as f:
    json.dump({"code": code, "modules": sorted(sys.modules), "walked": walked}, f)
"""
# whole packages a query command has no use for; a name is matched with its submodules
NOT_FOR_A_QUERY = (
    "alembic",
    "adapters",
    "sandbox",
    "mappings",
    "requests",
    "urllib3",
    "httpx",
    "uvicorn",
    "starlette",
    "simple_salesforce",
    "zeep",
    "hubspot",
    "msal",
    "fastapi",
    "jinja2",
    "authlib",
    "apscheduler",
    "scheduler",
    "prometheus_client",
    "psycopg",  # the store is SQLite here
    "connector.store.migrate",
    "connector.ingest",
    "connector.sync",
    "connector.writeback",
    "connector.web",
)
# what a query command loads and the collector must not walk again and again: frozen
FROZEN_FOR_A_QUERY = ("sqlalchemy", "pydantic", "typer", "connector.store", "connector.governance")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated store where Bob knows Zoe at Globex, shared."""
    folder = tmp_path_factory.mktemp("startup")
    w.write_config(folder, Sharing(default="discoverable", scope="company"))
    engine = make_engine(f"sqlite:///{folder / 'carnet.db'}")
    upgrade(engine)
    with session_factory(engine)() as s:
        bob = w.member(s, "bob@us.example", "emea", "Bob")
        w.member(s, "ana@us.example", "emea", "Ana")
        globex = w.org(s, "Globex GmbH", ("globex.de",))
        zoe = w.person(s, "zoe@globex.de", globex, "Zoe Ng", "CFO")
        w.rel(s, bob, zoe, rating=4, share="shared")
        s.commit()
    engine.dispose()
    return folder


def loaded(folder: Path, *args: str) -> tuple[int, list[str], str]:
    """Run `carnet ARGS` in a fresh interpreter: its exit code, the modules it held, its stdout."""
    code, modules, _walked, stdout = run_listed(folder, *args)
    return code, modules, stdout


def run_listed(folder: Path, *args: str) -> tuple[int, list[str], list[str], str]:
    """Run `carnet ARGS` in a fresh interpreter: its exit code, the modules it held, those of them
    the garbage collector still walks (not frozen), its stdout."""
    listing = folder / "modules.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARNET_")}
    done = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST, str(listing), *args],
        cwd=folder,
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listing.exists(), done.stderr
    doc = json.loads(listing.read_text())
    listing.unlink()
    return doc["code"], doc["modules"], doc["walked"], done.stdout


def unwanted(modules: list[str], names: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == n or m.startswith(n + ".") for n in names)]


@pytest.mark.parametrize(
    "args",
    [
        ("who-knows", "globex.de", "--as", "ana@us.example"),
        ("plan", "show", "globex.de", "--as", "ana@us.example"),
    ],
    ids=["who-knows", "plan-show"],
)
def test_a_query_command_answers_without_alembic_adapters_or_the_sync(
    folder: Path, args: tuple[str, ...]
) -> None:
    code, modules, stdout = loaded(folder, *args, "--config", str(folder / "config.yaml"))
    assert code in (0, None), stdout
    assert "Zoe Ng" in stdout  # it did answer, from the store
    assert "connector.store.db" in modules and "sqlalchemy.orm" in modules
    assert unwanted(modules, NOT_FOR_A_QUERY) == []


@pytest.mark.parametrize(
    "args",
    [
        ("who-knows", "globex.de", "--as", "ana@us.example"),
        ("who-knows", "globex.de", "--as", "ana@us.example", "--json"),
        ("plan", "show", "globex.de", "--as", "ana@us.example"),
    ],
    ids=["who-knows", "who-knows-json", "plan-show"],
)
def test_what_a_query_command_loads_is_kept_out_of_the_collectors_passes(
    folder: Path, args: tuple[str, ...]
) -> None:
    """The command line's modules and those the command imports (SQLAlchemy, the models, the
    services) are frozen once loaded: a full collection while the answer is drawn would walk
    them all (50-90 ms of a 600 ms who-knows, measured)."""
    code, modules, walked, stdout = run_listed(
        folder, *args, "--config", str(folder / "config.yaml")
    )
    assert code in (0, None), stdout
    assert "Zoe Ng" in stdout
    assert unwanted(modules, FROZEN_FOR_A_QUERY)  # they were loaded
    assert unwanted(walked, FROZEN_FOR_A_QUERY) == []  # and frozen


def test_a_store_behind_is_still_refused_without_alembic(folder: Path, tmp_path: Path) -> None:
    """The cheap check refuses as before: the message, exit 2, and still no Alembic."""
    behind = tmp_path / "behind"
    behind.mkdir()
    w.write_config(behind)
    engine = make_engine(f"sqlite:///{behind / 'carnet.db'}")
    upgrade(engine, "0001")
    engine.dispose()
    listing = behind / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST, str(listing), "who-knows", "globex.de", "--as", "x@y"],
        cwd=behind,
        env={k: v for k, v in os.environ.items() if not k.startswith("CARNET_")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    doc = json.loads(listing.read_text())
    assert doc["code"] == 2
    assert "error: the store is at migration 0001, this Carnet needs" in done.stderr
    assert "run 'carnet init'" in done.stderr
    assert unwanted(doc["modules"], ("alembic",)) == []


def test_help_loads_no_database_layer(folder: Path) -> None:
    code, modules, stdout = loaded(folder, "--help")
    assert code in (0, None)
    assert "who-knows" in stdout
    assert unwanted(modules, (*NOT_FOR_A_QUERY, "sqlalchemy", "connector.store")) == []


def test_a_sync_loads_markdown_it_only_to_draw_a_note() -> None:
    """The sync's and the push's modules load without markdown-it (25-40 ms of every sync's
    start, most of which draw no plan note); the first note drawn loads it."""
    code = (
        "import sys, connector.sync, connector.writeback.push\n"
        "before = 'markdown_it' in sys.modules\n"
        "from connector.writeback.notes import note_html\n"
        "html = note_html('**bold** <b>raw</b>')\n"
        "print(before, 'markdown_it' in sys.modules, html)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split(" ", 2) == [
        "False", "True", "<p><strong>bold</strong> &lt;b&gt;raw&lt;/b&gt;</p>\n"
    ]  # fmt: skip
