"""The Salesforce stand-in's objects and fields (what `describe` shows), record ids with their
case-safe suffix, and the describe bodies. Custom fields added through the Tooling API join here.
"""

from __future__ import annotations

import copy
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

API_VERSIONS = [f"{v}.0" for v in range(52, 62)]
RELEASES = {52: "Summer '21", 53: "Winter '22", 54: "Spring '22", 55: "Summer '22"}
RELEASES |= {56: "Winter '23", 57: "Spring '23", 58: "Summer '23", 59: "Winter '24"}
RELEASES |= {60: "Spring '24", 61: "Summer '24"}

STRING_TYPES = {"string", "email", "phone", "url", "textarea", "picklist", "combobox"}
NUMBER_TYPES = {"double", "currency", "percent", "int"}
ID_TYPES = {"id", "reference"}
SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "datetime": "xsd:dateTime",
    "date": "xsd:date",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "int": "xsd:int",
    "base64": "xsd:base64Binary",
}

# Salesforce's standard opportunity stages: (name, probability, is_closed, is_won).
STAGES = [
    ("Prospecting", 10, False, False),
    ("Qualification", 10, False, False),
    ("Needs Analysis", 20, False, False),
    ("Value Proposition", 50, False, False),
    ("Id. Decision Makers", 60, False, False),
    ("Perception Analysis", 70, False, False),
    ("Proposal/Price Quote", 75, False, False),
    ("Negotiation/Review", 90, False, False),
    ("Closed Won", 100, True, True),
    ("Closed Lost", 0, True, False),
]
CURRENCIES = ("USD", "EUR", "GBP", "CAD", "SEK", "JPY", "AUD", "BRL", "MXN", "CHF")
ROLES: tuple[str, ...] = (
    *("Business User", "Decision Maker", "Economic Buyer", "Economic Decision Maker"),
    *("Evaluator", "Executive Sponsor", "Influencer", "Technical Buyer", "Other"),
)
INDUSTRIES: tuple[str, ...] = (
    *("Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications"),
    *("Construction", "Consulting", "Education", "Electronics", "Energy", "Engineering"),
    *("Entertainment", "Finance", "Government", "Healthcare", "Insurance", "Manufacturing"),
    *("Media", "Retail", "Technology", "Transportation"),
)


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    length: int = 0
    create: bool = True
    update: bool = True
    nillable: bool = True
    custom: bool = False
    external_id: bool = False
    reference_to: tuple[str, ...] = ()
    relationship: str | None = None
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    precision: int = 0
    scale: int = 0
    label: str = ""
    name_field: bool = False
    defaulted: bool = False  # has a default on create, so not required even if not nillable

    @property
    def filterable(self) -> bool:
        if self.type in ("base64", "complexvalue"):
            return False
        return not (self.type == "textarea" and self.length > 255)

    @property
    def required_on_create(self) -> bool:
        return self.create and not self.nillable and not self.defaulted and self.type != "boolean"

    def describe(self) -> dict[str, Any]:
        is_text = self.type in STRING_TYPES or self.type in ID_TYPES
        return {
            "name": self.name,
            "label": self.label or _label(self.name),
            "type": self.type,
            "length": self.length if is_text else 0,
            "byteLength": self.length * 3 if is_text else 0,
            "precision": self.precision,
            "scale": self.scale,
            "digits": 9 if self.type == "int" else 0,
            "soapType": SOAP_TYPES.get(self.type, "xsd:string"),
            "createable": self.create,
            "updateable": self.update,
            "nillable": self.nillable,
            "custom": self.custom,
            "externalId": self.external_id,
            "idLookup": self.type == "id" or self.external_id or self.type == "email",
            "unique": self.type == "id",
            "calculated": not self.create and not self.update and self.type not in ID_TYPES,
            "defaultedOnCreate": self.defaulted or self.type == "boolean",
            "nameField": self.name_field,
            "filterable": self.filterable,
            "sortable": self.filterable,
            "groupable": self.filterable and self.type not in NUMBER_TYPES,
            "caseSensitive": False,
            "autoNumber": False,
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship,
            "restrictedPicklist": self.restricted,
            "picklistValues": [_picklist_entry(v) for v in self.picklist],
            "extraTypeInfo": "plaintextarea" if self.type == "textarea" else None,
        }


def _label(name: str) -> str:
    base = name.removesuffix("__c").removesuffix("Id") if name != "Id" else "Record ID"
    return re.sub(r"(?<=[a-z])(?=[A-Z])|_", " ", base).strip()


def _picklist_entry(value: str) -> dict[str, Any]:
    return {"active": True, "defaultValue": False, "label": value, "validFor": None, "value": value}


def s(name: str, length: int, **kw: Any) -> Field:
    return Field(name, kw.pop("type", "string"), length, **kw)


def ref(name: str, *targets: str, rel: str | None = None, **kw: Any) -> Field:
    relationship = rel if rel is not None else name.removesuffix("Id")
    return Field(name, "reference", 18, reference_to=targets, relationship=relationship, **kw)


def pick(name: str, values: tuple[str, ...], **kw: Any) -> Field:
    return Field(name, "picklist", 255, picklist=values, **kw)


def typed(name: str, type_: str, **kw: Any) -> Field:
    return Field(name, type_, **kw)


RO: dict[str, Any] = {"create": False, "update": False}
CREATE_ONLY: dict[str, Any] = {"update": False}


def _system_fields(audit: bool = True) -> list[Field]:
    out = [
        Field("Id", "id", 18, nillable=False, **RO),
        typed("IsDeleted", "boolean", nillable=False, **RO),
    ]
    if audit:
        out += [
            typed("CreatedDate", "datetime", nillable=False, **RO),
            ref("CreatedById", "User", nillable=False, **RO),
            typed("LastModifiedDate", "datetime", nillable=False, **RO),
            ref("LastModifiedById", "User", nillable=False, **RO),
        ]
    return [*out, typed("SystemModstamp", "datetime", nillable=False, **RO)]


OWNER = ref("OwnerId", "User", nillable=False, defaulted=True)


@dataclass
class SObject:
    name: str
    key_prefix: str
    fields: dict[str, Field] = field(default_factory=dict)  # keyed by lower-cased name
    label: str = ""
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    mergeable: bool = False

    def field(self, name: str) -> Field | None:
        return self.fields.get(name.lower())

    def add(self, f: Field) -> None:
        self.fields[f.name.lower()] = f

    def relationship(self, name: str) -> Field | None:
        for f in self.fields.values():
            if f.relationship and f.relationship.lower() == name.lower():
                return f
        return None

    def describe(self, version: str) -> dict[str, Any]:
        return {
            **self.summary(version),
            "fields": [f.describe() for f in self.fields.values()],
            "childRelationships": [],
            "recordTypeInfos": [],
            "supportedScopes": [{"label": "All records", "name": "everything"}],
        }

    def summary(self, version: str) -> dict[str, Any]:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {
            "name": self.name,
            "label": self.label or _label(self.name),
            "labelPlural": (self.label or _label(self.name)) + "s",
            "keyPrefix": self.key_prefix,
            "custom": False,
            "createable": self.createable,
            "updateable": self.updateable,
            "deletable": self.deletable,
            "mergeable": self.mergeable,
            "undeletable": self.deletable,
            "queryable": True,
            "retrieveable": True,
            "replicateable": True,
            "searchable": True,
            "urls": {
                "sobject": base,
                "describe": f"{base}/describe",
                "rowTemplate": f"{base}/{{ID}}",
            },
        }


def make_object(
    name: str, prefix: str, fields: list[Field], audit: bool = True, **kw: Any
) -> SObject:
    obj = SObject(name, prefix, **kw)
    for f in [*_system_fields(audit), *fields]:
        obj.add(f)
    return obj


def _base_objects() -> dict[str, SObject]:
    objs = [
        _user(),
        _account(),
        _contact(),
        _opportunity(),
        make_object(
            "OpportunityContactRole",
            "00K",
            [
                ref("OpportunityId", "Opportunity", nillable=False, **CREATE_ONLY),
                ref("ContactId", "Contact", nillable=False),
                pick("Role", ROLES),
                typed("IsPrimary", "boolean", nillable=False),
            ],
        ),
        make_object("Task", "00T", _activity_fields("Task")),
        make_object("Event", "00U", _activity_fields("Event")),
        make_object(
            "Note",
            "002",
            [
                ref(
                    "ParentId",
                    *("Account", "Contact", "Opportunity"),
                    rel="Parent",
                    nillable=False,
                    update=False,
                ),
                s("Title", 80, nillable=False, name_field=True),
                s("Body", 32000, type="textarea"),
                typed("IsPrivate", "boolean", nillable=False),
                OWNER,
            ],
        ),
        _content_note(),
        make_object(
            "ContentDocumentLink",
            "06A",
            [
                ref("ContentDocumentId", "ContentDocument", nillable=False, **CREATE_ONLY),
                ref(
                    "LinkedEntityId",
                    *("Account", "Contact", "Opportunity", "User"),
                    nillable=False,
                    update=False,
                ),
                pick("ShareType", ("V", "C", "I"), restricted=True, defaulted=True),
                pick(
                    "Visibility",
                    ("AllUsers", "InternalUsers", "SharedUsers"),
                    restricted=True,
                    defaulted=True,
                ),
            ],
            audit=False,
            label="Content Document Link",
        ),
        make_object(
            "OpportunitySplit",
            "049",
            [
                ref("OpportunityId", "Opportunity", nillable=False, **CREATE_ONLY),
                ref("SplitOwnerId", "User", nillable=False),
                ref("SplitTypeId", "OpportunitySplitType", nillable=False, **CREATE_ONLY),
                typed("SplitPercentage", "percent", precision=5, scale=2, nillable=False),
                typed("SplitAmount", "currency", precision=18, scale=2, **RO),
                s("SplitNote", 255),
            ],
        ),
        make_object(
            "OpportunitySplitType",
            "149",
            [
                s("MasterLabel", 80, nillable=False, **RO),
                s("DeveloperName", 80, nillable=False, **RO),
                typed("IsActive", "boolean", **RO),
                typed("IsTotalValidated", "boolean", **RO),
                s("SplitDataField", 80, **RO),
                s("SplitEntity", 80, **RO),
            ],
            createable=False,
            updateable=False,
            deletable=False,
        ),
    ]
    return {o.name: o for o in objs}


def _user() -> SObject:
    return make_object(
        "User",
        "005",
        [
            s("Username", 80, nillable=False),
            s("LastName", 80, nillable=False),
            s("FirstName", 40),
            s("Name", 121, name_field=True, **RO),
            s("Email", 128, type="email", nillable=False),
            s("Alias", 8, nillable=False),
            s("Title", 80),
            s("Department", 80),
            s("Country", 80),
            typed("IsActive", "boolean", nillable=False),
            pick("UserType", ("Standard", "PowerPartner", "CsnOnly"), **RO),
        ],
        deletable=False,
    )


def _account() -> SObject:
    return make_object(
        "Account",
        "001",
        [
            ref("MasterRecordId", "Account", **RO),
            s("Name", 255, nillable=False, name_field=True),
            ref("ParentId", "Account"),
            s("Website", 255, type="url"),
            s("Phone", 40, type="phone"),
            s("BillingCountry", 80),
            pick("Industry", INDUSTRIES),
            s("Description", 32000, type="textarea"),
            OWNER,
        ],
        mergeable=True,
    )


def _contact() -> SObject:
    return make_object(
        "Contact",
        "003",
        [
            ref("MasterRecordId", "Contact", **RO),
            ref("AccountId", "Account"),
            s("LastName", 80, nillable=False),
            s("FirstName", 40),
            s("Name", 121, name_field=True, **RO),
            s("Email", 80, type="email"),
            s("Title", 128),
            s("Department", 80),
            s("Phone", 40, type="phone"),
            s("MobilePhone", 40, type="phone"),
            s("MailingCountry", 80),
            ref("ReportsToId", "Contact"),
            s("Description", 32000, type="textarea"),
            OWNER,
        ],
        mergeable=True,
    )


def _opportunity() -> SObject:
    return make_object(
        "Opportunity",
        "006",
        [
            ref("AccountId", "Account"),
            s("Name", 120, nillable=False, name_field=True),
            s("Description", 32000, type="textarea"),
            pick("StageName", tuple(st[0] for st in STAGES), nillable=False, restricted=True),
            typed("Amount", "currency", precision=18, scale=2),
            typed("Probability", "percent", precision=3, scale=0),
            typed("CloseDate", "date", nillable=False),
            typed("IsClosed", "boolean", **RO),
            typed("IsWon", "boolean", **RO),
            pick("CurrencyIsoCode", CURRENCIES, restricted=True, defaulted=True, nillable=False),
            OWNER,
        ],
    )


def _activity_fields(kind: str) -> list[Field]:
    common = [
        ref("WhoId", "Contact", rel="Who"),
        ref("WhatId", "Account", "Opportunity", rel="What"),
        s("Subject", 255, type="combobox"),
        typed("ActivityDate", "date"),
        s("Description", 32000, type="textarea"),
        pick("Type", ("Call", "Email", "Meeting", "Other")),
        OWNER,
    ]
    if kind == "Task":
        return [
            *common,
            pick(
                "Status",
                ("Not Started", "In Progress", "Completed"),
                nillable=False,
                defaulted=True,
            ),
            pick("Priority", ("High", "Normal", "Low"), nillable=False, defaulted=True),
            pick("TaskSubtype", ("Task", "Email", "ListEmail", "Cadence", "Call"), **CREATE_ONLY),
        ]
    return [
        *common,
        typed("ActivityDateTime", "datetime"),
        typed("StartDateTime", "datetime"),
        typed("EndDateTime", "datetime"),
        typed("DurationInMinutes", "int"),
        pick("EventSubtype", ("Event",), **CREATE_ONLY),
    ]


def _content_note() -> SObject:
    return make_object(
        "ContentNote",
        "069",
        [
            s("Title", 255, nillable=False, name_field=True),
            typed("Content", "base64"),
            s("TextPreview", 255, **RO),
            s("FileType", 20, **RO),
            s("FileExtension", 40, **RO),
            typed("ContentSize", "int", **RO),
            ref("LatestPublishedVersionId", "ContentVersion", **RO),
            typed("IsReadOnly", "boolean", **RO),
            OWNER,
        ],
    )


class Schema:
    """The objects of one org; a fresh copy per stand-in, so custom fields never leak."""

    def __init__(self, objects: list[SObject] | None = None) -> None:
        if objects is None:
            self.objects = copy.deepcopy(_BASE)
        else:
            self.objects = {o.name: o for o in objects}
        self._by_lower = {name.lower(): obj for name, obj in self.objects.items()}

    def get(self, name: str) -> SObject | None:
        return self._by_lower.get(name.lower())

    def by_prefix(self, record_id: str) -> SObject | None:
        for obj in self.objects.values():
            if record_id.startswith(obj.key_prefix):
                return obj
        return None


_BASE = _base_objects()

# -- ids --------------------------------------------------------------------------------------
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$")


def id18(id15: str) -> str:
    """Append Salesforce's case-safe 3-character suffix to a 15-character id."""
    out = ""
    for chunk in range(3):
        flags = 0
        for pos in range(5):
            if "A" <= id15[chunk * 5 + pos] <= "Z":
                flags |= 1 << pos
        out += _SUFFIX[flags]
    return id15 + out


def normalize_id(value: Any) -> str | None:
    """The 18-character form of a well-formed 15- or 18-character id, else None."""
    if not isinstance(value, str) or not ID_RE.match(value):
        return None
    full = id18(value[:15])
    return full if len(value) == 15 or full == value else None


def make_id(prefix: str, seed: str) -> str:
    """A deterministic id: key prefix, pod '5g', reserved '0', nine base-62 digits, suffix."""
    n = int.from_bytes(hashlib.sha1(seed.encode()).digest()[:8], "big") % 62**9
    digits = ""
    for _ in range(9):
        n, r = divmod(n, 62)
        digits = B62[r] + digits
    return id18(f"{prefix}5g0{digits}")
