"""Field-level security as a real org has it, driven through simple-salesforce and the adapter.

The stand-in: a field made through the Tooling API is hidden from every user's describe and SOQL
and refuses their writes (INVALID_FIELD_FOR_INSERT_UPDATE) until a permission set assigned to that
user has a FieldPermissions row for it; making it again is DUPLICATE_DEVELOPER_NAME. The adapter's
install: it makes the fields and the `Carnet_Integration` permission set with its grants and
assignment, changes nothing the second time, and grants (never re-makes) a field that exists but
is hidden from Carnet's user.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from adapters.salesforce.adapter import SalesforceAdapter
from adapters.salesforce.writeback import create_field
from connector.core.records import FieldSpec, Write
from sandbox.runner import Sandbox
from tests.contract.cases.base import admin
from tests.contract.cases.salesforce import CASE
from tests.contract.salesforce_fixtures import Env, V, error_code, install_fixtures

tls, start = install_fixtures()

FIELD = "Contact.Carnet_Strength__c"
NUMBER = {"type": "Number", "label": "Strength", "precision": 1, "scale": 0}


def make_field(env: Env, full_name: str = FIELD, **meta: Any) -> Any:
    return env.sf.toolingexecute(
        "sobjects/CustomField",
        method="POST",
        data={"FullName": full_name, "Metadata": meta or NUMBER},
    )


def described(sf: Salesforce, obj: str = "Contact") -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in getattr(sf, obj).describe()["fields"]}


def update(sf: Salesforce, record_id: str, **values: Any) -> dict[str, Any]:
    """One sObject Collections update; its one result."""
    body = {"records": [{"attributes": {"type": "Contact"}, "Id": record_id, **values}]}
    (result,) = sf.restful("composite/sobjects", method="PATCH", json=body)
    return dict(result)


def grant(env: Env, user: str, field: str = FIELD, edit: bool = True, name: str = "Grant") -> str:
    """A permission set with read (and edit) on `field`, assigned to `user`; its id."""
    pset = env.obj("PermissionSet").create({"Name": name, "Label": name})["id"]
    env.obj("FieldPermissions").create(
        {"ParentId": pset, "SobjectType": field.split(".")[0], "Field": field,
         "PermissionsRead": True, "PermissionsEdit": edit}
    )  # fmt: skip
    env.obj("PermissionSetAssignment").create({"AssigneeId": user, "PermissionSetId": pset})
    return str(pset)


def as_user(env: Env, username: str) -> Salesforce:
    """A session of another user (JWT bearer: the stand-in has no connected app here)."""
    claims = {"iss": "3MVG9", "sub": username, "aud": "https://login.salesforce.com"}
    assertion = jwt.encode({**claims, "exp": int(time.time()) + 300}, "k" * 32, algorithm="HS256")
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}
    answer = env.http.post(f"{env.url}/services/oauth2/token", data=form, timeout=10).json()
    return Salesforce(
        instance_url=answer["instance_url"], session_id=answer["access_token"],
        session=env.http, version=V,
    )  # fmt: skip


def a_contact(env: Env) -> str:
    return str(env.ids("SELECT Id FROM Contact LIMIT 1")[0])


# -- the stand-in ----------------------------------------------------------------------------------
def test_a_tooling_field_is_hidden_and_refuses_writes_until_granted(
    start: Callable[..., Env],
) -> None:
    env = start()
    assert make_field(env)["success"] is True
    assert "Carnet_Strength__c" not in described(env.sf)
    with pytest.raises(SalesforceMalformedRequest) as exc:
        env.sf.query("SELECT Carnet_Strength__c FROM Contact")
    assert error_code(exc) == "INVALID_FIELD"
    contact = a_contact(env)
    refused = update(env.sf, contact, Carnet_Strength__c=4)
    assert refused["success"] is False
    assert refused["errors"][0]["statusCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert refused["errors"][0]["fields"] == ["Carnet_Strength__c"]
    with pytest.raises(SalesforceResourceNotFound):  # not even an upsert key when unseen
        env.rest("composite/sobjects/Contact/Carnet_Strength__c", method="PATCH",
                 json={"records": []})  # fmt: skip
    admin_view = env.admin("GET", "/records/Contact").json()[0]
    assert "Carnet_Strength__c" in admin_view  # the org's administrator sees every field

    grant(env, env.standin.api_user)
    field = described(env.sf)["Carnet_Strength__c"]
    assert field["updateable"] is True and field["createable"] is True
    assert update(env.sf, contact, Carnet_Strength__c=4)["success"] is True
    row = env.sf.query(f"SELECT Carnet_Strength__c FROM Contact WHERE Id = '{contact}'")
    assert row["records"][0]["Carnet_Strength__c"] == 4


def test_making_the_field_again_is_a_duplicate_developer_name(start: Callable[..., Env]) -> None:
    env = start()
    make_field(env)
    with pytest.raises(SalesforceMalformedRequest) as exc:
        make_field(env)
    assert error_code(exc) == "DUPLICATE_DEVELOPER_NAME"


def test_read_alone_shows_the_field_read_only(start: Callable[..., Env]) -> None:
    env = start()
    make_field(env)
    grant(env, env.standin.api_user, edit=False)
    field = described(env.sf)["Carnet_Strength__c"]
    assert (field["updateable"], field["createable"], field["calculated"]) == (False, False, False)
    assert env.sf.query("SELECT Carnet_Strength__c FROM Contact LIMIT 1")["records"]
    refused = update(env.sf, a_contact(env), Carnet_Strength__c=2)
    assert refused["errors"][0]["statusCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_a_grant_is_per_user_and_goes_with_its_permission_set(start: Callable[..., Env]) -> None:
    env = start()
    make_field(env)
    pset = grant(env, env.standin.api_user)
    other = as_user(env, "ann@northwind.test")
    assert "Carnet_Strength__c" in described(env.sf)
    assert "Carnet_Strength__c" not in described(other)
    env.obj("PermissionSet").delete(pset)  # its FieldPermissions and assignments go with it
    assert "Carnet_Strength__c" not in described(env.sf)
    assert env.sf.query("SELECT COUNT() FROM FieldPermissions")["totalSize"] == 0


@pytest.mark.parametrize(
    ("row", "code"),
    [
        ({"Field": FIELD, "PermissionsRead": False, "PermissionsEdit": True},
         "FIELD_INTEGRITY_EXCEPTION"),
        ({"Field": "Contact.Nope__c", "PermissionsRead": True},
         "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        ({"Field": FIELD, "SobjectType": "Account", "PermissionsRead": True},
         "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        ({"Field": FIELD, "PermissionsRead": True}, "DUPLICATE_VALUE"),
    ],
)  # fmt: skip
def test_field_permissions_refused_as_salesforce_does(
    start: Callable[..., Env], row: dict[str, Any], code: str
) -> None:
    env = start()
    make_field(env)
    pset = grant(env, env.standin.api_user)
    with pytest.raises(SalesforceMalformedRequest) as exc:
        env.obj("FieldPermissions").create({"ParentId": pset, "SobjectType": "Contact", **row})
    assert error_code(exc) == code


def test_permission_sets_and_assignments_are_unique(start: Callable[..., Env]) -> None:
    env = start()
    make_field(env)
    pset = grant(env, env.standin.api_user)
    with pytest.raises(SalesforceMalformedRequest) as exc:
        env.obj("PermissionSet").create({"Name": "Grant", "Label": "Again"})
    assert error_code(exc) == "DUPLICATE_DEVELOPER_NAME"
    with pytest.raises(SalesforceMalformedRequest) as exc:
        env.obj("PermissionSetAssignment").create(
            {"AssigneeId": env.standin.api_user, "PermissionSetId": pset}
        )
    assert error_code(exc) == "DUPLICATE_VALUE"


# -- the adapter's install -------------------------------------------------------------------------
@pytest.fixture
def adapter(fresh_sandbox: Sandbox) -> Iterator[SalesforceAdapter]:
    made = CASE.adapter(fresh_sandbox)
    made.client.sleep = lambda s: None
    yield made
    made.close()


SPECS = [
    FieldSpec("Carnet_Strength__c", "Number", "Strength", precision=1, scale=0),
    FieldSpec("Carnet_Known_By__c", "LongTextArea", "Known by", length=4000),
]


def calls(sandbox: Sandbox) -> dict[str, int]:
    stats = admin(sandbox, "salesforce", "GET", "stats")["calls"]
    return {k.replace("/services/data/v{version}", ""): v for k, v in stats.items()}


def writes(sandbox: Sandbox) -> dict[str, int]:
    """The calls that change the org (logins aside)."""
    return {k: v for k, v in calls(sandbox).items() if not k.startswith(("GET", "POST /services"))}


def actions(steps: list[Any]) -> list[tuple[str, str, str]]:
    return [(s.object, s.name, s.action) for s in steps]


def test_install_makes_grants_and_assigns_then_changes_nothing(
    fresh_sandbox: Sandbox, adapter: SalesforceAdapter
) -> None:
    planned = adapter.ensure_fields("Contact", SPECS, dry_run=True)
    assert writes(fresh_sandbox) == {}
    first = adapter.ensure_fields("Contact", SPECS)
    assert (
        actions(first)
        == actions(planned)
        == [
            ("Contact", "Carnet_Strength__c", "create"),
            ("Contact", "Carnet_Known_By__c", "create"),
            ("PermissionSet", "Carnet_Integration", "create"),
            ("Contact", "Carnet_Strength__c", "grant"),
            ("Contact", "Carnet_Known_By__c", "grant"),
            ("PermissionSetAssignment", "Carnet_Integration", "assign"),
        ]
    )
    fields = adapter.describe("Contact")
    assert all(fields[s.name].writable for s in SPECS)
    contact = sorted(CASE.live_ids(fresh_sandbox, "Contact"))[0]
    (result,) = adapter.push([Write("Contact", contact, {"Carnet_Strength__c": 3}, key="k")])
    assert result.ok, result.error

    made = writes(fresh_sandbox)
    again = SalesforceAdapter(adapter.settings, adapter.settings.secret)
    try:
        second = again.ensure_fields("Contact", SPECS)
    finally:
        again.close()
    assert {a for _, _, a in actions(second)} == {"exists", "granted", "assigned"}
    assert writes(fresh_sandbox) == made


def test_a_field_made_earlier_without_access_is_granted_not_made_again(
    fresh_sandbox: Sandbox, adapter: SalesforceAdapter
) -> None:
    meta = {"type": "Number", "label": "Strength", "precision": 1, "scale": 0}
    body = {"FullName": "Contact.Carnet_Strength__c", "Metadata": meta}
    adapter.client.call(lambda sf: sf.restful("tooling/sobjects/CustomField", method="POST",
                                              json=body), "setup")  # fmt: skip
    assert "Carnet_Strength__c" not in adapter.describe("Contact")  # hidden from Carnet's user
    steps = adapter.ensure_fields("Contact", SPECS[:1])
    assert actions(steps)[0] == ("Contact", "Carnet_Strength__c", "exists")
    assert "hidden" in steps[0].detail
    assert calls(fresh_sandbox)["POST /tooling/sobjects/CustomField"] == 1  # the setup's only
    assert adapter.describe("Contact")["Carnet_Strength__c"].writable


def test_a_hidden_field_of_another_type_is_incompatible(
    fresh_sandbox: Sandbox, adapter: SalesforceAdapter
) -> None:
    body = {"FullName": "Contact.Carnet_Strength__c",
            "Metadata": {"type": "Text", "label": "Strength", "length": 10}}  # fmt: skip
    adapter.client.call(lambda sf: sf.restful("tooling/sobjects/CustomField", method="POST",
                                              json=body), "setup")  # fmt: skip
    steps = adapter.ensure_fields("Contact", SPECS[:1])
    assert [(s.action, s.detail) for s in steps] == [
        ("incompatible", "exists as Text (hidden from Carnet's user); the mapping wants Number")
    ]
    assert "POST /sobjects/PermissionSet" not in calls(fresh_sandbox)


def test_a_duplicate_developer_name_is_taken_as_made(
    fresh_sandbox: Sandbox, adapter: SalesforceAdapter
) -> None:
    assert create_field(adapter.client, "Contact", SPECS[0]) is True
    assert create_field(adapter.client, "Contact", SPECS[0]) is False
