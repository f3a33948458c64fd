"""Loading mapping files: the packaged ones pass; every kind of mistake is reported with its file,
line and key, all at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.core.errors import MappingError, Problem
from mappings.loader import default_path, load_mapping
from mappings.schema import SOURCES

BASE = """\
version: 1
source: salesforce
objects:
  User:
    kind: member
    values:
      email: Email
  Account:
    kind: org
    values:
      name: Name
    refs:
      owner: {from: OwnerId, to: User}
"""
LATER = """\
version: 1
source: salesforce
objects:
  Account:
    kind: org
    values:
      name: Name
    refs:
      owner: {from: OwnerId, to: User}
  User:
    kind: member
    values:
      email: Email
"""


def problems_of(tmp_path: Path, text: str, source: str = "salesforce") -> list[Problem]:
    path = tmp_path / "m.yaml"
    path.write_text(text)
    with pytest.raises(MappingError) as info:
        load_mapping(path, source)
    for p in info.value.problems:
        assert p.file == str(path)
        assert p.line is not None and p.line >= 1
    return info.value.problems


def one(problems: list[Problem], line: int, key: str, words: str) -> None:
    hits = [p for p in problems if p.line == line and p.key == key and words in p.message]
    assert hits, "\n".join(map(str, problems))


@pytest.mark.parametrize("source", SOURCES)
def test_the_packaged_mappings_load(source: str) -> None:
    mapping = load_mapping(default_path(source), source)
    assert mapping.source == source
    assert mapping.objects
    assert mapping.level_rules


def test_a_valid_small_file_loads_in_order(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(BASE)
    mapping = load_mapping(path, "salesforce")
    assert list(mapping.objects) == ["User", "Account"]
    assert mapping.line("objects", "Account", "refs", "owner") == 13


CASES = {
    "unknown key": (
        BASE.replace("    kind: member\n", "    kind: member\n    colour: red\n"),
        6, "objects.User.colour", "unknown key",
    ),
    "wrong type": (
        BASE.replace("email: Email", "email: {from: Email, max_length: lots}"),
        7, "objects.User.values.email.max_length", "expected a whole number",
    ),
    "unknown transform": (
        BASE.replace("email: Email", "email: {from: Email, transform: emial}"),
        7, "objects.User.values.email.transform", "unknown transform 'emial'",
    ),
    "bad regex": (
        BASE + "levels:\n  - level: vp\n    match: ['vice (president']\n",
        16, "levels[0].match[0]", "bad regular expression",
    ),
    "unknown level": (
        BASE + "levels:\n  - {level: boss, match: ceo}\n",
        15, "levels[0].level", "unknown level 'boss'",
    ),
    "unknown kind": (
        BASE.replace("kind: org", "kind: company"),
        9, "objects.Account.kind", "unknown kind 'company'",
    ),
    "unknown overlay value": (
        BASE.replace("      name: Name\n", "      name: Name\n      revenue: AnnualRevenue\n"),
        12, "objects.Account.values.revenue", "unknown overlay value 'revenue' for an org",
    ),
    "unknown reference": (
        BASE.replace("owner: {from", "boss: {from"),
        13, "objects.Account.refs.boss", "unknown reference 'boss'",
    ),
    "reference to an object not in the file": (
        BASE.replace("to: User", "to: Usr"),
        13, "objects.Account.refs.owner.to", "refers to 'Usr', which is not an object here",
    ),
    "reference to the wrong kind": (
        BASE.replace("owner: {from: OwnerId, to: User}", "parent: {from: ParentId, to: User}"),
        13, "objects.Account.refs.parent.to", "points at an org, but User is a member",
    ),
    "reference to a later object": (
        LATER, 9, "objects.Account.refs.owner.to", "User must come before Account",
    ),
    "duplicate target": (
        BASE.replace("      email: Email\n", "      email: Email\n      email: Username\n"),
        8, "objects.User.values.email", "two rules write the overlay value 'email' (the first",
    ),
    "missing version": (
        BASE.replace("version: 1\n", ""),
        1, "version", "missing",
    ),
    "unsupported version": (
        BASE.replace("version: 1", "version: 2"),
        1, "version", "unsupported version 2",
    ),
    "wrong transform for the value": (
        BASE.replace("email: Email", "email: {from: Email, transform: country}"),
        7, "objects.User.values.email.transform", "takes transform email, not country",
    ),
    "several fields onto one value": (
        BASE.replace("name: Name", "name: {from: [Name, Site]}"),
        11, "objects.Account.values.name.from", "several fields onto one value",
    ),
    "first on a list value": (
        BASE.replace("email: Email", "email: X\n  C:\n    kind: person\n    values:\n"
                     "      emails: {first: [A, B]}"),
        11, "objects.C.values.emails.first", "use from: [...]",
    ),
    "an option its transform ignores": (
        BASE.replace("email: Email", "email: {from: Email, sep: '-'}"),
        7, "objects.User.values.email.sep", "does nothing with transform email",
    ),
    "a choice that is not a word of the value": (
        BASE.replace("kind: member", "kind: person").replace(
            "email: Email", "stance: {from: S, choices: {Fan: fan}}\n      name: N"
        ).replace("to: User", "to: Account"),
        7, "objects.User.values.stance.choices", "'fan' is not a stance",
    ),
    "a kind's required value is missing": (
        BASE.replace("      email: Email\n", "      title: Title\n"),
        4, "objects.User", "a member needs email",
    ),
    "source of another CRM": (
        BASE, 2, "source", "this is a salesforce mapping, but it is set for hubspot",
    ),
    "association outside HubSpot": (
        BASE.replace("{from: OwnerId, to: User}", "{association: owners, to: User}"),
        13, "objects.Account.refs.owner.association", "HubSpot only",
    ),
    "bad field path": (
        BASE.replace("email: Email", "email: 'Email Address'"),
        7, "objects.User.values.email.from", "not a field path",
    ),
    "YAML syntax": (
        BASE.replace("kind: org", "kind: [org"),
        10, "", "YAML syntax error",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_each_mistake_is_named_with_file_line_and_key(tmp_path: Path, case: str) -> None:
    text, line, key, words = CASES[case]
    source = "hubspot" if case == "source of another CRM" else "salesforce"
    one(problems_of(tmp_path, text, source), line, key, words)


OUTBOUND = (
    BASE
    + """\
outbound:
  objects:
    Account:
      Carnet_Coverage__c: {value: coverage, type: Percent, label: Coverage}
"""
)
OUTBOUND_CASES = {
    "the same CRM field twice": (
        OUTBOUND + "      carnet_coverage__C: {value: coverage, type: Number, label: C}\n",
        18, "outbound.objects.Account.carnet_coverage__C", "same CRM field as Carnet_Coverage__c",
    ),
    "the same key twice": (
        OUTBOUND + "      Carnet_Coverage__c: {value: coverage, type: Number, label: C}\n",
        18, "outbound.objects.Account.Carnet_Coverage__c", "two entries write the CRM field",
    ),
    "an unknown outbound value": (
        OUTBOUND.replace("value: coverage", "value: revenue"),
        17, "outbound.objects.Account.Carnet_Coverage__c.value", "unknown outbound value",
    ),
    "a type that cannot hold the value": (
        OUTBOUND.replace("type: Percent", "type: Checkbox"),
        17, "outbound.objects.Account.Carnet_Coverage__c.type", "a Checkbox field cannot hold it",
    ),
    "a type of the other CRM": (
        OUTBOUND.replace("type: Percent", "type: number"),
        17, "outbound.objects.Account.Carnet_Coverage__c.type", "unknown salesforce type",
    ),
    "a standard field": (
        OUTBOUND.replace("Carnet_Coverage__c", "Description"),
        17, "outbound.objects.Account.Description", "must be a custom field",
    ),
    "a field the inbound rules read": (
        OUTBOUND.replace("      name: Name\n", "      name: Carnet_Coverage__c\n"),
        17, "outbound.objects.Account.Carnet_Coverage__c", "also read by an inbound rule",
    ),
    "an object not in the file": (
        OUTBOUND.replace("    Account:\n      Carnet", "    Contact:\n      Carnet"),
        16, "outbound.objects.Contact", "not an object of this mapping",
    ),
    "a length on a number field": (
        OUTBOUND.replace("type: Percent", "type: Percent, length: 9"),
        17, "outbound.objects.Account.Carnet_Coverage__c.length", "a Percent field has no length",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(OUTBOUND_CASES))
def test_outbound_mistakes(tmp_path: Path, case: str) -> None:
    text, line, key, words = OUTBOUND_CASES[case]
    one(problems_of(tmp_path, text), line, key, words)


def test_hubspot_outbound_needs_hubspot_types_and_names(tmp_path: Path) -> None:
    text = (default_path("hubspot").read_text()
            .replace("carnet_strength: {value: strongest_strength, type: number",
                     "Carnet_Strength: {value: strongest_strength, type: Number")
            .replace("type: bool, label", "type: bool, field_type: text, label"))  # fmt: skip
    problems = problems_of(tmp_path, text, "hubspot")
    keys = {p.key for p in problems}
    assert "outbound.objects.contacts.Carnet_Strength" in keys  # not lower-case
    assert "outbound.objects.contacts.Carnet_Strength.type" in keys  # Number is Salesforce's
    assert "outbound.objects.companies.carnet_single_threaded.field_type" in keys


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        BASE.replace("version: 1", "version: 3")
        .replace("email: Email", "email: {from: Email, transform: nope}\n      shoe_size: Shoe")
        .replace("kind: org", "kind: company")
    )
    problems = problems_of(tmp_path, text)
    assert [(p.line, p.key.rsplit(".", 1)[-1]) for p in problems] == [
        (1, "version"),
        (7, "transform"),
        (8, "shoe_size"),
        (10, "kind"),
    ]


def test_duplicates_are_all_named(tmp_path: Path) -> None:
    text = BASE.replace(
        "      email: Email\n", "      email: Email\n      email: X\n      email: Y\n"
    )
    problems = problems_of(tmp_path, text)
    assert [p.line for p in problems] == [8, 9]
    assert all("(the first at line 7)" in p.message for p in problems)


def test_a_missing_or_empty_file(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="file not found"):
        load_mapping(tmp_path / "nope.yaml", "salesforce")
    (tmp_path / "empty.yaml").write_text("# nothing\n")
    with pytest.raises(MappingError, match="empty"):
        load_mapping(tmp_path / "empty.yaml", "salesforce")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(MappingError, match="expected a mapping"):
        load_mapping(tmp_path / "list.yaml", "salesforce")


def test_spec_reads_optional_and_outbound_fields_only_where_the_crm_has_them() -> None:
    mapping = load_mapping(default_path("salesforce"), "salesforce")
    plain = mapping.spec("Opportunity")
    assert "CurrencyIsoCode" not in plain.fields
    assert "Carnet_Referrer__c" not in plain.fields
    assert {"Name", "IsClosed", "IsWon", "AccountId", "SystemModstamp"} <= set(plain.fields)
    full = mapping.spec("Opportunity", available=["currencyisocode", "Carnet_Referrer__c", "Name"])
    assert {"CurrencyIsoCode", "Carnet_Referrer__c"} <= set(full.fields)
    assert "Carnet_Credit_Amount__c" not in full.fields


def test_spec_of_hubspot_names_associations_and_leaves_out_adapter_fields() -> None:
    mapping = load_mapping(default_path("hubspot"), "hubspot")
    deals = mapping.spec("deals")
    assert deals.associations == ("companies", "contacts")
    assert "_stage_status" not in deals.fields
    assert deals.fields[-1] == "hs_lastmodifieddate"
    assert mapping.cursor_field("contacts") == "lastmodifieddate"
    assert mapping.cursor_field("owners") is None
    assert "lastmodifieddate" in mapping.spec("contacts").fields


OWN_LEVELS = """\
version: 1
source: salesforce
objects:
  Contact:
    kind: person
    values:
      emails: Email
      level: {from: Title, transform: level}
levels:
  - {level: vp, match: [boss, 'big\\s+cheese']}
"""


def test_a_file_may_bring_its_own_level_rules(tmp_path: Path) -> None:
    from connector.core.records import RawRecord
    from mappings.apply import apply

    path = tmp_path / "m.yaml"
    path.write_text(OWN_LEVELS)
    mapping = load_mapping(path, "salesforce")
    for title, want in [("Big Boss", "vp"), ("big  CHEESE", "vp"), ("CEO", "unknown")]:
        rec = apply(mapping, "Contact", RawRecord("1", {"Email": "a@b.co", "Title": title}))
        assert rec.values["level"] == want
