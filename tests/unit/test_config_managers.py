"""`web.managers` with "crm": managers from the CRM's user hierarchy. Accepted beside emails and
groups; a misspelt entry, or "crm" under `web.admins`, is refused naming the file, line and key
(exit code 2 from the command line); without it, nothing changes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.core.config import load_config
from connector.core.errors import ConfigError
from tests.conftest import run_carnet


def write(tmp_path: Path, managers: str, admins: str = "[]") -> Path:
    (tmp_path / "oidc.secret").write_text("s", encoding="utf-8")
    text = (
        "version: 1\nweb:\n  oidc:\n    issuer: https://idp.example\n    client_id: carnet\n"
        f"    client_secret_file: oidc.secret\n  admins: {admins}\n  managers: {managers}\n"
    )
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_crm_beside_emails_and_groups(tmp_path: Path) -> None:
    web = load_config(write(tmp_path, '[crm, Lea@US.example, "group:Sales Leads"]')).web
    assert web is not None and web.managers_from_crm
    assert web.managers == ["crm", "lea@us.example", "group:Sales Leads"]
    plain = load_config(write(tmp_path, "[lea@us.example]")).web
    assert plain is not None and not plain.managers_from_crm


@pytest.mark.parametrize(
    ("managers", "admins", "key", "message"),
    [
        ("[CRM]", "[]", "web.managers",
         "'CRM': expected an email, group:NAME or 'crm' (managers from the CRM's user hierarchy)"),
        ("[lea@us.example, hierarchy]", "[]", "web.managers",
         "'hierarchy': expected an email, group:NAME or 'crm'"),
        ("[]", "[crm]", "web.admins", "'crm': the CRM's hierarchy names managers only"),
        ("crm", "[]", "web.managers", "Input should be a valid list"),
    ],
)  # fmt: skip
def test_a_bad_entry_names_its_key(
    tmp_path: Path, managers: str, admins: str, key: str, message: str
) -> None:
    path = write(tmp_path, managers, admins)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    [line] = exc.value.lines()
    assert line.startswith(f"{path}:") and f": {key}: " in line and message in line, line


def test_the_command_line_exits_2_with_one_clear_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[lea@us.example, crm-hierarchy]")
    done = run_carnet("status", "--config", str(path))
    assert done.returncode == 2, done.stderr
    assert ": web.managers: " in done.stderr and "'crm-hierarchy'" in done.stderr
    assert "Traceback" not in done.stderr
