"""Ingest on both backends, over time: deletions, merges (whatever the order of loser and
survivor), full passes that tombstone what they did not see, records a mapping filters out.
"""

from __future__ import annotations

import gc
from datetime import timedelta

from sqlalchemy import select

from connector.ingest.batch import Batch
from connector.ingest.pages import finish_full_pass
from connector.store import models as m
from tests.store.ingest_support import NOW, Store, base, contact, entry, rec, store, user

__all__ = ["store"]  # the fixture


def test_a_deleted_contact_retires_its_person_once_no_source_has_it(store: Store) -> None:
    base(store)
    store.put(contact("003A", "amy@acme.com", org="001A", owner="005A"),
              contact("003B", "bo@acme.com", org="001A", owner="005A"))  # fmt: skip
    store.put(user("u-1", "ann@us.com", source="exchange"), entry("AB1", "u-1", "amy@acme.com"))
    counts = store.put(rec("person", "003A", deleted=True), rec("person", "003B", deleted=True))
    assert counts.deleted == 2
    assert store.link("003A").deleted_at is not None
    amy, bo = store.person("amy@acme.com"), store.person("bo@acme.com")
    assert amy.deleted_at is None  # still in Ann's address book
    assert bo.deleted_at is not None
    rel = store.rel("ann@us.com", amy)
    assert rel is not None and not rel.is_owner and "contact_owner" not in rel.signals
    assert rel.signals["address_book"] is True
    assert store.rel("ann@us.com", bo) is None  # nothing kept it
    again = store.put(rec("person", "003B", deleted=True))  # re-read: already done
    assert (again.deleted, again.updated) == (0, 0)


def test_a_deleted_address_book_entry_drops_its_signal(store: Store) -> None:
    base(store)
    store.put(
        contact("003A", "cy@acme.com", org="001A"), contact("003B", "di@acme.com", org="001A")
    )
    store.put(
        user("u-1", "ann@us.com", source="exchange"),
        entry("AB1", "u-1", "cy@acme.com"),
        entry("AB2", "u-1", "CY@acme.com"),  # filed twice
        entry("AB3", "u-1", "di@acme.com"),
    )
    cy, di = store.person("cy@acme.com"), store.person("di@acme.com")
    rated = store.rel("ann@us.com", di)
    assert rated is not None
    rated.rating = 5
    store.s.commit()
    store.put(entry("AB1", "u-1", deleted=True), entry("AB3", "u-1", deleted=True))
    kept = store.rel("ann@us.com", cy)
    assert kept is not None and kept.signals["address_book_entries"] == ["exchange:contacts:AB2"]
    di_rel = store.rel("ann@us.com", di)
    assert di_rel is not None and di_rel.rating == 5 and "address_book" not in di_rel.signals
    store.put(entry("AB2", "u-1", deleted=True))
    assert store.rel("ann@us.com", cy) is None


def test_deleted_activities_roles_and_deals_leave_the_signals(store: Store) -> None:
    base(store)
    store.put(contact("003A", "ed@acme.com", org="001A"))
    store.put(
        rec("opportunity", "006A", name="Deal", status="open",
            refs={"org": ("Account", "001A"), "owner": ("User", "005A")}),
        rec("opportunity", "006B", name="Other", status="lost",
            refs={"org": ("Account", "001A"), "owner": ("User", "005A")}),
        rec("contact_role", "00KA", role="Buyer",
            refs={"opportunity": ("Opportunity", "006A"), "person": ("Contact", "003A")}),
        rec("contact_role", "00KB", role="User",
            refs={"opportunity": ("Opportunity", "006B"), "person": ("Contact", "003A")}),
        rec("activity", "00TA", at=NOW, kind="email",
            refs={"person": ("Contact", "003A"), "member": ("User", "005A")}),
    )  # fmt: skip
    ed = store.person("ed@acme.com")
    rel = store.rel("ann@us.com", ed)
    assert rel is not None and len(rel.signals["deal_roles"]) == 2
    store.put(
        rec("opportunity", "006A", name="Deal", status="won", modstamp=NOW + timedelta(1),
            refs={"org": ("Account", "001A"), "owner": ("User", "005A")}),
        rec("opportunity", "006B", deleted=True),
        rec("activity", "00TA", deleted=True),
    )  # fmt: skip
    rel = store.rel("ann@us.com", ed)
    assert rel is not None
    assert [r["status"] for r in rel.signals["deal_roles"]] == ["won"]
    assert "activities" not in rel.signals and "activity_count" not in rel.signals
    store.put(rec("contact_role", "00KA", deleted=True))
    assert store.count(m.ContactRole) == 1  # 006B's role stays with its (deleted) deal
    assert store.rel("ann@us.com", ed) is None


def test_a_stored_page_leaves_no_batch_for_the_garbage_collector(store: Store) -> None:
    """A page's batch (its links, targets, relationships) goes as soon as the page is stored,
    not at the next full collection: the steps it runs last hold no cycle through it."""
    base(store)
    store.put(contact("003A", "ed@acme.com", org="001A"))
    deal = {"org": ("Account", "001A"), "owner": ("User", "005A")}
    store.put(rec("opportunity", "006A", name="Deal", status="open", refs=deal))
    role = {"opportunity": ("Opportunity", "006A"), "person": ("Contact", "003A")}
    gc.collect()
    gc.disable()
    try:
        store.put(rec("contact_role", "00KA", role="Buyer", refs=role))  # a step after links
        store.put(rec("opportunity", "006A", deleted=True))  # retires: a step after links
        assert store.count(m.Opportunity) == 1
        assert not [o for o in gc.get_objects() if isinstance(o, Batch)]
    finally:
        gc.enable()


def test_a_merged_contact_moves_into_the_survivor(store: Store) -> None:
    base(store)
    store.put(
        contact("003W", "fi@acme.com", org="001A", owner="005A", title=None),
        contact("003L", "fi.old@acme.com", org="001A", owner="005B", title="CFO", phone="+1"),
        rec("activity", "00TA", at=NOW, kind="call",
            refs={"person": ("Contact", "003L"), "member": ("User", "005A")}),
    )  # fmt: skip
    loser = store.person("fi.old@acme.com")
    ann = store.rel("ann@us.com", store.person("fi@acme.com"))
    assert ann is not None
    ann.rating = 4
    store.s.commit()
    store.put(rec("person", "003L", deleted=True, merged_into="003W"))
    winner = store.person("fi@acme.com")
    assert store.person("fi.old@acme.com").id == winner.id  # the emails moved
    assert (winner.title, winner.phone) == ("CFO", "+1")  # empty fields filled from the loser
    store.s.refresh(loser)
    assert loser.merged_into_id == winner.id and loser.deleted_at is not None
    assert store.link("003L").entity_id == winner.id
    rel = store.rel("ann@us.com", winner)
    assert rel is not None and rel.rating == 4  # combined: the survivor's rating, both signals
    assert rel.signals["contact_owner"] and rel.signals["activity_count"] == 1
    assert store.rel("ben@us.com", winner) is None  # the loser's owner signal left with its link
    assert store.count(m.Relationship, m.Relationship.person_id == loser.id) == 0


def test_a_merge_waits_for_a_survivor_not_seen_yet(store: Store) -> None:
    base(store)
    store.put(contact("003L", "gus.old@acme.com", org="001A", owner="005A"))
    store.put(rec("person", "003L", deleted=True, merged_into="003W"))
    assert store.link("003L").pending == {"merged_into": ["Contact", "003W"]}
    store.put(contact("003W", "gus@acme.com", org="001A"))
    store.resolve()
    winner = store.person("gus@acme.com")
    assert store.link("003L").pending is None and store.link("003L").entity_id == winner.id
    assert store.emails(winner) == ["gus.old@acme.com", "gus@acme.com"]
    # a record never seen before, merged away: its id now leads to the survivor
    store.put(rec("person", "003Z", deleted=True, merged_into="003W"))
    store.put(rec("activity", "00TA", at=NOW, kind="call",
                  refs={"person": ("Contact", "003Z"), "member": ("User", "005A")}))  # fmt: skip
    rel = store.rel("ann@us.com", winner)
    assert rel is not None and rel.signals["activity_count"] == 1


def test_a_merged_account_moves_its_people_and_domains(store: Store) -> None:
    store.put(
        user("005A", "ann@us.com"),
        rec("org", "001W", name="Hooli", domains=["hooli.com"]),
        rec("org", "001L", name="Hooli Inc", domains=["hooli.io"]),
        rec("org", "001C", name="Hooli Labs", refs={"parent": ("Account", "001L")}),
        contact("003A", "hu@hooli.io", org="001L"),
        rec("opportunity", "006A", name="Deal", refs={"org": ("Account", "001L")}),
    )
    store.put(rec("org", "001L", obj="Account", deleted=True, merged_into="001W"))
    winner = store.link("001W", obj="Account").entity_id
    assert store.person("hu@hooli.io").org_id == winner
    domains = store.s.scalars(select(m.OrgDomain.domain).where(m.OrgDomain.org_id == winner))
    assert sorted(domains) == ["hooli.com", "hooli.io"]
    child = store.s.get(m.Org, store.link("001C", obj="Account").entity_id)
    deal = store.s.get(m.Opportunity, store.link("006A", obj="Opportunity").entity_id)
    assert child is not None and deal is not None
    assert child.parent_id == winner and deal.org_id == winner


def test_a_full_pass_tombstones_what_it_did_not_see(store: Store) -> None:
    base(store)
    store.put(*[contact(f"003{i}", f"p{i}@acme.com", org="001A", owner="005A") for i in range(4)])
    later = NOW + timedelta(days=1)
    store.put(contact("0031", "p1@acme.com", org="001A", owner="005A"), full=True, now=later)
    store.put(contact("0032", problems=["a person needs a valid email"]), full=True, now=later)
    counts = finish_full_pass(store.s, "salesforce", "Contact", later, later)
    store.s.commit()
    assert counts.deleted == 2  # 0030 and 0033; 0032 was seen, though not taken
    gone = [store.link(f"003{i}").deleted_at is not None for i in range(4)]
    assert gone == [True, False, False, True]
    assert store.person("p0@acme.com").deleted_at is not None
    assert store.rel("ann@us.com", store.person("p0@acme.com")) is None


def test_a_record_the_mapping_now_filters_out_is_withdrawn(store: Store) -> None:
    store.put(user("005A", "ann@us.com"), user("005P", "partner@them.com"))
    counts = store.put(
        rec("member", "005P", problems=["filtered out by the mapping: UserType is Partner"]),
        rec("member", "005Q", problems=["filtered out by the mapping: UserType is Partner"]),
    )
    assert counts.skipped == 0  # a filter is not a failure
    assert store.link("005P", obj="User").deleted_at is not None
    assert not store.member("partner@them.com").active
    assert store.count(m.SourceLink, m.SourceLink.external_id == "005Q") == 0
