"""Salesforce's user hierarchy into the overlay, on SQLite and PostgreSQL: `User.ManagerId`, read
by the shipped mapping, lands as `member.manager_id`, whichever of the two users comes first
(in one page, or across pages and pulls); an unknown manager waits on the link; an emptied
ManagerId clears it, a source without a hierarchy (HubSpot) leaves it alone.
"""

from __future__ import annotations

from connector.core.records import RawRecord
from mappings.apply import apply
from mappings.loader import default_path, load_mapping
from tests.store.ingest_support import Store, store, user

__all__ = ["store"]


def sf_user(uid: str, email: str, manager: str | None = None) -> RawRecord:
    fields = {"Email": email, "FirstName": email[:3].title(), "LastName": "Rep",
              "IsActive": True, "UserType": "Standard", "ManagerId": manager}  # fmt: skip
    return RawRecord(uid, fields)


def boss_of(store: Store, email: str) -> str | None:
    member = store.member(email)
    if member.manager_id is None:
        return None
    boss = store.s.get(type(member), member.manager_id)
    return boss.email if boss else None


def test_manager_id_from_the_shipped_mapping_whatever_the_order(store: Store) -> None:
    sf = load_mapping(default_path("salesforce"), "salesforce")
    # one page: Rob (reports to Lea) and Ray (reports to Rob) before Lea herself
    page = [sf_user("005ROB", "rob@us.com", "005LEA"), sf_user("005RAY", "ray@us.com", "005ROB"),
            sf_user("005LEA", "lea@us.com")]  # fmt: skip
    recs = [apply(sf, "User", raw) for raw in page]
    assert recs[0].refs == {"manager": ("User", "005LEA")} and recs[2].refs == {}
    store.put(*recs)
    assert boss_of(store, "rob@us.com") == "lea@us.com"
    assert boss_of(store, "ray@us.com") == "rob@us.com"
    assert boss_of(store, "lea@us.com") is None
    assert store.link("005ROB", obj="User").pending is None


def test_a_manager_in_a_later_pull_resolves_the_waiting_report(store: Store) -> None:
    store.put(user("005R", "rob@us.com", refs={"manager": ("User", "005L")}))
    assert boss_of(store, "rob@us.com") is None
    assert store.link("005R", obj="User").pending == {"manager": ["User", "005L"]}
    store.put(user("005L", "lea@us.com"))
    store.resolve()  # as a sync does once an object's pages are in
    assert boss_of(store, "rob@us.com") == "lea@us.com"
    assert store.link("005R", obj="User").pending is None


def test_an_emptied_manager_clears_and_hubspot_leaves_it_alone(store: Store) -> None:
    store.put(user("005L", "lea@us.com"), user("005M", "max@us.com"),
              user("005R", "rob@us.com", refs={"manager": ("User", "005L")}))  # fmt: skip
    store.put(user("77", "rob@us.com", source="hubspot", name="Rob Rep"))  # no hierarchy there
    assert boss_of(store, "rob@us.com") == "lea@us.com"
    store.put(user("005R", "rob@us.com", refs={"manager": ("User", "005M")}))
    assert boss_of(store, "rob@us.com") == "max@us.com"
    store.put(user("005R", "rob@us.com"))  # ManagerId emptied in Salesforce
    assert boss_of(store, "rob@us.com") is None
    store.put(user("005X", "own@us.com", refs={"manager": ("User", "005X")}))
    assert boss_of(store, "own@us.com") is None  # nobody is their own manager
