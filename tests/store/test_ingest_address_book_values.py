"""Ingest on both backends: whose values a person holds. A CRM's values win whatever the order
of the sources; an address-book entry fills what no CRM gave, and a person no CRM knows follows
the address book as it changes."""

from __future__ import annotations

from tests.store.ingest_support import Store, base, contact, entry, store, user

__all__ = ["store"]  # the fixture


def test_a_person_only_an_address_book_knows_follows_its_changes(store: Store) -> None:
    store.put(user("u-1", "ann@us.com", source="exchange"))
    store.put(entry("AB1", "u-1", "kim@example.org", name="Kim Lee", title="Engineer"))
    store.put(entry("AB1", "u-1", "kim@example.org", name="Kim Lee", title="CTO"))
    assert store.person("kim@example.org").title == "CTO"


def test_a_crm_title_wins_over_the_address_book_in_either_order(store: Store) -> None:
    base(store)
    store.put(user("u-1", "ann@us.com", source="exchange"))
    store.put(entry("AB1", "u-1", "amy@acme.com", name="Amy Ode", title="Intern"))
    store.put(contact("003A", "amy@acme.com", org="001A", title="VP Sales"))
    store.put(entry("AB1", "u-1", "amy@acme.com", name="Amy Ode", title="Trainee"))
    store.put(entry("AB2", "u-1", "bo@acme.com", name="Bo Ray", title="Trainee"))
    store.put(contact("003B", "bo@acme.com", org="001A", title="CFO"))
    assert store.person("amy@acme.com").title == "VP Sales"
    assert store.person("bo@acme.com").title == "CFO"


def test_the_address_book_fills_what_the_crm_left_empty(store: Store) -> None:
    base(store)
    store.put(contact("003A", "amy@acme.com", org="001A"))
    store.put(user("u-1", "ann@us.com", source="exchange"))
    store.put(entry("AB1", "u-1", "amy@acme.com", name="Amy Ode", title="Buyer"))
    store.put(entry("AB1", "u-1", "amy@acme.com", name="Amy Ode", title="Head Buyer"))
    assert store.person("amy@acme.com").title == "Buyer"
