"""Ingest on both backends: members, orgs and people matched across sources, references in any
order, relationships from signals, ratings, malformed records. (Lifecycle: test_ingest_lifecycle.)

The kit at the top (`rec`, `Store`) is shared with the other test_ingest* modules.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.ingest.pages import Counts, ingest_page, resolve_pending
from connector.store import models as m
from connector.store.models_plans import Stakeholder
from mappings.records import MappedRecord

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
OBJECT = {
    "member": "User",
    "org": "Account",
    "person": "Contact",
    "opportunity": "Opportunity",
    "contact_role": "OpportunityContactRole",
    "activity": "Task",
    "address_book": "contacts",
}


def rec(
    kind: str,
    ext: str,
    /,
    *,
    source: str = "salesforce",
    obj: str | None = None,
    refs: dict[str, tuple[str, str]] | None = None,
    many: dict[str, tuple[str, list[str]]] | None = None,
    deleted: bool = False,
    merged_into: str | None = None,
    problems: Iterable[str] = (),
    modstamp: datetime = NOW,
    **values: Any,
) -> MappedRecord:
    return MappedRecord(
        kind=kind,
        source=source,
        object=obj or OBJECT[kind],
        external_id=ext,
        values=values,
        refs=refs or {},
        many_refs=many or {},
        deleted=deleted,
        merged_into=merged_into,
        modstamp=modstamp,
        problems=list(problems),
    )


def user(ext: str, email: str, source: str = "salesforce", **values: Any) -> MappedRecord:
    obj = {"salesforce": "User", "hubspot": "owners", "exchange": "users"}[source]
    return rec("member", ext, source=source, obj=obj, email=email, **values)


def contact(ext: str, *emails: str, org: str | None = None, owner: str | None = None,
            reports_to: str | None = None, **values: Any) -> MappedRecord:  # fmt: skip
    refs = {}
    if org:
        refs["org"] = ("Account", org)
    if owner:
        refs["owner"] = ("User", owner)
    if reports_to:
        refs["reports_to"] = ("Contact", reports_to)
    values.setdefault("name", f"Person {ext}")
    return rec("person", ext, refs=refs, emails=list(emails), **values)


def entry(ext: str, mailbox: str, *emails: str, **values: Any) -> MappedRecord:
    """An Exchange address-book entry in `mailbox`'s mailbox."""
    return rec("address_book", ext, source="exchange", refs={"member": ("users", mailbox)},
               emails=list(emails), **values)  # fmt: skip


class Store:
    """A session with ingest and the questions the tests ask of the overlay."""

    def __init__(self, session: Session):
        self.s = session

    def put(self, *records: MappedRecord, full: bool = False, now: datetime = NOW) -> Counts:
        """Ingest records as pages of consecutive records of one (source, object), one
        transaction per page, as a sync would."""
        total = Counts()
        groups: list[list[MappedRecord]] = []
        for r in records:
            last = groups[-1][0] if groups else None
            if last and (last.source, last.object, last.kind) == (r.source, r.object, r.kind):
                groups[-1].append(r)
            else:
                groups.append([r])
        for group in groups:
            first = group[0]
            total.add(ingest_page(self.s, first.source, first.object, first.kind, group, full, now))
            self.s.commit()
        return total

    def resolve(self, source: str = "salesforce") -> None:
        resolve_pending(self.s, source, NOW)
        self.s.commit()

    def count(self, model: Any, *where: Any) -> int:
        return int(self.s.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    def person(self, email: str) -> m.Person:
        self.s.expire_all()
        pid = self.s.scalar(select(m.PersonEmail.person_id).where(m.PersonEmail.email == email))
        assert pid is not None, f"no person with {email}"
        person = self.s.get(m.Person, pid)
        assert person is not None
        return person

    def person_of(self, ext: str, source: str = "salesforce", obj: str = "Contact") -> m.Person:
        self.s.expire_all()
        link = self.link(ext, source, obj)
        assert link.entity == "person" and link.entity_id is not None
        person = self.s.get(m.Person, link.entity_id)
        assert person is not None
        return person

    def link(self, ext: str, source: str = "salesforce", obj: str = "Contact") -> m.SourceLink:
        self.s.expire_all()
        link = self.s.scalar(
            select(m.SourceLink).where(
                m.SourceLink.source == source,
                m.SourceLink.object == obj,
                m.SourceLink.external_id == ext,
            )
        )
        assert link is not None, f"no link {source} {obj} {ext}"
        return link

    def member(self, email: str) -> m.Member:
        self.s.expire_all()
        member = self.s.scalar(select(m.Member).where(m.Member.email == email))
        assert member is not None
        return member

    def rel(self, member_email: str, person: m.Person) -> m.Relationship | None:
        self.s.expire_all()
        return self.s.scalar(
            select(m.Relationship).where(
                m.Relationship.member_id == self.member(member_email).id,
                m.Relationship.person_id == person.id,
            )
        )

    def emails(self, person: m.Person) -> list[str]:
        q = select(m.PersonEmail.email).where(m.PersonEmail.person_id == person.id)
        return sorted(self.s.scalars(q))


@pytest.fixture
def store(session: Session) -> Store:
    return Store(session)


def base(store: Store) -> None:
    """Two reps in Salesforce, an account with its domain."""
    store.put(
        user("005A", "ann@us.com", name="Ann Rep"),
        user("005B", "ben@us.com", name="Ben Rep"),
        rec("org", "001A", name="Acme", domains=["acme.com"]),
    )


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
    assert len(x.name) == 800 and x.title == "VP Sales" and x.country == "FR"
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
    counts = store.put(
        contact("003A", "ida@acme.com", org="001A", owner="005A", rating=4, shareability="shared"),
        contact("003B", "jon@acme.com", org="001A", owner="005A", rating="9"),
    )
    ida = store.rel("ann@us.com", store.person("ida@acme.com"))
    assert ida is not None and (ida.rating, ida.shareability) == (4, "shared")
    assert counts.skipped_reasons == {"rating not applied": 1}
    events = store.count(m.AuditEvent)
    ida.rating = 2  # the rep changes it in Carnet; an unchanged CRM record does not undo that
    store.s.commit()
    store.put(
        contact("003A", "ida@acme.com", org="001A", owner="005A", rating=4, shareability="shared",
                modstamp=NOW + timedelta(minutes=1), title="CEO"),
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
