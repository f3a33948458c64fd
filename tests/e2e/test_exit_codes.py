"""Honest exit codes and complete config errors, end to end (issue 13, section 4): a first sync
of a fresh `carnet sandbox serve` exits 0 (records skipped by rule are warnings, counted, listed
with --verbose), on SQLite and on PostgreSQL; every missing secret of every enabled source is
named at once with the config's line, exit 2, before anything runs; a broken mapping is told in
the admin's words, never pydantic's. (A record the store refuses exits 1:
tests/e2e/test_hostile_refused.py.)"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from connector.store.db import make_engine
from sandbox.runner import Sandbox
from tests.conftest import fresh_db_url, run_carnet
from tests.sandbox_fixture import sandbox_stats

SKIP_RULE = "no valid email, and no name and org"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Path]:
    """`carnet sandbox serve --config-out` as a user starts it; the config it wrote."""
    carnet = Path(sys.executable).parent / "carnet"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARNET_")}
    config = tmp_path / "sandbox" / "config.yaml"
    proc = subprocess.Popen(
        [str(carnet), "sandbox", "serve", "--config-out", str(config)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        urls = json.loads(proc.stdout.readline())
        assert Path(urls["config"]) == config
        yield config
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()


def test_the_first_sync_of_a_fresh_sandbox_exits_0_and_lists_skips_with_verbose(
    served: Path, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    env = {"CARNET_DATABASE_URL": fresh_db_url(backend, tmp_path, request)}
    assert run_carnet("--config", str(served), "init", env=env).returncode == 0
    first = run_carnet("--config", str(served), "sync", "--json", env=env, timeout=300)
    assert first.returncode == 0, first.stderr[-3000:]
    contacts = json.loads(first.stdout)["exchange"]["contacts"]
    assert contacts["skipped_reasons"] == {SKIP_RULE: contacts["skipped"]} and contacts["skipped"]
    assert contacts["refused"] == 0
    warning = f"exchange contacts: skipped {contacts['skipped']}: {SKIP_RULE}"
    assert warning in first.stderr and "--verbose lists them" in first.stderr
    skipped = [r["id"] for r in contacts["skipped_records"]]
    assert not any(record in first.stderr for record in skipped)  # listed with --verbose only

    again = run_carnet("--config", str(served), "sync", "--full", "--verbose", env=env, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert warning in again.stderr
    for record in skipped:
        assert f"  exchange contacts {record}: no email, no org" in again.stderr


def _config_with(source: Path, tmp_path: Path, edit: Any) -> Path:
    """A copy of the sandbox's config in `tmp_path`, changed by `edit(doc)`; its secret and CA
    paths made absolute (they are relative to the sandbox's folder)."""
    yaml = YAML()
    doc = yaml.load(source.read_text(encoding="utf-8"))
    for section in doc["sources"].values():
        for key in [k for k in section if k.endswith("_file")]:
            section[key] = str(source.parent / section[key])
    doc["database_url"] = f"sqlite:///{tmp_path / 'carnet.db'}"
    edit(doc)
    path = tmp_path / "config.yaml"
    with path.open("w", encoding="utf-8") as out:
        yaml.dump(doc, out)
    return path


MISSING = {
    "salesforce": ("client_secret", "TEST_MISSING_SF_SECRET"),
    "hubspot": ("token", "TEST_MISSING_HUBSPOT_TOKEN"),
    "exchange": ("client_secret", "TEST_MISSING_GRAPH_SECRET"),
}


def _secrets_from_env(doc: Any) -> None:
    for name, (secret, variable) in MISSING.items():
        section = doc["sources"][name]
        del section[f"{secret}_file"]
        section[f"{secret}_env"] = variable


@pytest.mark.parametrize("command", [["sync"], ["push"], ["install", "--dry-run"], ["run"]])
def test_every_missing_secret_is_named_with_its_line_before_anything_runs(
    fresh_sandbox: Sandbox, tmp_path: Path, command: list[str]
) -> None:
    config = _config_with(fresh_sandbox.config_file, tmp_path, _secrets_from_env)
    assert run_carnet("--config", str(config), "init").returncode == 0
    before = {name: s["total"] for name, s in sandbox_stats(fresh_sandbox).items()}
    done = run_carnet("--config", str(config), *command, timeout=60)
    assert done.returncode == 2, done.stderr
    lines = config.read_text(encoding="utf-8").splitlines()
    wanted = []
    for name, (secret, variable) in MISSING.items():
        line = next(
            i
            for i, text in enumerate(lines, 1)
            if text.strip().startswith(f"{secret}_env: {variable}")
        )
        wanted.append(
            f"error: {config}:{line}: sources.{name}.{secret}_env: "
            f"environment variable {variable} is not set"
        )
    assert done.stderr.splitlines() == wanted  # all of them, in the file's order, nothing more
    assert {name: s["total"] for name, s in sandbox_stats(fresh_sandbox).items()} == before
    engine = make_engine(f"sqlite:///{tmp_path / 'carnet.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM sync_state").scalar() == 0
    engine.dispose()


BROKEN_MAPPING = """\
version: 1
source: salesforce
cursor: SystemModstamp
objects:
  User:
    kind: member
    filter:
      UserType: {standard: true}
    values:
      email: {from: 12}
      name: {from: [FirstName, Last Name!]}
      team: {from: Department, max_length: lots}
  Contact:
    kind: [person]
    values:
      emails: Email
      title: {from: Title, choices: 7}
    refs:
      org: AccountId
"""
WANTED = [
    (8, "objects.User.filter.UserType", "expected a value (text, a number, true or false) or a "
     "list of values"),
    (10, "objects.User.values.email.from", "expected a field name or a list of field names"),
    (11, "objects.User.values.name.from[1]", "not a field path: 'Last Name!'"),
    (12, "objects.User.values.team.max_length", "expected a whole number"),
    (14, "objects.Contact.kind", "expected one of member, org, person"),
    (17, "objects.Contact.values.title.choices", "expected a list of words, or a table of word: "
     "value"),
    (19, "objects.Contact.refs.org", "expected a table such as {from: AccountId, to: Account}"),
]  # fmt: skip
PYDANTIC = re.compile(r"function-|list\[|dict\[|union\[|Input should|instance of|Field required")


@pytest.mark.parametrize("command", [["mappings", "check"], ["sync"]])
def test_a_broken_mapping_is_told_in_the_admins_words(
    fresh_sandbox: Sandbox, tmp_path: Path, command: list[str]
) -> None:
    mapping = tmp_path / "salesforce.yaml"
    mapping.write_text(BROKEN_MAPPING, encoding="utf-8")

    def use_it(doc: Any) -> None:
        doc["sources"]["salesforce"]["mapping"] = str(mapping)

    config = _config_with(fresh_sandbox.config_file, tmp_path, use_it)
    assert run_carnet("--config", str(config), "init").returncode == 0
    done = run_carnet("--config", str(config), *command, timeout=60)
    assert done.returncode == 2, done.stderr
    said = done.stdout + done.stderr
    assert not PYDANTIC.search(said), said
    for line, key, message in WANTED:
        assert f"{mapping}:{line}: {key}: {message}" in said, said
