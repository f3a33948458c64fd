"""The fields Microsoft Graph v1.0 documents for the two objects the Exchange adapter reads, with
their Graph types: Graph has no describe endpoint, so `describe()` answers from these tables.

Sources: the `user` and `contact` resource pages of the Graph v1.0 reference. `writable` is False
throughout: Carnet reads Exchange and never writes to it.
"""

from __future__ import annotations

from connector.core.records import FieldInfo

STRING, STRINGS, WHEN = "String", "Collection(String)", "DateTimeOffset"
ADDRESS = "microsoft.graph.physicalAddress"

USER_FIELDS: dict[str, str] = {
    "id": STRING,
    "accountEnabled": "Boolean",
    "businessPhones": STRINGS,
    "city": STRING,
    "companyName": STRING,
    "country": STRING,
    "createdDateTime": WHEN,
    "department": STRING,
    "displayName": STRING,
    "employeeHireDate": WHEN,
    "employeeId": STRING,
    "employeeType": STRING,
    "faxNumber": STRING,
    "givenName": STRING,
    "jobTitle": STRING,
    "mail": STRING,
    "mailNickname": STRING,
    "mobilePhone": STRING,
    "officeLocation": STRING,
    "otherMails": STRINGS,
    "postalCode": STRING,
    "preferredLanguage": STRING,
    "proxyAddresses": STRINGS,
    "state": STRING,
    "streetAddress": STRING,
    "surname": STRING,
    "usageLocation": STRING,
    "userPrincipalName": STRING,
    "userType": STRING,
}

CONTACT_FIELDS: dict[str, str] = {
    "id": STRING,
    "assistantName": STRING,
    "birthday": WHEN,
    "businessAddress": ADDRESS,
    "businessHomePage": STRING,
    "businessPhones": STRINGS,
    "categories": STRINGS,
    "changeKey": STRING,
    "children": STRINGS,
    "companyName": STRING,
    "createdDateTime": WHEN,
    "department": STRING,
    "displayName": STRING,
    "emailAddresses": "Collection(microsoft.graph.emailAddress)",
    "fileAs": STRING,
    "generation": STRING,
    "givenName": STRING,
    "homeAddress": ADDRESS,
    "homePhones": STRINGS,
    "imAddresses": STRINGS,
    "initials": STRING,
    "jobTitle": STRING,
    "lastModifiedDateTime": WHEN,
    "manager": STRING,
    "middleName": STRING,
    "mobilePhone": STRING,
    "nickName": STRING,
    "officeLocation": STRING,
    "otherAddress": ADDRESS,
    "parentFolderId": STRING,
    "personalNotes": STRING,
    "profession": STRING,
    "spouseName": STRING,
    "surname": STRING,
    "title": STRING,
    "yomiCompanyName": STRING,
    "yomiGivenName": STRING,
    "yomiSurname": STRING,
}

OBJECTS = {"users": USER_FIELDS, "contacts": CONTACT_FIELDS}


def field_infos(object_name: str) -> dict[str, FieldInfo] | None:
    """The object's fields, or None when the adapter does not read such an object."""
    table = OBJECTS.get(object_name)
    if table is None:
        return None
    return {name: FieldInfo(name, kind, writable=False) for name, kind in table.items()}
