"""A wrong credential, as a user meets it: the stand-ins refuse it as the services do (Salesforce
400 invalid_client, HubSpot 401 INVALID_AUTHENTICATION, Entra 401 AADSTS7000215) and `carnet`
says so in one line naming the config file, line, source and setting, exit 2, no traceback.
Client credentials aimed at Salesforce's generic login host are stopped by the config check
before any call. Each runs on both store backends.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from sandbox.runner import SECRET_FILES, Sandbox
from tests.conftest import fresh_db_url, run_carnet
from tests.e2e.test_writeback_world import private_config
from tests.sandbox_fixture import reset_sandbox, sandbox_stats

CASES = [  # source, its stand-in, the setting that names the secret file, what the service said
    ("salesforce", "salesforce", "client_secret_file", "invalid_client invalid client credentials"),
    ("hubspot", "hubspot", "token_file", "401 INVALID_AUTHENTICATION"),
    ("exchange", "graph", "client_secret_file", "AADSTS7000215"),
]
WRONG = "wrong-secret-0123456789"


def line_of(config: Path, source: str, key: str) -> int:
    """The 1-based line of `sources.<source>.<key>` in the config, read plainly."""
    lines = config.read_text().splitlines()
    section = lines.index(f"  {source}:")
    return next(i + 1 for i in range(section, len(lines)) if lines[i].startswith(f"    {key}:"))


def carnet(config: Path, url: str, *args: str) -> tuple[int, list[str]]:
    done = run_carnet("--config", str(config), *args, env={"CARNET_DATABASE_URL": url})
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stderr.splitlines()


@pytest.mark.parametrize(("source", "standin", "key", "said"), CASES)
def test_a_wrong_secret_is_one_line_naming_source_and_setting(
    sandbox: Sandbox,
    backend: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    source: str,
    standin: str,
    key: str,
    said: str,
) -> None:
    reset_sandbox(sandbox)
    config = private_config(sandbox, tmp_path)
    (tmp_path / SECRET_FILES[standin]).write_text(WRONG + "\n")
    url = fresh_db_url(backend, tmp_path, request)
    assert carnet(config, url, "init")[0] == 0
    code, lines = carnet(config, url, "sync", "--source", source)
    assert code == 2
    (line,) = lines
    assert line.startswith(
        f"error: {config}:{line_of(config, source, key)}: sources.{source}.{key}: "
    )
    assert said in line and WRONG not in line


def test_client_credentials_on_the_generic_host_stop_before_any_call(
    sandbox: Sandbox, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    reset_sandbox(sandbox)
    config = private_config(
        sandbox, tmp_path, salesforce={"login_url": "https://login.salesforce.com"}
    )
    url = fresh_db_url(backend, tmp_path, request)
    code, lines = carnet(config, url, "sync", "--source", "salesforce")
    assert code == 2
    (line,) = lines
    where = line_of(config, "salesforce", "login_url")
    assert line.startswith(f"error: {config}:{where}: sources.salesforce.login_url: ")
    assert "client credentials need the org's My Domain" in line
    assert sandbox_stats(sandbox)["salesforce"]["total"] == 0


def test_the_generated_config_logs_in_on_my_domain(sandbox: Sandbox) -> None:
    doc = YAML().load(Path(sandbox.config_file).read_text())
    section = doc["sources"]["salesforce"]
    assert section["auth"] == "client_credentials"
    assert section["login_url"] == sandbox.salesforce.url  # the stand-in's My Domain listener
    assert sandbox.salesforce_login is not None
    assert sandbox.salesforce_login.url != sandbox.salesforce.url
