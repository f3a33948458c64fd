"""`carnet mappings check`, offline and --online, in process: the online check runs against a fake
adapter registered under the `carnet.adapters` entry points, whose `describe` answers from the
sandbox's Salesforce and HubSpot schemas (the fields a fresh org or portal has)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from connector.cli.main import app
from connector.core.config import load_config
from connector.core.errors import FatalError, MappingError, UsageError
from connector.core.records import FieldInfo
from connector.core.sources import GROUP, open_adapter
from mappings.loader import default_path
from mappings.verify import base_type, check_mappings
from sandbox.hubspot_schema import OBJECT_TYPES, default_properties
from sandbox.sf_schema import Schema

EXTRA: dict[str, dict[str, FieldInfo]] = {}  # fields a test adds to an object's describe
LOG: list[str] = []


class FakeAdapter:
    """Describes objects as the stand-ins' schemas do; records how it was built and closed."""

    def __init__(self, settings: Any, secret: Callable[[str], str]) -> None:
        self.source = "salesforce" if hasattr(settings, "login_url") else "hubspot"
        LOG.append(
            f"open {self.source} secret={secret('token') if self.source == 'hubspot' else ''}"
        )

    def describe(self, object_name: str) -> dict[str, FieldInfo]:
        fields = _sf(object_name) if self.source == "salesforce" else _hs(object_name)
        return {**fields, **EXTRA.get(object_name, {})}

    def close(self) -> None:
        LOG.append(f"close {self.source}")


def _sf(name: str) -> dict[str, FieldInfo]:
    obj = Schema().get(name)
    if obj is None:
        raise UsageError(f"NOT_FOUND: The requested resource does not exist: {name}")
    return {
        f.name: FieldInfo(f.name, f.type, f.create or f.update, f.length or None)
        for f in obj.fields.values()
    }


def _hs(name: str) -> dict[str, FieldInfo]:
    if name not in OBJECT_TYPES:
        return {}  # owners: HubSpot has no properties for them
    return {p[0]: FieldInfo(p[0], p[2], not p[6]) for p in default_properties(name)}


@pytest.fixture(autouse=True)
def fake_adapters(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    here = "tests.unit.test_mappings_check:FakeAdapter"
    eps = [EntryPoint(name=n, value=here, group=GROUP) for n in ("salesforce", "hubspot")]
    monkeypatch.setattr("connector.core.sources.entry_points", lambda group: eps)
    EXTRA.clear()
    LOG.clear()
    yield


def write_config(tmp: Path, hubspot: str | None = None, salesforce: str | None = None) -> Path:
    (tmp / "tok").write_text("pat-123\n")
    text = "version: 1\nsources:\n  hubspot:\n    token_file: tok\n"
    text += f"    mapping: {hubspot}\n" if hubspot else ""
    text += "  salesforce:\n    my_domain: acme\n    client_id: abc\n    client_secret_file: tok\n"
    text += f"    mapping: {salesforce}\n" if salesforce else ""
    path = tmp / "config.yaml"
    path.write_text(text)
    return path


def carnet(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_the_packaged_mappings_pass_online(tmp_path: Path) -> None:
    result = carnet("--config", str(write_config(tmp_path)), "mappings", "check", "--online")
    assert result.exit_code == 0, result.output
    assert "hubspot:" in result.stdout and "checked against the CRM" in result.stdout
    assert "carnet_strength does not exist yet" in result.stdout
    assert "Opportunity.Carnet_Referrer__c does not exist yet" in result.stdout
    assert "contacts.carnet_owner_rating is not there" in result.stdout
    assert "no field list for owners" in result.stdout
    assert "CurrencyIsoCode" not in result.stdout  # the stand-in org has multi-currency
    assert LOG == ["open salesforce secret=", "close salesforce", "open hubspot secret=pat-123",
                   "close hubspot"]  # fmt: skip


def test_offline_needs_no_adapter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("connector.core.sources.entry_points", lambda group: [])
    result = carnet("--config", str(write_config(tmp_path)), "mappings", "check")
    assert result.exit_code == 0, result.output
    assert (
        "salesforce:" in result.stdout and "valid (7 objects, 11 outbound fields)" in result.stdout
    )
    assert LOG == []


def _copy(tmp: Path, source: str, *edits: tuple[str, str]) -> Path:
    text = default_path(source).read_text()
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp / f"{source}.yaml"
    path.write_text(text)
    return path


def _line(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_online_problems_name_file_and_line(tmp_path: Path) -> None:
    hs = _copy(tmp_path, "hubspot", ("title: jobtitle", "title: jobtitel"),
               ("amount: amount", "amount: closedate"))  # fmt: skip
    sf = _copy(tmp_path, "salesforce", ("industry: Industry", "industry: Branche"))
    EXTRA["companies"] = {"carnet_coverage": FieldInfo("carnet_coverage", "string", False)}
    EXTRA["Contact"] = {
        "Carnet_Known_By__c": FieldInfo("Carnet_Known_By__c", "textarea", True, length=255)
    }
    result = carnet("--config", str(write_config(tmp_path, hs.name, sf.name)),
                    "mappings", "check", "--online")  # fmt: skip
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    want = [
        f"error: {sf}:{_line(sf, 'industry: Branche')}: objects.Account.values.industry: "
        "Account has no field Branche",
        f"error: {sf}:{_line(sf, 'Carnet_Known_By__c:')}: outbound.objects.Contact."
        "Carnet_Known_By__c: Carnet_Known_By__c holds 255 characters; the mapping says 4000",
        f"error: {hs}:{_line(hs, 'title: jobtitel')}: objects.contacts.values.title: "
        "contacts has no field jobtitel",
        f"error: {hs}:{_line(hs, 'amount: closedate')}: objects.deals.values.amount: "
        "closedate is a datetime field; transform number cannot read it",
        f"error: {hs}:{_line(hs, 'carnet_coverage:')}: outbound.objects.companies."
        "carnet_coverage: carnet_coverage is a string field in the CRM, not a number",
        f"error: {hs}:{_line(hs, 'carnet_coverage:')}: outbound.objects.companies."
        "carnet_coverage: carnet_coverage is read-only for Carnet's user",
    ]
    assert sorted(lines) == sorted(want), result.stderr
    assert "Traceback" not in result.output
    assert LOG.count("close hubspot") == 1 and LOG.count("close salesforce") == 1


def test_offline_reports_every_file_at_once(tmp_path: Path) -> None:
    hs = _copy(tmp_path, "hubspot", ("kind: org", "kind: company"))
    sf = _copy(tmp_path, "salesforce", ("version: 1", "version: 9"))
    config = load_config(write_config(tmp_path, hs.name, sf.name))
    with pytest.raises(MappingError) as info:
        check_mappings(config, online=False)
    assert {(p.file, p.key) for p in info.value.problems} == {
        (str(hs), "objects.companies.kind"),
        (str(sf), "version"),
    }


def test_an_object_the_crm_does_not_have(tmp_path: Path) -> None:
    sf = _copy(tmp_path, "salesforce", ("  Task:\n", "  Tsk:\n"))
    config = load_config(write_config(tmp_path, salesforce=sf.name))
    with pytest.raises(MappingError) as info:
        check_mappings(config, online=True)
    [problem] = info.value.problems
    assert problem.key == "objects.Tsk" and problem.line == _line(sf, "Tsk:")
    assert "cannot describe" in problem.message and "NOT_FOUND" in problem.message


def test_no_adapter_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("connector.core.sources.entry_points", lambda group: [])
    result = carnet("--config", str(write_config(tmp_path)), "mappings", "check", "--online")
    assert result.exit_code == 2
    assert "no adapter is installed for source 'salesforce'" in result.stderr


def test_an_adapter_that_does_not_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ep = EntryPoint(name="hubspot", value="adapters.no_such_module:Adapter", group=GROUP)
    monkeypatch.setattr("connector.core.sources.entry_points", lambda group: [ep])
    config = load_config(write_config(tmp_path))
    with pytest.raises(
        FatalError, match=r"the hubspot adapter \(adapters.no_such_module:Adapter\)"
    ):
        open_adapter("hubspot", config.sources.hubspot)  # type: ignore[arg-type]


def test_two_adapters_for_one_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    eps = [EntryPoint(name="hubspot", value=v, group=GROUP) for v in ("a:A", "b:B")]
    monkeypatch.setattr("connector.core.sources.entry_points", lambda group: eps)
    config = load_config(write_config(tmp_path))
    with pytest.raises(UsageError, match="several adapters are registered for source 'hubspot'"):
        open_adapter("hubspot", config.sources.hubspot)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("described", "want"),
    [("string", "string"), ("Collection(String)", "string"), ("DateTimeOffset", "datetime"),
     ("Edm.Int32", "int"), ("double", "double"), ("Boolean", "boolean")],
)  # fmt: skip
def test_describe_types_as_the_transforms_know_them(described: str, want: str) -> None:
    assert base_type(described) == want
