"""Ingest on both backends: members, orgs and people matched across sources, references in any
order. (Relationships, ratings, malformed records: test_ingest_relationships; lifecycle:
test_ingest_lifecycle; the shared kit: ingest_support.)
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from connector.store import models as m
from tests.store.ingest_support import Store, base, contact, entry, rec, store, user

__all__ = ["store"]  # the fixture


# -- members -------------------------------------------------------------------------------------


def test_members_are_one_across_crm_users_owners_and_mailboxes(store: Store) -> None:
    counts = store.put(
        user("005A", "Ann@Us.com", name="Ann Rep", team="EMEA", title="AE"),
        user("77", "ann@us.com", source="hubspot", name="Ann R."),
        user("u-1", "ANN@us.com", source="exchange", name="Ann (mailbox)", team="Other"),
        user("005X", "not an email"),
    )
    assert store.count(m.Member) == 1
    ann = store.member("ann@us.com")
    assert (ann.salesforce_user_id, ann.hubspot_owner_id, ann.mailbox_id) == ("005A", "77", "u-1")
    assert ann.name == "Ann R."  # the CRMs' values win, the later one last
    assert ann.team == "EMEA"  # a mailbox only fills what the CRMs left empty
    assert counts.skipped == 1
    assert counts.skipped_reasons == {"member without a valid email": 1}


# -- people --------------------------------------------------------------------------------------


def test_person_matched_by_any_email_whatever_its_case(store: Store) -> None:
    base(store)
    store.put(contact("003A", "Bob.Stone@Acme.com", org="001A", first_name="Bob"))
    store.put(
        rec("person", "901", source="hubspot", obj="contacts",
            emails=["bob@home.example", "BOB.STONE@acme.com"], name="Bob Stone"),
    )  # fmt: skip
    store.put(
        user("u-1", "ann@us.com", source="exchange"),
        entry("AB1", "u-1", "bob.stone@ACME.COM", name="Bobby"),
        entry("AB2", "u-1", "bob@home.example", name="Bob at home"),
    )
    bob = store.person("bob.stone@acme.com")
    assert store.count(m.Person) == 1
    assert store.emails(bob) == ["bob.stone@acme.com", "bob@home.example"]
    assert bob.name == "Bob Stone" and bob.first_name == "Bob"  # the address book only fills
    for ext, source, obj in [("901", "hubspot", "contacts"), ("AB2", "exchange", "contacts")]:
        assert store.person_of(ext, source, obj).id == bob.id


def test_an_entry_with_an_unknown_address_finds_whom_its_mailbox_owner_knows(
    store: Store,
) -> None:
    """No company, only a private address: the mailbox owner's own contacts of that name."""
    base(store)
    store.put(
        contact("003A", "mo@acme.com", org="001A", owner="005A", name="Mo Salah"),
        contact("003B", "mo.s@other.example", name="Mo Salah", owner="005B"),
    )
    store.put(
        user("u-1", "ann@us.com", source="exchange"),
        user("u-2", "ben@us.com", source="exchange"),
        entry("AB1", "u-1", "mo1980@home.example", name="Mo  SALAH"),
        entry("AB2", "u-2", "mo.s@mail.acme.com", name="Mo Salah"),  # Ben knows the other Mo
        entry("AB3", "u-1", "mo@acme.net", name="Someone Else"),
    )
    assert store.person_of("AB1", "exchange", "contacts").id == store.person("mo@acme.com").id
    assert (
        store.person_of("AB2", "exchange", "contacts").id == store.person("mo.s@other.example").id
    )
    assert store.count(m.Person) == 3


def test_without_email_a_person_is_matched_by_name_and_org(store: Store) -> None:
    base(store)
    store.put(contact("003A", "cleo@acme.com", org="001A", name="Cléo  Núñez"))
    counts = store.put(
        contact("003B", org="001A", name="cleo nunez"),  # no email: name and org
        contact("003C", "n/a", org="001A", name="Dan Bad-Email"),  # kept: a name and an org
        contact("003D", "n/a", name="Eve Nowhere"),  # no email, no org: skipped
    )
    assert store.person_of("003B").id == store.person("cleo@acme.com").id
    assert store.person_of("003C").name == "Dan Bad-Email"
    assert counts.skipped == 1
    assert counts.skipped_reasons == {"no valid email, and no name and org": 1}
    assert counts.errors == [{"id": "003D", "reason": "invalid email 'n/a', no org"}]


def test_an_ambiguous_match_is_recorded_and_kept_apart(store: Store) -> None:
    base(store)
    store.put(
        contact("003A", "jo1@acme.com", org="001A", name="Jo Smith"),
        contact("003B", "jo2@acme.com", org="001A", name="Jo Smith"),
    )
    store.put(contact("003C", org="001A", name="Jo Smith"), contact("003D", "jo1@acme.com",
              "jo2@acme.com", name="Jo Both"))  # fmt: skip
    assert store.count(m.Person) == 4
    issues = store.s.scalars(select(m.IdentityIssue).order_by(m.IdentityIssue.external_id)).all()
    assert [i.external_id for i in issues] == ["003C", "003D"]
    first, second = store.person("jo1@acme.com").id, store.person("jo2@acme.com").id
    assert all(sorted(i.candidates) == sorted([first, second]) for i in issues)
    assert "name and org" in issues[0].reason and "email" in issues[1].reason
    assert store.person_of("003C").id not in (first, second)


def test_records_of_one_page_match_each_other(store: Store) -> None:
    """Two records of one page that are one person (a duplicate contact) make one person."""
    base(store)
    store.put(
        contact("003A", "kim@acme.com", org="001A", name="Kim Lee"),
        contact("003B", "KIM@acme.com", org="001A", name="Kim Lee"),
        contact("003C", org="001A", name="Kim Lee"),
    )
    assert store.count(m.Person) == 1


def test_values_are_cleaned_to_fit_the_store(store: Store) -> None:
    base(store)
    long_name = "-".join(["Wolfeschlegelsteinhausen"] * 40)
    store.put(
        contact("003A", "x@acme.com", org="001A", name=long_name, title="<b>VP</b>  Sales",
                level="vp", country="fr", phone="+33 1"),
        contact("003B", "y@acme.com", org="001A", level="galactic", country="France"),
    )  # fmt: skip
    x, y = store.person("x@acme.com"), store.person("y@acme.com")
    assert len(x.name) == 800 and x.title == "<b>VP</b> Sales" and x.country == "FR"
    assert (y.level, y.country) == ("unknown", None)


# -- orgs and references -------------------------------------------------------------------------


def test_orgs_match_by_domain_then_exact_name(store: Store) -> None:
    store.put(rec("org", "001A", name="Acme", domains=["https://www.Acme.com/about"]))
    store.put(
        rec("org", "5002", source="hubspot", obj="companies", name=" ACME ", domains=[]),
        rec("org", "5001", source="hubspot", obj="companies", name="ACME (France)",
            domains=["acme.com"]),
        rec("org", "5003", source="hubspot", obj="companies", name="Other", domains=["other.io"]),
    )  # fmt: skip
    assert store.count(m.Org) == 2
    acme = store.link("001A", obj="Account").entity_id
    assert store.link("5002", "hubspot", "companies").entity_id == acme  # by name
    assert store.link("5001", "hubspot", "companies").entity_id == acme  # by domain
    org = store.s.get(m.Org, acme)
    assert org is not None and org.name == "ACME (France)"  # a CRM's value overwrites


@pytest.mark.parametrize("order", ["manager first", "report first", "apart"])
def test_references_resolve_whatever_the_order(store: Store, order: str) -> None:
    base(store)
    boss = contact("003B", "boss@acme.com", org="001A")
    report = contact("003R", "rep@acme.com", org="001A", reports_to="003B")
    child = rec("org", "001C", name="Acme Child", refs={"parent": ("Account", "001P")})
    parent = rec("org", "001P", name="Acme Parent")
    if order == "manager first":
        store.put(parent, child, boss, report)
    elif order == "report first":
        store.put(child, parent, report, boss)
    else:  # the target in a later page, as across pages of one object
        store.put(child)
        store.put(parent)
        store.put(report)
        store.put(boss)
        store.resolve()
    assert store.person("rep@acme.com").reports_to_id == store.person("boss@acme.com").id
    assert store.link("001C", obj="Account").pending is None
    child_org = store.s.get(m.Org, store.link("001C", obj="Account").entity_id)
    assert child_org is not None
    assert child_org.parent_id == store.link("001P", obj="Account").entity_id
