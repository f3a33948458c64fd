"""Salesforce field and object descriptions for the stand-in: `Field` and `SObject` with their
describe bodies, and the small builders (s, ref, pick, typed) the object catalogue is written with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

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
    secured: bool = False  # field-level security: seen only through a FieldPermissions grant

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
            "calculated": not (self.create or self.update or self.secured or self.type in ID_TYPES),
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
    # lower-cased names of fields one user may not see (that user's view; see sf_access)
    hidden: frozenset[str] = frozenset()

    def field(self, name: str) -> Field | None:
        return None if name.lower() in self.hidden else self.fields.get(name.lower())

    def is_hidden(self, name: str) -> bool:
        return name.lower() in self.hidden

    def visible(self) -> list[Field]:
        return [f for key, f in self.fields.items() if key not in self.hidden]

    def add(self, f: Field) -> None:
        self.fields[f.name.lower()] = f

    def relationship(self, name: str) -> Field | None:
        for f in self.visible():
            if f.relationship and f.relationship.lower() == name.lower():
                return f
        return None

    def describe(self, version: str) -> dict[str, Any]:
        return {
            **self.summary(version),
            "fields": [f.describe() for f in self.visible()],
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
