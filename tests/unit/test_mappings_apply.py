"""Applying the packaged mappings to raw records shaped as each CRM's API gives them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.core.records import RawRecord
from mappings.apply import FILTERED, apply, resolve
from mappings.loader import default_path, load_mapping
from mappings.schema import Mapping


@pytest.fixture(scope="module")
def sf() -> Mapping:
    return load_mapping(default_path("salesforce"), "salesforce")


@pytest.fixture(scope="module")
def hs() -> Mapping:
    return load_mapping(default_path("hubspot"), "hubspot")


@pytest.fixture(scope="module")
def ex() -> Mapping:
    return load_mapping(default_path("exchange"), "exchange")


def contact(**fields: object) -> RawRecord:
    base = {
        "Email": " Jane.Doe@Example.COM ",
        "FirstName": "Jane",
        "LastName": "Doe",
        "Title": "Directrice commerciale",
        "MailingCountry": "Allemagne",
        "AccountId": "001A",
        "OwnerId": "005A",
        "ReportsToId": None,
        "Phone": None,
        "MobilePhone": "+49 30 1234",
        "SystemModstamp": "2024-05-01T10:00:00.000+0000",
    }
    return RawRecord("003A", {**base, **fields})


def test_a_salesforce_contact(sf: Mapping) -> None:
    rec = apply(sf, "Contact", contact())
    assert (rec.kind, rec.source, rec.object, rec.external_id) == (
        "person",
        "salesforce",
        "Contact",
        "003A",
    )
    assert rec.values == {
        "emails": ["jane.doe@example.com"],
        "first_name": "Jane",
        "last_name": "Doe",
        "name": "Jane Doe",
        "title": "Directrice commerciale",
        "level": "director",
        "country": "DE",
        "phone": "+49 30 1234",
    }
    assert rec.refs == {"org": ("Account", "001A"), "owner": ("User", "005A")}
    assert rec.problems == [] and rec.notes == []


def test_an_invalid_email_is_a_note_and_name_with_org_still_makes_a_person(sf: Mapping) -> None:
    rec = apply(sf, "Contact", contact(Email="jane.doe@", MailingCountry="Atlantis"))
    assert rec.problems == []
    assert "emails" not in rec.values and rec.values["name"] == "Jane Doe"
    assert any("not a valid email address: 'jane.doe@'" in n for n in rec.notes)
    assert any("unknown country 'Atlantis'" in n for n in rec.notes)


def test_a_person_with_neither_email_nor_name_and_org_is_skipped_with_reasons(sf: Mapping) -> None:
    rec = apply(sf, "Contact", contact(Email="nope", AccountId=None))
    assert rec.problems[0].startswith("a person needs a valid email")
    assert any("not a valid email address" in p for p in rec.problems)


def test_the_optional_rating_fields_when_present(sf: Mapping) -> None:
    rec = apply(
        sf,
        "Contact",
        contact(
            Carnet_Owner_Rating__c=4.0,
            Carnet_Shareability__c="Shared",
            Carnet_Stance__c="Villain",
            Carnet_Influence__c=9,
        ),
    )
    assert rec.values["rating"] == 4
    assert rec.values["shareability"] == "shared"
    assert "stance" not in rec.values and "influence" not in rec.values
    assert any("'Villain' is not one of" in n for n in rec.notes)
    assert any("9 is outside 1..5" in n for n in rec.notes)


@given(st.text(alphabet="abcdefgh ", min_size=801, max_size=1200))
@settings(max_examples=20)
def test_very_long_names_are_cut_with_a_note(long: str) -> None:
    sf = load_mapping(default_path("salesforce"), "salesforce")
    rec = apply(sf, "Contact", contact(FirstName="X" + long, LastName="Y" + long))
    assert len(rec.values["first_name"]) == 400 and len(rec.values["last_name"]) == 400
    assert len(rec.values["name"]) == 800
    assert any(n.startswith("name: cut to 800 characters") for n in rec.notes)


def test_deleted_and_merged_records_are_tombstones(sf: Mapping) -> None:
    gone = apply(sf, "Contact", RawRecord("003B", {"Email": "x"}, deleted=True))
    assert gone.deleted and gone.values == {} and gone.problems == []
    merged = apply(sf, "Account", RawRecord("001B", {}, deleted=True, merged_into="001A"))
    assert merged.merged_into == "001A" and merged.kind == "org"


def test_users_are_filtered_by_type(sf: Mapping) -> None:
    fields = {"Email": "rep@ours.com", "FirstName": "Ann", "LastName": "Rep", "IsActive": True}
    rec = apply(sf, "User", RawRecord("005A", {**fields, "UserType": "Standard"}))
    assert rec.problems == [] and rec.values["email"] == "rep@ours.com"
    assert rec.values["active"] is True and rec.values["name"] == "Ann Rep"
    partner = apply(sf, "User", RawRecord("005B", {**fields, "UserType": "PowerPartner"}))
    assert partner.problems == [f"{FILTERED}: UserType is 'PowerPartner', not Standard"]


def test_a_member_without_a_valid_email_is_skipped(sf: Mapping) -> None:
    rec = apply(sf, "User", RawRecord("005C", {"Email": "n/a", "UserType": "Standard"}))
    assert rec.problems[0] == "a member needs email"


def test_an_opportunity(sf: Mapping) -> None:
    raw = RawRecord(
        "006A",
        {
            "Name": "Big deal",
            "Amount": 125000.0,
            "CurrencyIsoCode": "eur",
            "StageName": "Closed Won",
            "IsClosed": True,
            "IsWon": True,
            "CloseDate": "2024-06-30",
            "CreatedDate": "2024-01-02T03:04:05.000+0000",
            "AccountId": "001A",
            "OwnerId": "005A",
        },
    )
    rec = apply(sf, "Opportunity", raw)
    assert rec.values == {
        "name": "Big deal",
        "amount": 125000.0,
        "currency": "EUR",
        "stage": "Closed Won",
        "status": "won",
        "close_date": date(2024, 6, 30),
        "created_at": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
    }
    rec = apply(sf, "Opportunity", RawRecord("006B", {"Name": "Open", "IsClosed": False}))
    assert rec.values["status"] == "open"


def test_a_contact_role_and_activities(sf: Mapping) -> None:
    role = apply(
        sf,
        "OpportunityContactRole",
        RawRecord(
            "00K",
            {
                "OpportunityId": "006A",
                "ContactId": "003A",
                "Role": "Economic Buyer",
                "IsPrimary": "true",
            },
        ),
    )
    assert role.values == {"role": "Economic Buyer", "is_primary": True}
    assert role.refs == {"opportunity": ("Opportunity", "006A"), "person": ("Contact", "003A")}
    call = apply(
        sf,
        "Task",
        RawRecord(
            "00T",
            {
                "WhoId": "003A",
                "OwnerId": "005A",
                "TaskSubtype": "Call",
                "ActivityDate": "2024-03-01",
            },
        ),
    )
    assert call.values["kind"] == "call"
    assert call.values["at"] == datetime(2024, 3, 1, tzinfo=UTC)
    todo = apply(sf, "Task", RawRecord("00U", {"WhoId": "003A", "OwnerId": "005A"}))
    assert todo.values["kind"] == "task"
    meeting = apply(
        sf,
        "Event",
        RawRecord(
            "00V",
            {
                "WhoId": "003A",
                "OwnerId": "005A",
                "ActivityDateTime": "2024-03-01T09:30:00.000+0000",
            },
        ),
    )
    assert meeting.values["kind"] == "meeting" and meeting.values["at"].hour == 9
    lonely = apply(sf, "Task", RawRecord("00W", {"OwnerId": "005A"}))
    assert lonely.problems == ["an activity needs person or persons or org"]


def test_an_account_website_becomes_its_domain(sf: Mapping) -> None:
    rec = apply(
        sf,
        "Account",
        RawRecord(
            "001A",
            {
                "Name": "Acme GmbH",
                "Website": "https://www.acme.de/en",
                "BillingCountry": "Germany",
                "ParentId": "001P",
            },
        ),
    )
    assert rec.values["domains"] == ["acme.de"] and rec.values["country"] == "DE"
    assert rec.refs["parent"] == ("Account", "001P")


def test_hubspot_contacts_with_additional_emails_and_associations(hs: Mapping) -> None:
    raw = RawRecord(
        "1000001",
        {
            "email": "Ann@Acme.com",
            "hs_additional_emails": "ann.b@acme.com;broken;ANN@acme.com",
            "firstname": "Ann",
            "lastname": "B",
            "jobtitle": "VP Sales",
            "country": "United Kingdom",
            "associatedcompanyid": None,
            "hubspot_owner_id": "77",
        },
        associations={"companies": ["5000000009", "5000000010"]},
    )
    rec = apply(hs, "contacts", raw)
    assert rec.values["emails"] == ["ann@acme.com", "ann.b@acme.com"]
    assert any("'broken'" in n for n in rec.notes)
    assert rec.values["level"] == "vp" and rec.values["country"] == "GB"
    assert rec.refs == {"org": ("companies", "5000000009"), "owner": ("owners", "77")}
    raw.fields["associatedcompanyid"] = 5000000010.0  # a number property
    assert apply(hs, "contacts", raw).refs["org"] == ("companies", "5000000010")


def test_hubspot_deals_take_status_from_the_adapter_and_contacts_as_roles(hs: Mapping) -> None:
    raw = RawRecord(
        "8000000001",
        {
            "dealname": "Renewal",
            "amount": "1,250.50",
            "deal_currency_code": "GBP",
            "dealstage": "138276405",
            "_stage_status": "won",
            "closedate": "1719705600000",
            "createdate": "2024-01-02T03:04:05.123Z",
            "hubspot_owner_id": "77",
        },
        associations={"companies": ["5000000009"], "contacts": ["1000001", "1000002"]},
    )
    rec = apply(hs, "deals", raw)
    assert rec.values["status"] == "won" and rec.values["amount"] == 1250.5
    assert rec.values["close_date"] == date(2024, 6, 30)
    assert rec.refs["org"] == ("companies", "5000000009")
    assert rec.many_refs == {"persons": ("contacts", ["1000001", "1000002"])}


def test_hubspot_owners_and_engagements(hs: Mapping) -> None:
    owner = apply(
        hs,
        "owners",
        RawRecord(
            "77",
            {
                "email": "rep@ours.com",
                "firstName": "Rita",
                "lastName": "Rep",
                "teams": [{"id": "1", "name": "EMEA"}],
            },
        ),
    )
    assert owner.values == {
        "email": "rep@ours.com",
        "first_name": "Rita",
        "last_name": "Rep",
        "name": "Rita Rep",
        "team": "EMEA",
    }
    call = apply(
        hs,
        "calls",
        RawRecord(
            "31000000001",
            {
                "hs_timestamp": "2024-02-03T04:05:06Z",
                "hubspot_owner_id": "77",
                "hs_call_title": "Intro",
            },
            associations={"contacts": ["1000001"]},
        ),
    )
    assert call.values == {
        "kind": "call",
        "at": datetime(2024, 2, 3, 4, 5, 6, tzinfo=UTC),
        "subject": "Intro",
    }
    assert call.refs == {"member": ("owners", "77")}
    assert call.many_refs == {"persons": ("contacts", ["1000001"])}


def test_exchange_address_book_entries_and_mailbox_users(ex: Mapping) -> None:
    raw = RawRecord(
        "AAMk1",
        {
            "givenName": "Jo",
            "surname": "Lee",
            "displayName": "Jo Lee",
            "companyName": "Acme",
            "emailAddresses": [
                {"name": "Jo", "address": "JO@acme.com"},
                {"address": "jo@home.net"},
            ],
            "businessPhones": [],
            "mobilePhone": "+1 555",
        },
        container="user-1",
    )
    rec = apply(ex, "contacts", raw)
    assert rec.kind == "address_book"
    assert rec.values["emails"] == ["jo@acme.com", "jo@home.net"]
    assert rec.values["phone"] == "+1 555" and rec.values["company"] == "Acme"
    assert rec.refs == {"member": ("users", "user-1")}
    user = apply(
        ex,
        "users",
        RawRecord(
            "user-1",
            {
                "mail": None,
                "userPrincipalName": "Rep@Ours.com",
                "displayName": "Rep",
                "country": "Deutschland",
            },
        ),
    )
    assert user.values["email"] == "rep@ours.com" and user.values["country"] == "DE"


def test_outbound_fields_are_seen_as_pulled(sf: Mapping) -> None:
    rec = apply(sf, "Contact", contact(Carnet_Strength__c=3.0, Carnet_Known_By__c=None))
    assert rec.seen == {"Carnet_Strength__c": 3.0, "Carnet_Known_By__c": None}


def test_resolve_paths() -> None:
    raw = RawRecord(
        "1", {"a": {"b": [{"c": 1}, {"c": None}, {"c": 3}]}, "l": ["x", "", "y"]}, container="box"
    )
    assert resolve(raw, "a.b[].c") == [1, 3]
    assert resolve(raw, "a.b[2].c") == [3]
    assert resolve(raw, "a.b[9].c") == []
    assert resolve(raw, "l") == ["x", "y"]
    assert resolve(raw, "missing.x") == []
    assert resolve(raw, "$id") == ["1"] and resolve(raw, "$container") == ["box"]
