"""Contract tests of the Salesforce stand-in's writes through simple-salesforce: single records,
sObject Collections (allOrNone, the 200 cap), Tooling API custom fields, upsert by an external
id, and notes (ContentNote and its links).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from tests.contract.salesforce_fixtures import Env, error_code, install_fixtures

tls, start = install_fixtures()


# -- single records --------------------------------------------------------------------------------
def test_single_record_crud_and_describe(start: Callable[..., Env]) -> None:
    env = start()
    account = env.ids("SELECT Id FROM Account WHERE Name = 'Acme'")[0]
    created = env.obj("Contact").create(
        {"LastName": "New", "Email": "new@acme.test", "AccountId": account}
    )
    assert created["success"] is True and created["id"].startswith("003")
    rec = env.obj("Contact").get(created["id"])
    assert rec["Name"] == "New" and rec["OwnerId"].startswith("005") and rec["IsDeleted"] is False
    before = rec["SystemModstamp"]
    assert env.obj("Contact").update(created["id"], {"Title": "VP Sales"}) == 204
    after = env.obj("Contact").get(created["id"])
    assert after["Title"] == "VP Sales" and after["SystemModstamp"] > before
    assert env.obj("Contact").delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound):
        env.obj("Contact").get(created["id"])
    with pytest.raises(SalesforceResourceNotFound) as exc:
        env.obj("Contact").update(created["id"], {"Title": "x"})
    assert error_code(exc) == "ENTITY_IS_DELETED"
    fields = {f["name"]: f for f in env.obj("Contact").describe()["fields"]}
    assert fields["Email"]["type"] == "email" and fields["Email"]["length"] == 80
    assert fields["Name"]["updateable"] is False and fields["AccountId"]["referenceTo"] == [
        "Account"
    ]
    opp_fields = {f["name"]: f for f in env.obj("Opportunity").describe()["fields"]}
    stages = [p["value"] for p in opp_fields["StageName"]["picklistValues"]]
    assert stages[0] == "Prospecting" and stages[-2:] == ["Closed Won", "Closed Lost"]
    assert opp_fields["StageName"]["restrictedPicklist"] is True
    names = {o["name"] for o in env.rest("sobjects")["sobjects"]}
    assert names >= {
        "Contact",
        "Account",
        "User",
        "Opportunity",
        "OpportunityContactRole",
        "Task",
        "Event",
        "Note",
        "ContentNote",
        "ContentDocumentLink",
        "OpportunitySplit",
        "OpportunitySplitType",
    }


@pytest.mark.parametrize(
    "values, code",
    [
        ({"LastName": "X", "Nickname": "y"}, "INVALID_FIELD"),
        ({"LastName": "X", "Name": "y"}, "INVALID_FIELD_FOR_INSERT_UPDATE"),
        ({"LastName": "X" * 81}, "STRING_TOO_LONG"),
        ({"FirstName": "Only"}, "REQUIRED_FIELD_MISSING"),
        ({"LastName": "X", "Email": "not-an-email"}, "INVALID_EMAIL_ADDRESS"),
        ({"LastName": "X", "AccountId": "001xx"}, "MALFORMED_ID"),
        ({"LastName": "X", "ReportsToId": "001000000000000AAA"}, "FIELD_INTEGRITY_EXCEPTION"),
    ],
)
def test_single_create_validation(
    start: Callable[..., Env], values: dict[str, Any], code: str
) -> None:
    env = start()
    with pytest.raises(SalesforceMalformedRequest) as exc:
        env.obj("Contact").create(values)
    assert error_code(exc) == code


def test_splits_follow_the_opportunity_amount(start: Callable[..., Env]) -> None:
    env = start()
    split = env.sf.query(
        "SELECT OpportunityId, SplitPercentage, SplitAmount, SplitType.DeveloperName "
        "FROM OpportunitySplit"
    )["records"][0]
    assert split["SplitType"]["DeveloperName"] == "Revenue" and split["SplitAmount"] == 12000.0
    env.obj("Opportunity").update(split["OpportunityId"], {"Amount": 5000})
    after = env.sf.query("SELECT SplitAmount FROM OpportunitySplit")["records"][0]
    assert after["SplitAmount"] == 5000.0


# -- sObject Collections ---------------------------------------------------------------------------
def _contacts(n: int, **extra: Any) -> list[dict[str, Any]]:
    return [{"attributes": {"type": "Contact"}, "LastName": f"Bulk{i}", **extra} for i in range(n)]


def test_collections_create_update_delete(start: Callable[..., Env]) -> None:
    env = start()
    created = env.rest("composite/sobjects", method="POST", json={"records": _contacts(3)})
    assert [r["success"] for r in created] == [True] * 3
    assert all(set(r) == {"id", "success", "errors"} for r in created)
    updates = [
        {"attributes": {"type": "Contact"}, "id": r["id"], "Title": "Buyer"} for r in created
    ]
    updates[1]["Title"] = "T" * 200
    result = env.rest("composite/sobjects", method="PATCH", json={"records": updates})
    assert [r["success"] for r in result] == [True, False, True]
    assert result[1] == {
        "success": False,
        "errors": [
            {
                "statusCode": "STRING_TOO_LONG",
                "message": result[1]["errors"][0]["message"],
                "fields": ["Title"],
            }
        ],
    }
    ids = ",".join(r["id"] for r in created)
    refused = env.rest(
        "composite/sobjects",
        method="DELETE",
        params={"ids": ids + ",003000000000000AAA", "allOrNone": "true"},
    )
    assert [r["success"] for r in refused] == [False] * 4  # one unknown id: all rolled back
    assert refused[3]["errors"][0]["statusCode"] == "INVALID_CROSS_REFERENCE_KEY"
    deleted = env.rest("composite/sobjects", method="DELETE", params={"ids": ids})
    assert [r["success"] for r in deleted] == [True] * 3
    assert env.ids("SELECT Id FROM Contact WHERE LastName LIKE 'Bulk%'") == []
    split_type = [{"attributes": {"type": "OpportunitySplitType"}, "MasterLabel": "Mine"}]
    result = env.rest("composite/sobjects", method="POST", json={"records": split_type})
    assert result[0]["errors"][0]["statusCode"] == "INVALID_TYPE_FOR_OPERATION"


def test_collections_cap_is_200(start: Callable[..., Env]) -> None:
    env = start()
    ok = env.rest("composite/sobjects", method="POST", json={"records": _contacts(200)})
    assert len(ok) == 200
    with pytest.raises(SalesforceMalformedRequest) as exc:
        env.rest("composite/sobjects", method="POST", json={"records": _contacts(201)})
    assert error_code(exc) == "EXCEEDED_ID_LIMIT"


@pytest.mark.parametrize("all_or_none", [True, False])
def test_all_or_none(start: Callable[..., Env], all_or_none: bool) -> None:
    env = start()
    records = _contacts(3)
    records[1]["Email"] = "broken"
    body = {"allOrNone": all_or_none, "records": records}
    result = env.rest("composite/sobjects", method="POST", json=body)
    assert result[1]["errors"][0]["statusCode"] == "INVALID_EMAIL_ADDRESS"
    written = env.ids("SELECT Id FROM Contact WHERE LastName LIKE 'Bulk%'")
    if all_or_none:
        assert written == []
        assert result[0] == {
            "success": False,
            "errors": [
                {
                    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                    "message": "Record rolled back because not all records were valid and the "
                    "request was using AllOrNone header",
                    "fields": [],
                }
            ],
        }
    else:
        assert len(written) == 2 and result[0]["success"] and result[2]["success"]


def test_partial_fault_fails_single_records(start: Callable[..., Env]) -> None:
    env = start()
    env.admin("POST", "/faults", {"once": ["partial"]})
    result = env.rest("composite/sobjects", method="POST", json={"records": _contacts(3)})
    assert [r["success"] for r in result] == [False, True, True]
    assert result[0]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"


def test_wrong_json_type_fails_the_whole_request(start: Callable[..., Env]) -> None:
    env = start()
    records = _contacts(2)
    records[1]["Title"] = {"nested": True}
    with pytest.raises(SalesforceMalformedRequest) as exc:
        env.rest("composite/sobjects", method="POST", json={"records": records})
    assert error_code(exc) == "JSON_PARSER_ERROR"
    assert env.ids("SELECT Id FROM Contact WHERE LastName LIKE 'Bulk%'") == []


# -- Tooling API custom fields, then upsert by an external id --------------------------------------
def _custom_field(env: Env, full_name: str, **meta: Any) -> Any:
    return env.sf.toolingexecute(
        "sobjects/CustomField", method="POST", data={"FullName": full_name, "Metadata": meta}
    )


def _grant(env: Env, *fields: str) -> None:
    """Read and edit on `fields` ('Contact.X__c') for the session's user, through a permission
    set (a field made through the Tooling API has no field-level security until granted)."""
    pset = env.obj("PermissionSet").create({"Name": "Grant", "Label": "Grant"})["id"]
    for full in fields:
        row = {"ParentId": pset, "SobjectType": full.split(".")[0], "Field": full}
        env.obj("FieldPermissions").create(row | {"PermissionsRead": True, "PermissionsEdit": True})
    env.obj("PermissionSetAssignment").create(
        {"AssigneeId": env.standin.api_user, "PermissionSetId": pset}
    )


def test_tooling_custom_fields_show_in_describe_and_take_values(start: Callable[..., Env]) -> None:
    env = start()
    made = _custom_field(
        env, "Contact.Carnet_Strength__c", type="Number", label="Strength", precision=1, scale=0
    )
    assert made["success"] is True and made["id"].startswith("00N")
    with pytest.raises(SalesforceMalformedRequest) as exc:
        _custom_field(
            env, "Contact.Carnet_Strength__c", type="Number", label="Strength", precision=1, scale=0
        )
    assert error_code(exc) == "DUPLICATE_DEVELOPER_NAME"
    found = env.sf.toolingexecute(
        "query/?q=SELECT+Id,DeveloperName,TableEnumOrId+FROM+CustomField+WHERE+TableEnumOrId='Contact'"
    )
    assert [(r["DeveloperName"], r["TableEnumOrId"]) for r in found["records"]] == [
        ("Carnet_Strength", "Contact")
    ]
    with pytest.raises(SalesforceMalformedRequest) as exc:  # FullName: one row at a time
        env.sf.toolingexecute("query/?q=SELECT+FullName+FROM+CustomField")
    assert error_code(exc) == "MALFORMED_QUERY"
    one = env.sf.toolingexecute("query/?q=SELECT+FullName,Metadata+FROM+CustomField+LIMIT+1")
    assert one["records"][0]["FullName"] == "Contact.Carnet_Strength__c"
    assert one["records"][0]["Metadata"]["precision"] == 1
    _grant(env, "Contact.Carnet_Strength__c")
    field = next(
        f for f in env.obj("Contact").describe()["fields"] if f["name"] == "Carnet_Strength__c"
    )
    assert field["custom"] is True and field["type"] == "double" and field["updateable"] is True
    some = env.ids("SELECT Id FROM Contact LIMIT 1")[0]
    env.obj("Contact").update(some, {"Carnet_Strength__c": 4})
    assert (
        env.sf.query(f"SELECT Carnet_Strength__c FROM Contact WHERE Id = '{some}'")["records"][0][
            "Carnet_Strength__c"
        ]
        == 4
    )


@pytest.mark.parametrize(
    "full_name, meta",
    [
        ("Contact.Carnet_Level__c", {"type": "Number", "label": "L", "precision": 1}),
        ("Contact.Carnet__Level__c", {"type": "Text", "label": "L", "length": 10}),
        ("Contact.Carnet_Note", {"type": "Text", "label": "L", "length": 10}),
        ("Contact.Carnet_Flag__c", {"type": "Checkbox", "label": "F"}),
        ("Contact.Carnet_Text__c", {"type": "Text", "label": "T", "length": 300}),
        ("Widget.Carnet_Text__c", {"type": "Text", "label": "T", "length": 30}),
        ("Contact.Carnet_X__c", {"type": "Hologram", "label": "X"}),
    ],
)
def test_tooling_refuses_bad_field_definitions(
    start: Callable[..., Env], full_name: str, meta: dict[str, Any]
) -> None:
    env = start()
    with pytest.raises(SalesforceMalformedRequest) as exc:
        _custom_field(env, full_name, **meta)
    assert error_code(exc) == "FIELD_INTEGRITY_EXCEPTION"


def test_upsert_by_external_id(start: Callable[..., Env]) -> None:
    env = start()
    _custom_field(
        env, "Contact.Carnet_Key__c", type="Text", label="Key", length=40, externalId=True
    )
    _grant(env, "Contact.Carnet_Key__c")
    first = [{**r, "Carnet_Key__c": f"K{i}"} for i, r in enumerate(_contacts(2))]
    result = env.rest(
        "composite/sobjects/Contact/Carnet_Key__c", method="PATCH", json={"records": first}
    )
    assert [(r["success"], r["created"]) for r in result] == [(True, True), (True, True)]
    again = [
        {**first[0], "Title": "CFO", "Carnet_Key__c": "k0"},
        {**first[1], "Carnet_Key__c": "K9"},
    ]
    result = env.rest(
        "composite/sobjects/Contact/Carnet_Key__c", method="PATCH", json={"records": again}
    )
    assert [r["created"] for r in result] == [False, True]
    assert (
        env.sf.query("SELECT Title FROM Contact WHERE Carnet_Key__c = 'K0'")["records"][0]["Title"]
        == "CFO"
    )
    with pytest.raises(SalesforceMalformedRequest) as exc:
        env.rest("composite/sobjects/Contact/Email", method="PATCH", json={"records": again})
    assert error_code(exc) == "INVALID_FIELD"
    single = env.obj("Contact").upsert("Carnet_Key__c/K42", {"LastName": "Single"})
    assert single == 201


# -- notes -----------------------------------------------------------------------------------------
def test_notes_content_notes_and_links(start: Callable[..., Env]) -> None:
    env = start()
    account = env.ids("SELECT Id FROM Account WHERE Name = 'Acme'")[0]
    note = env.obj("Note").create({"ParentId": account, "Title": "Plan", "Body": "x" * 32000})
    assert note["success"]
    with pytest.raises(SalesforceMalformedRequest) as exc:
        env.obj("Note").create({"ParentId": account, "Title": "T" * 81})
    assert error_code(exc) == "STRING_TOO_LONG"
    text = "<p>Plan for R&amp;D &lt;2025&gt;</p>"
    content = base64.b64encode(text.encode()).decode()
    doc = env.obj("ContentNote").create({"Title": "Account plan", "Content": content})
    link = {
        "ContentDocumentId": doc["id"],
        "LinkedEntityId": account,
        "ShareType": "V",
        "Visibility": "AllUsers",
    }
    assert env.obj("ContentDocumentLink").create(link)["success"]
    with pytest.raises(SalesforceMalformedRequest) as exc:
        env.obj("ContentDocumentLink").create(link)
    assert error_code(exc) == "DUPLICATE_VALUE"
    links = env.sf.query(
        "SELECT ContentDocumentId, ShareType FROM ContentDocumentLink "
        f"WHERE LinkedEntityId = '{account}'"
    )["records"]
    assert links == [
        {"attributes": links[0]["attributes"], "ContentDocumentId": doc["id"], "ShareType": "V"}
    ]
    owners = env.sf.query(
        f"SELECT LinkedEntityId FROM ContentDocumentLink WHERE ContentDocumentId = '{doc['id']}'"
    )
    assert owners["totalSize"] == 2  # Salesforce links a new note to its owner as well
    row = env.sf.query(f"SELECT Content, TextPreview FROM ContentNote WHERE Id = '{doc['id']}'")[
        "records"
    ][0]
    assert row["TextPreview"] == "Plan for R&D <2025>"
    blob = env.raw("GET", row["Content"])
    assert blob.status_code == 200 and blob.content == text.encode()
    bad = base64.b64encode(b"Plan for R&D <script>").decode()
    with pytest.raises(SalesforceMalformedRequest) as exc:
        env.obj("ContentNote").create({"Title": "Bad", "Content": bad})
    assert error_code(exc) == "FIELD_INTEGRITY_EXCEPTION"
