"""The CLI as a user runs it: init, status, bad configs (exit 2, one line per problem), and
commands not built yet (exit 2, saying so)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_carnet

BAD_CONFIGS = {
    "missing": (None, ["{path}: file not found"]),
    "yaml-syntax": ("version: 1\nsharing:\n  scope: [team\n", ["{path}:4: YAML syntax error"]),
    "unknown-key": (
        "version: 1\nsharing:\n  scop: team\n",
        ["{path}:3: sharing.scop: unknown key"],
    ),
    "wrong-type": (
        "version: 1\ncredits:\n  percent: lots\n",
        ["{path}:3: credits.percent: Input should be a valid number"],
    ),
    "inline-secret": (
        "version: 1\nsources:\n  hubspot:\n    token_file: tok\n    token: pat-na1-5ecret\n",
        ["{path}:5: sources.hubspot.token: inline secrets are not allowed"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_status_on_a_bad_config_exits_2_naming_file_and_key(tmp_path: Path, case: str) -> None:
    text, expected = BAD_CONFIGS[case]
    path = tmp_path / "config.yaml"
    if text is not None:
        path.write_text(text)
        (tmp_path / "tok").write_text("x")
    result = run_carnet("--config", str(path), "status")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == len(expected), result.stderr
    for line, want in zip(lines, expected, strict=True):
        assert line.startswith("error: " + want.format(path=path)), line
    assert "Traceback" not in result.stderr
    assert "5ecret" not in result.stderr + result.stdout
    assert result.stdout == ""


def test_init_writes_the_example_then_status_reports_the_store(tmp_path: Path) -> None:
    result = run_carnet("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "config.yaml").exists()
    assert (tmp_path / "carnet.db").exists()
    result = run_carnet("status", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["store"]["initialised"] is True
    assert doc["store"]["migration"] == doc["store"]["migration_head"]
    assert doc["counts"]["members"] == 0
    assert set(doc["sources"]) == {"salesforce", "hubspot", "exchange"}
    again = run_carnet("init", "--json", cwd=tmp_path)
    assert json.loads(again.stdout)["config_written"] is False


def test_status_before_init_says_so(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("version: 1\n")
    result = run_carnet("status", "--json", cwd=tmp_path)
    assert result.returncode == 0
    assert json.loads(result.stdout)["store"]["initialised"] is False


def test_postgresql_store_through_the_environment(tmp_path: Path, pg_database: str) -> None:
    (tmp_path / "config.yaml").write_text("version: 1\n")
    env = {"CARNET_DATABASE_URL": pg_database}
    assert run_carnet("init", cwd=tmp_path, env=env).returncode == 0
    doc = json.loads(run_carnet("status", "--json", cwd=tmp_path, env=env).stdout)
    assert doc["store"]["backend"] == "postgresql"
    assert doc["store"]["initialised"] is True
    assert not (tmp_path / "carnet.db").exists()


def test_an_unknown_option_is_a_usage_error(tmp_path: Path) -> None:
    result = run_carnet("status", "--bogus", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_an_unreachable_database_is_reported_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(
        "version: 1\ndatabase_url: sqlite:///no/such/folder/c.db\n"
    )
    result = run_carnet("status", cwd=tmp_path)
    assert result.returncode == 2
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr
