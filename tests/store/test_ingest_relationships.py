"""Ingest on both backends: relationships from signals, ratings, stance and influence, malformed
and unchanged records. (The shared kit: ingest_support.)
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from connector.store import models as m
from connector.store.models_plans import Stakeholder
from mappings.records import MappedRecord
from tests.store.ingest_support import NOW, Store, base, contact, entry, rec, store, user

__all__ = ["store"]  # the fixture


# -- relationships from signals ------------------------------------------------------------------


def test_relationships_come_from_ownership_address_books_activities_and_roles(
    store: Store,
) -> None:
    base(store)
    store.put(contact("003A", "dee@acme.com", org="001A", owner="005A"))
    store.put(
        rec("opportunity", "006A", name="Big deal", status="won",
            refs={"org": ("Account", "001A"), "owner": ("User", "005B")}),
        rec("contact_role", "00KA", role="Decision Maker",
            refs={"opportunity": ("Opportunity", "006A"), "person": ("Contact", "003A")}),
        rec("activity", "00TA", at=NOW - timedelta(days=3), kind="call",
            refs={"person": ("Contact", "003A"), "member": ("User", "005B")}),
    )  # fmt: skip
    store.put(user("u-1", "ann@us.com", source="exchange"), entry("AB1", "u-1", "Dee@acme.com"))
    dee = store.person("dee@acme.com")
    ann, ben = store.rel("ann@us.com", dee), store.rel("ben@us.com", dee)
    assert ann is not None and ben is not None
    assert ann.is_owner and ann.signals["contact_owner"] and ann.signals["address_book"]
    assert ann.signals["owner_of"] == ["salesforce:Contact:003A"]
    assert ann.signals["address_book_entries"] == ["exchange:contacts:AB1"]
    assert not ben.is_owner
    assert ben.signals["deal_roles"] == [
        {"opportunity_id": str(store.link("006A", obj="Opportunity").entity_id),
         "role": "Decision Maker", "status": "won"}
    ]  # fmt: skip
    assert ben.signals["activities"] == [
        {"at": (NOW - timedelta(days=3)).isoformat(), "kind": "call", "source": "salesforce",
         "id": "00TA"}
    ]  # fmt: skip
    assert ben.signals["activity_count"] == 1
    assert ben.last_interaction_at == NOW - timedelta(days=3)


def test_a_new_owner_takes_the_contact_owner_signal(store: Store) -> None:
    base(store)
    store.put(contact("003A", "fay@acme.com", org="001A", owner="005A"))
    store.put(contact("003A", "fay@acme.com", org="001A", owner="005B", title="CTO"))
    fay = store.person("fay@acme.com")
    assert store.rel("ann@us.com", fay) is None  # nothing else kept it
    ben = store.rel("ben@us.com", fay)
    assert (
        ben is not None and ben.is_owner and ben.signals["owner_of"] == ["salesforce:Contact:003A"]
    )


def test_activities_are_deduplicated_capped_and_moved(store: Store) -> None:
    base(store)
    store.put(contact("003A", "gil@acme.com", org="001A"), contact("003B", "hal@acme.com",
              org="001A"))  # fmt: skip

    def task(i: int, who: str = "003A", days: int = 0) -> MappedRecord:
        return rec("activity", f"00T{i:03d}", at=NOW - timedelta(days=days or i), kind="call",
                   refs={"person": ("Contact", who), "member": ("User", "005A")})  # fmt: skip

    store.put(*[task(i) for i in range(1, 61)])
    store.put(task(1), task(2))  # re-read: nothing new
    rel = store.rel("ann@us.com", store.person("gil@acme.com"))
    assert rel is not None
    assert rel.signals["activity_count"] == 60
    ids = [a["id"] for a in rel.signals["activities"]]
    assert len(ids) == 50 and ids[0] == "00T001" and ids[-1] == "00T050"  # the newest 50
    store.put(task(1, who="003B", days=1))  # the task now concerns another person
    rel = store.rel("ann@us.com", store.person("gil@acme.com"))
    hal = store.rel("ann@us.com", store.person("hal@acme.com"))
    assert rel is not None and hal is not None
    assert rel.signals["activity_count"] == 59 and "00T001" not in str(rel.signals)
    assert hal.signals["activity_count"] == 1


def test_hubspot_deal_contacts_become_contact_roles(store: Store) -> None:
    store.put(user("77", "ann@us.com", source="hubspot"))
    store.put(*[rec("person", str(i), source="hubspot", obj="contacts", emails=[f"p{i}@x.io"],
                    name=f"P {i}") for i in (1, 2, 3)])  # fmt: skip

    def deal(*people: str) -> MappedRecord:
        return rec("opportunity", "D1", source="hubspot", obj="deals", name="Deal", status="open",
                   refs={"owner": ("owners", "77")},
                   many={"persons": ("contacts", list(people))})  # fmt: skip

    store.put(deal("1", "2"))
    assert store.count(m.ContactRole) == 2
    store.put(deal("2", "3"))
    people = store.s.scalars(select(m.ContactRole.person_id).order_by(m.ContactRole.person_id))
    assert list(people) == [store.person("p2@x.io").id, store.person("p3@x.io").id]
    one = store.rel("ann@us.com", store.person("p1@x.io"))
    assert one is None  # its only signal (the deal role) went
    three = store.rel("ann@us.com", store.person("p3@x.io"))
    assert three is not None and three.signals["deal_roles"][0]["status"] == "open"


def test_the_contacts_rating_is_applied_as_its_owners(store: Store) -> None:
    base(store)
    counts = store.put(  # the owner (005A) set them: the CRM names them as the last editor
        contact("003A", "ida@acme.com", org="001A", owner="005A", rating=4, shareability="shared",
                modified_by="005A"),
        contact("003B", "jon@acme.com", org="001A", owner="005A", rating="9", modified_by="005A"),
    )  # fmt: skip
    ida = store.rel("ann@us.com", store.person("ida@acme.com"))
    assert ida is not None and (ida.rating, ida.shareability) == (4, "shared")
    assert counts.skipped_reasons == {"rating not applied": 1}
    events = store.count(m.AuditEvent)
    ida.rating = 2  # the rep changes it in Carnet; an unchanged CRM record does not undo that
    store.s.commit()
    store.put(
        contact("003A", "ida@acme.com", org="001A", owner="005A", rating=4, shareability="shared",
                modstamp=NOW + timedelta(minutes=1), title="CEO", modified_by="005A"),
    )  # fmt: skip
    after = store.rel("ann@us.com", store.person("ida@acme.com"))
    assert after is not None and after.rating == 2 and store.count(m.AuditEvent) == events


def test_the_contacts_stance_and_influence_go_to_the_account_plan(store: Store) -> None:
    base(store)
    counts = store.put(
        contact("003A", "ida@acme.com", org="001A", owner="005A", stance="Champion", influence="4"),
        contact("003B", "jon@acme.com", org="001A", owner="005A", stance="friend"),
    )
    assert counts.skipped_reasons == {"stance not applied": 1}
    ida = store.person("ida@acme.com")
    row = store.s.scalar(select(Stakeholder).where(Stakeholder.person_id == ida.id))
    assert row is not None and (row.stance, row.influence) == ("champion", 4)
    row.stance = "ally"  # a rep changes it in Carnet; an unchanged CRM record does not undo that
    store.s.commit()

    def crm_says(stance: str, minutes: int) -> str | None:
        """Ida's record changed in the CRM with this stance: the stance in the plan after."""
        store.put(
            contact("003A", "ida@acme.com", org="001A", owner="005A", stance=stance,
                    influence="4", modstamp=NOW + timedelta(minutes=minutes), title="CEO"),
        )  # fmt: skip
        store.s.expire_all()
        stakeholder = store.s.get(Stakeholder, row.id)
        return stakeholder.stance if stakeholder else None

    assert crm_says("Champion", 1) == "ally"
    assert crm_says("adversary", 2) == "adversary"


# -- malformed and unchanged records -------------------------------------------------------------


def test_malformed_records_are_skipped_with_their_reason(store: Store) -> None:
    base(store)
    counts = store.put(
        contact("003A", "ok@acme.com", org="001A"),
        contact("003B", problems=["a person needs a valid email, or a name and an org"]),
        rec("contact_role", "00KA", refs={"opportunity": ("Opportunity", "006X"),
                                          "person": ("Contact", "003A")}),
        rec("activity", "00TA",
            refs={"person": ("Contact", "00QLEAD"), "member": ("User", "005A")}),
    )  # fmt: skip
    assert counts.created == 1 and counts.skipped == 3
    assert counts.skipped_reasons == {
        "a person needs a valid email, or a name and an org": 1,
        "contact role of an unknown opportunity": 1,
        "activity of an unknown person": 1,
    }


def test_an_unchanged_record_writes_nothing(store: Store) -> None:
    base(store)
    page = [contact("003A", "kai@acme.com", org="001A", owner="005A"),
            contact("003B", "lia@acme.com", org="001A", reports_to="003A")]  # fmt: skip
    store.put(*page)
    before = store.s.execute(select(m.SourceLink.id, m.SourceLink.updated_at)).all()
    people = store.s.execute(select(m.Person.id, m.Person.updated_at)).all()
    counts = store.put(*page, now=NOW + timedelta(hours=1))
    assert (counts.pulled, counts.created, counts.updated) == (2, 0, 0)
    assert store.s.execute(select(m.SourceLink.id, m.SourceLink.updated_at)).all() == before
    assert store.s.execute(select(m.Person.id, m.Person.updated_at)).all() == people
