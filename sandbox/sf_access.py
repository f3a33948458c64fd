"""Field-level security in the Salesforce stand-in. A custom field created through the Tooling API
is granted to nobody: a user sees it (describe, SOQL, record reads) only when a permission set
assigned to them (PermissionSetAssignment) has a FieldPermissions row for it with PermissionsRead,
and writes it only with PermissionsEdit. Each user's view of the org is a Schema whose objects
hide, or make read-only, the secured fields that user was not granted.

The admin endpoints (`/__sandbox/records`) act as the org's administrator and see every field.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict

from .sf_fields import Field, SObject
from .sf_schema import Schema
from .sf_store import Store

Grant = tuple[bool, bool]  # (read, edit)
_VIEWS_KEPT = 32


class FieldSecurity:
    """Which fields are secured, and what each user may do with them."""

    def __init__(self) -> None:
        self.secured: dict[str, list[str]] = {}  # object name -> secured field names
        self._views: OrderedDict[tuple[object, ...], Schema] = OrderedDict()

    def reset(self) -> None:
        self.secured.clear()
        self._views.clear()

    def secure(self, obj: str, field_name: str) -> None:
        """A field made through the Tooling API: nobody may see it until granted."""
        self.secured.setdefault(obj, []).append(field_name)

    def grants(self, store: Store, user: str) -> dict[str, Grant]:
        """'contact.x__c' -> (read, edit) through the permission sets assigned to `user`."""
        sets = {
            a["PermissionSetId"]
            for a in store.rows("PermissionSetAssignment")
            if a["AssigneeId"] == user
        }
        out: dict[str, Grant] = {}
        for row in store.rows("FieldPermissions"):
            if row["ParentId"] in sets:
                key = str(row["Field"]).lower()
                read, edit = out.get(key, (False, False))
                read = read or bool(row["PermissionsRead"])
                out[key] = (read, edit or bool(row["PermissionsEdit"]))
        return out

    def schema_for(self, schema: Schema, store: Store, user: str) -> Schema:
        """The org as `user` sees it: `schema` itself when no field is secured."""
        if not self.secured:
            return schema
        grants = self.grants(store, user)
        key = (id(schema), tuple(sorted(grants.items())), _signature(schema, self.secured))
        view = self._views.get(key)
        if view is None:
            objects = [
                _restricted(sobj, self.secured[name], grants) if name in self.secured else sobj
                for name, sobj in schema.objects.items()
            ]
            view = self._views[key] = Schema(objects)
            while len(self._views) > _VIEWS_KEPT:
                self._views.popitem(last=False)
        return view


def _signature(schema: Schema, secured: dict[str, list[str]]) -> tuple[tuple[str, int, int], ...]:
    """What a view of the secured objects depends on: a field added since makes a new view."""
    return tuple(
        sorted((obj, len(names), len(schema.objects[obj].fields)) for obj, names in secured.items())
    )


def _restricted(sobj: SObject, secured: list[str], grants: dict[str, Grant]) -> SObject:
    """A copy of `sobj` hiding the secured fields not granted, read-only where read alone is."""
    fields = dict(sobj.fields)
    hidden: set[str] = set()
    for name in secured:
        read, edit = grants.get(f"{sobj.name}.{name}".lower(), (False, False))
        if not read:
            hidden.add(name.lower())
        elif not edit:
            fields[name.lower()] = _read_only(fields[name.lower()])
    return dataclasses.replace(sobj, fields=fields, hidden=frozenset(hidden))


def _read_only(f: Field) -> Field:
    return dataclasses.replace(f, create=False, update=False)
