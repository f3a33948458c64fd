"""`carnet mappings check` as a user runs it: a broken mapping exits 2 naming file and line with no
traceback; the packaged mappings pass, offline and --online against the three stand-ins."""

from __future__ import annotations

import uuid
from pathlib import Path

from sandbox.runner import Sandbox
from tests.conftest import run_carnet

BROKEN = """\
version: 1
source: hubspot
objects:
  owners:
    kind: member
    values:
      email: {from: email, transform: emial}
  contacts:
    kind: person
    values:
      emails: email
      emails: hs_additional_emails
      level: {from: jobtitle, transform: level}
    refs:
      org: {from: associatedcompanyid, to: companys}
levels:
  - {level: vp, match: 'vice (president'}
"""


def test_a_broken_mapping_exits_2_naming_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "tok").write_text("pat-x")
    (tmp_path / "broken.yaml").write_text(BROKEN)
    config = tmp_path / "config.yaml"
    config.write_text(
        "version: 1\nsources:\n  hubspot:\n    token_file: tok\n    mapping: broken.yaml\n"
    )
    result = run_carnet("--config", str(config), "mappings", "check")
    assert result.returncode == 2
    path = tmp_path / "broken.yaml"
    assert result.stderr.splitlines() == [
        f"error: {path}:7: objects.owners.values.email.transform: unknown transform 'emial' "
        "(known: trim, email, country, level, domain, join, choice, currency, number, int, bool, "
        "datetime, date, stage)",
        f"error: {path}:12: objects.contacts.values.emails: two rules write the overlay value "
        "'emails' (the first at line 11)",
        f"error: {path}:15: objects.contacts.refs.org.to: refers to 'companys', which is not an "
        "object here",
        f"error: {path}:17: levels[0].match[0]: bad regular expression 'vice (president': "
        "missing ), unterminated subpattern at position 5",
    ]
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_the_packaged_mappings_pass(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("x")
    config = tmp_path / "config.yaml"
    config.write_text(
        "version: 1\nsources:\n"
        "  salesforce:\n    my_domain: acme\n    client_id: abc\n    client_secret_file: secret\n"
        "  hubspot:\n    token_file: secret\n"
        "  exchange:\n    authority: https://login.microsoftonline.com/t\n    client_id: c\n"
        "    client_secret_file: secret\n"
    )
    result = run_carnet("--config", str(config), "mappings", "check")
    assert result.returncode == 0, result.stderr
    for source in ("salesforce", "hubspot", "exchange"):
        assert f"{source}: " in result.stdout and f"mappings/{source}.yaml valid" in result.stdout


def test_online_against_the_stand_ins(fresh_sandbox: Sandbox) -> None:
    sandbox = fresh_sandbox  # reset: other tests install Carnet's fields on the shared stand-ins
    result = run_carnet("--config", str(sandbox.config_file), "mappings", "check", "--online")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("checked against the CRM") == 3
    assert "Contact.Carnet_Strength__c does not exist yet" in result.stdout

    broken = sandbox.workdir / f"hubspot-{uuid.uuid4().hex[:6]}.yaml"
    text = (Path(__file__).parents[2] / "mappings" / "hubspot.yaml").read_text()
    broken.write_text(text.replace("title: jobtitle", "title: job_title"))
    line = text.splitlines().index("      title: jobtitle") + 1
    config = broken.with_suffix(".config.yaml")
    config.write_text(
        sandbox.config_file.read_text().replace(
            "  hubspot:\n", f"  hubspot:\n    mapping: {broken.name}\n", 1
        )
    )
    result = run_carnet("--config", str(config), "mappings", "check", "--online")
    assert result.returncode == 2, result.stdout
    assert result.stderr.splitlines() == [
        f"error: {broken}:{line}: objects.contacts.values.title: contacts has no field job_title"
    ]
