"""The sandbox runner: the faults spec parser, the config it writes (checked by Carnet's own
loader), and the three stand-ins it serves, started, reset, faulted, stopped and signalled.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
import trustme

from connector.core.config import load_config
from sandbox.core import Faults
from sandbox.runner import (
    NAMES,
    Credentials,
    Sandbox,
    main,
    parse_faults,
    start,
    write_config,
)
from sandbox.seed import generate
from tests.sandbox_fixture import admin, admin_session, reset_sandbox, sandbox_stats

REPO = Path(__file__).resolve().parents[2]
URL_KEYS = {"salesforce", "hubspot", "graph", "login", "ca_file", "config"}


# -- the faults spec ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            '{"rate":0.2,"kinds":["429","500"],"seed":1}',
            {"rate": 0.2, "kinds": ["429", "500"], "seed": 1},
        ),
        ("429,500@0.2", {"rate": 0.2, "kinds": ["429", "500"]}),
        (" expire , partial @ 1 #7", {"rate": 1.0, "kinds": ["expire", "partial"], "seed": 7}),
        (
            "429-no-retry-after,503,slow@0.05",
            {"rate": 0.05, "kinds": ["429-no-retry-after", "503", "slow"]},
        ),
        ('{"once": ["expire"]}', {"once": ["expire"]}),
        (
            '{"rate": 0.5, "kinds": ["slow"], "slow_ms": 50}',
            {"rate": 0.5, "kinds": ["slow"], "slow_ms": 50},
        ),
    ],
)
def test_faults_spec_parses_json_and_the_short_form(spec: str, expected: dict[str, Any]) -> None:
    parsed = parse_faults(spec)
    assert parsed == expected
    Faults.parse(parsed)  # what the stand-ins' POST /__sandbox/faults accepts


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "neither a JSON object nor"),
        ("500", "neither a JSON object nor"),
        ("500@0.1@0.2", "neither a JSON object nor"),
        ("418@0.2", r"unknown fault kinds \['418'\]"),
        ("@0.2", r"unknown fault kinds \[''\]"),
        ("500@2", "from 0 to 1"),
        ("500@nan", "from 0 to 1"),
        ("500@abc", "rate 'abc' is not a number"),
        ("500@0.2#x", "seed 'x' is not a number"),
        ('{"rate": 0.5}', "needs at least one kind"),
        (
            '{"rate": 0.5, "kinds": ["500"], "colour": "red"}',
            r"unknown faults settings \['colour'\]",
        ),
        ('{"rate": true, "kinds": ["500"]}', "rate must be a number"),
        ('{"rate": "0.5", "kinds": ["500"]}', "rate must be a number"),
        ('{"kinds": "500"}', "'kinds' must be a list"),
        ('{"once": ["reboot"]}', r"unknown fault kinds \['reboot'\]"),
        ('{"kinds": ["500"], "seed": "1"}', "'seed' must be an integer"),
    ],
)
def test_bad_faults_specs_raise_one_clear_value_error(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_faults(spec)


# -- credentials and the config file --------------------------------------------------------------
def test_credentials_are_random_looking_but_fixed_per_seed() -> None:
    one, again, two = Credentials.for_seed(1), Credentials.for_seed(1), Credentials.for_seed(2)
    assert one == again and one != two
    guid = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    assert guid.match(one.tenant_id) and guid.match(one.graph_client_id)
    assert one.salesforce_client_id.startswith("3MVG9") and len(one.salesforce_client_id) == 85
    assert re.fullmatch(r"[0-9A-F]{64}", one.salesforce_client_secret)
    assert one.hubspot_token.startswith("pat-na1-")


def _written_config(tmp_path: Path) -> tuple[Path, dict[str, str], Credentials]:
    urls = {
        "salesforce": "https://127.0.0.1:1001",
        "hubspot": "http://127.0.0.1:1002",
        "graph": "https://127.0.0.1:1003",
        "login": "https://127.0.0.1:1003",
    }
    trustme.CA().cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    creds = Credentials.for_seed(5)
    write_config(tmp_path / "config.yaml", urls, creds, "# test\n")
    return tmp_path / "config.yaml", urls, creds


def test_the_config_passes_carnets_own_loader_with_secrets_in_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CARNET_DATABASE_URL", raising=False)
    path, urls, creds = _written_config(tmp_path)
    config = load_config(path)
    sources = config.sources
    assert sources.salesforce and sources.hubspot and sources.exchange
    assert sources.salesforce.login_url == urls["salesforce"]
    assert sources.salesforce.secret("client_secret") == creds.salesforce_client_secret
    assert sources.salesforce.ca_file == tmp_path / "ca.pem"
    assert sources.hubspot.base_url == urls["hubspot"]
    assert sources.hubspot.secret("token") == creds.hubspot_token
    assert sources.exchange.authority == f"{urls['login']}/{creds.tenant_id}"
    assert sources.exchange.graph_url == urls["graph"]
    assert sources.exchange.secret("client_secret") == creds.graph_client_secret
    assert config.database_url == f"sqlite:///{tmp_path}/carnet.db"
    text = path.read_text()
    assert creds.hubspot_token not in text and creds.salesforce_client_secret not in text
    assert (tmp_path / "secrets" / "hubspot_token").stat().st_mode & 0o077 == 0


def test_carnet_database_url_overrides_the_sqlite_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _, _ = _written_config(tmp_path)
    monkeypatch.setenv("CARNET_DATABASE_URL", "postgresql://carnet@127.0.0.1/carnet")
    assert load_config(path).database_url == "postgresql://carnet@127.0.0.1/carnet"


# -- the running sandbox --------------------------------------------------------------------------
def test_start_serves_three_standins_behind_the_config(sandbox: Sandbox) -> None:
    urls = sandbox.urls
    assert set(urls) == URL_KEYS
    assert urls["salesforce"].startswith("https://127.0.0.1:")
    assert urls["hubspot"].startswith("http://127.0.0.1:")
    assert urls["graph"].startswith("https://127.0.0.1:") and urls["login"] == urls["graph"]
    assert Path(urls["ca_file"]).read_text().startswith("-----BEGIN CERTIFICATE-----")
    config = load_config(urls["config"])
    assert config.sources.salesforce and config.sources.hubspot and config.sources.exchange
    assert config.sources.salesforce.login_url == urls["salesforce"]
    assert config.sources.hubspot.base_url == urls["hubspot"]
    assert config.sources.exchange.graph_url == urls["graph"]
    assert sandbox.world.seed == 1 and sandbox.world.scale == 0.01
    assert {s.standin.name for s in sandbox.served.values()} == set(NAMES)
    assert all(s.standin.clock is sandbox.clock for s in sandbox.served.values())


def test_stats_answer_on_all_three_and_count_calls(fresh_sandbox: Sandbox) -> None:
    assert sandbox_stats(fresh_sandbox) == {n: {"calls": {}, "total": 0} for n in NAMES}
    creds = fresh_sandbox.credentials
    with admin_session(fresh_sandbox) as http:
        assert http.get(fresh_sandbox.urls["salesforce"] + "/services/data").ok
        hubspot = http.get(
            fresh_sandbox.urls["hubspot"] + "/crm/v3/objects/contacts",
            params={"limit": 1},
            headers={"Authorization": f"Bearer {creds.hubspot_token}"},
        )
        token = http.post(
            f"{fresh_sandbox.urls['login']}/{creds.tenant_id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": creds.graph_client_id,
                "client_secret": creds.graph_client_secret,
                "scope": "https://graph.microsoft.com/.default",
            },
        )
    assert hubspot.ok and hubspot.json()["results"]
    assert token.ok and token.json()["access_token"]
    stats = sandbox_stats(fresh_sandbox)
    assert all(stats[n]["total"] == 1 for n in NAMES), stats
    reset_sandbox(fresh_sandbox)
    assert all(s["total"] == 0 for s in sandbox_stats(fresh_sandbox).values())


@pytest.mark.parametrize(
    ("name", "obj", "id_key", "merge"),
    [
        ("salesforce", "Contact", "Id", True),
        ("hubspot", "contacts", "id", True),
        ("graph", "contacts", "id", False),
    ],
)
def test_the_standins_never_change_the_world_they_share(
    fresh_sandbox: Sandbox, name: str, obj: str, id_key: str, merge: bool
) -> None:
    records = admin(fresh_sandbox, name, "GET", f"/__sandbox/records/{obj}").json()
    ids = [r[id_key] for r in records[:3]]
    if merge:
        admin(
            fresh_sandbox,
            name,
            "POST",
            f"/__sandbox/merge/{obj}",
            {"winner": ids[0], "loser": ids[1]},
        )
    admin(fresh_sandbox, name, "DELETE", f"/__sandbox/records/{obj}/{ids[2]}")
    assert len(admin(fresh_sandbox, name, "GET", f"/__sandbox/records/{obj}").json()) < len(records)
    assert fresh_sandbox.world == generate(1, 0.01)
    reset_sandbox(fresh_sandbox)
    assert len(admin(fresh_sandbox, name, "GET", f"/__sandbox/records/{obj}").json()) == len(
        records
    )


def test_initial_faults_reach_every_standin(tmp_path: Path) -> None:
    with start(seed=4, scale=0.01, faults="500@1.0", workdir=tmp_path) as running:
        for name in NAMES:
            faults = admin(running, name, "GET", "/__sandbox/faults").json()
            assert faults == {"rate": 1.0, "kinds": ["500"], "once": [], "seed": 4}
        with admin_session(running) as http:
            failed = http.get(
                running.urls["hubspot"] + "/crm/v3/objects/contacts",
                headers={"Authorization": f"Bearer {running.credentials.hubspot_token}"},
            )
        assert failed.status_code == 500
    assert (tmp_path / "config.yaml").exists()  # a given workdir is kept


def test_stop_closes_the_ports_and_removes_the_temp_folder() -> None:
    running = start(seed=2, scale=0.01)
    folder = running.workdir
    assert (folder / "config.yaml").exists() and (folder / "ca.pem").exists()
    running.stop()
    running.stop()  # idempotent
    assert not folder.exists()
    with pytest.raises(requests.ConnectionError):
        requests.get(running.urls["hubspot"] + "/__sandbox/stats", timeout=2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"options": {"zendesk": {}}}, "unknown stand-in options"), ({"faults": "500"}, "neither")],
)
def test_start_refuses_bad_arguments_before_serving(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        start(seed=1, scale=0.01, **kwargs)


def test_main_exits_2_on_a_bad_faults_spec(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--faults", "418@0.5"]) == 2
    assert "unknown fault kinds" in capsys.readouterr().err


# -- serving until a signal -----------------------------------------------------------------------
def _first_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            raise AssertionError(f"no JSON line within {timeout}s")
    return proc.stdout.readline()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_one_json_line_and_stops_cleanly_on_a_signal(
    tmp_path: Path, sig: signal.Signals
) -> None:
    config_out = tmp_path / "out" / "carnet.yaml"
    command = [sys.executable, "-m", "sandbox.runner", "--config-out", str(config_out)]
    with subprocess.Popen(
        command,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    ) as proc:
        try:
            urls = json.loads(_first_line(proc, timeout=60))
            assert set(urls) == URL_KEYS and urls["config"] == str(config_out)
            assert Path(urls["ca_file"]).parent == config_out.parent
            stats = requests.get(urls["hubspot"] + "/__sandbox/stats", timeout=5)
            assert stats.json() == {"calls": {}, "total": 0}
            proc.send_signal(sig)
            assert proc.wait(timeout=20) == 0, proc.stderr.read() if proc.stderr else ""
        finally:
            if proc.poll() is None:
                proc.kill()
    assert config_out.exists()  # a --config-out file outlives the sandbox
    with pytest.raises(requests.ConnectionError):
        requests.get(urls["hubspot"] + "/__sandbox/stats", timeout=2)


@pytest.mark.slow
def test_scale_one_starts_with_its_records_and_no_call_counted(tmp_path: Path) -> None:
    """(How long it takes to be ready is a benchmark's: `python -m bench salesforce_pull`.)"""
    with start(seed=1, scale=1.0, workdir=tmp_path) as running:
        stats = sandbox_stats(running)
        contacts = admin(running, "hubspot", "GET", "/__sandbox/records/contacts").json()
    assert all(s["total"] == 0 for s in stats.values())
    assert len(contacts) > 5000
