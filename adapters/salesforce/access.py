"""Field-level security for the fields Carnet writes: one permission set, `Carnet_Integration`,
with read and edit on each of them (FieldPermissions), assigned to the user Carnet logs in as
(PermissionSetAssignment). Salesforce grants a field created through the Tooling or Metadata API
to nobody: without this, describe hides it from that user and writes to it fail with
INVALID_FIELD_FOR_INSERT_UPDATE. All three are plain sObjects, read with SOQL and written with
sObject Collections; what exists already is left as it is, so a second install changes nothing.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from simple_salesforce import Salesforce
from simple_salesforce.format import format_soql

from adapters.salesforce.auth import TIMEOUT_S
from adapters.salesforce.client import Client
from connector.core.errors import FatalError
from connector.core.records import FieldStep

PERMISSION_SET = "Carnet_Integration"
LABEL = "Carnet Integration"
DESCRIPTION = "Read and edit on the fields Carnet writes back (kept by carnet install)."
CAP = 200  # records per sObject Collections call
GRANTED = f"read and edit, through permission set {PERMISSION_SET}"


class Access:
    """The permission set, its grants and its assignment, as install finds and makes them."""

    def __init__(self, client: Client):
        self.client = client
        self.permission_set: str | None = None  # its id, once known to exist
        self.assigned = False
        self._listed: set[bool] = set()  # the passes (dry run or not) that listed the set

    def ensure(self, obj: str, names: list[str], dry_run: bool) -> list[FieldStep]:
        """Read and edit on `obj`'s fields `names` for Carnet's user: the steps (made unless
        `dry_run`). The set and its assignment are listed once a pass, with the first object."""
        first = dry_run not in self._listed
        self._listed.add(dry_run)
        steps = [self._permission_set(dry_run)] if first else []
        steps += self._field_permissions(obj, names, dry_run)
        if first:
            steps.append(self._assignment(dry_run))
        return steps

    # -- the three steps --------------------------------------------------------------------------
    def _permission_set(self, dry_run: bool) -> FieldStep:
        if self.permission_set is None:
            found = self._query(
                format_soql("SELECT Id FROM PermissionSet WHERE Name = {}", PERMISSION_SET)
            )
            self.permission_set = str(found[0]["Id"]) if found else None
        if self.permission_set is not None:
            return FieldStep("PermissionSet", PERMISSION_SET, "exists", LABEL)
        if not dry_run:
            record = {"Name": PERMISSION_SET, "Label": LABEL, "Description": DESCRIPTION}
            self.permission_set = self._write("PermissionSet", [record], "POST")[0]
        return FieldStep("PermissionSet", PERMISSION_SET, "create", f"{LABEL}: {DESCRIPTION}")

    def _field_permissions(self, obj: str, names: list[str], dry_run: bool) -> list[FieldStep]:
        rows = self._granted(obj)
        steps, new, raised = [], [], []
        for name in names:
            row = rows.get(f"{obj}.{name}".casefold())
            if row is not None and row["PermissionsRead"] and row["PermissionsEdit"]:
                steps.append(FieldStep(obj, name, "granted", GRANTED))
                continue
            steps.append(FieldStep(obj, name, "grant", GRANTED))
            rights = {"PermissionsRead": True, "PermissionsEdit": True}
            if row is not None:
                raised.append({"Id": row["Id"], **rights})
            else:
                field = {"SobjectType": obj, "Field": f"{obj}.{name}"}
                new.append({"ParentId": self.permission_set, **field, **rights})
        if not dry_run:
            self._write("FieldPermissions", new, "POST")
            self._write("FieldPermissions", raised, "PATCH")
        return steps

    def _assignment(self, dry_run: bool) -> FieldStep:
        user = self.client.user_id
        if user is None:
            raise FatalError("Salesforce's login answer did not say which user Carnet runs as")
        users = self._query(format_soql("SELECT Username FROM User WHERE Id = {}", user))
        who = f"to {users[0]['Username'] if users else user}, the user Carnet logs in as"
        if not self.assigned and self.permission_set is not None:
            found = self._query(
                format_soql(
                    "SELECT Id FROM PermissionSetAssignment"
                    " WHERE PermissionSetId = {} AND AssigneeId = {}",
                    self.permission_set,
                    user,
                )
            )
            self.assigned = bool(found)
        if self.assigned:
            return FieldStep("PermissionSetAssignment", PERMISSION_SET, "assigned", who)
        if not dry_run:
            record = {"PermissionSetId": self.permission_set, "AssigneeId": user}
            self._write("PermissionSetAssignment", [record], "POST")
            self.assigned = True
        return FieldStep("PermissionSetAssignment", PERMISSION_SET, "assign", who)

    # -- reading and writing ----------------------------------------------------------------------
    def _granted(self, obj: str) -> dict[str, dict[str, Any]]:
        """The permission set's FieldPermissions rows on `obj`, by lower-cased 'Object.Field'."""
        if self.permission_set is None:
            return {}
        rows = self._query(
            format_soql(
                "SELECT Id, Field, PermissionsRead, PermissionsEdit FROM FieldPermissions"
                " WHERE ParentId = {} AND SobjectType = {}",
                self.permission_set,
                obj,
            )
        )
        return {str(r["Field"]).casefold(): r for r in rows}

    def _query(self, soql: str) -> list[dict[str, Any]]:
        def fn(sf: Salesforce) -> list[dict[str, Any]]:
            return list(sf.query_all_iter(soql, timeout=TIMEOUT_S))

        return self.client.call(fn, "Salesforce permission set query")

    def _write(self, obj: str, records: list[dict[str, Any]], method: str) -> list[str]:
        """Create (POST) or update (PATCH) `records`, all or none a call; their ids."""
        ids: list[str] = []
        for start in range(0, len(records), CAP):
            chunk = [{"attributes": {"type": obj}, **r} for r in records[start : start + CAP]]
            body = {"allOrNone": True, "records": chunk}
            send = partial(_collection, method=method, body=body)
            answers = self.client.call(
                send, f"Salesforce {obj} {method}", idempotent=method == "PATCH"
            )
            ids += _ids(obj, answers, len(chunk))
        return ids


def _collection(sf: Salesforce, method: str, body: dict[str, Any]) -> Any:
    return sf.restful("composite/sobjects", method=method, json=body, timeout=TIMEOUT_S)


def _ids(obj: str, answers: Any, expected: int) -> list[str]:
    """The ids of a collection call's results; FatalError naming Salesforce's first refusal."""
    if not isinstance(answers, list) or len(answers) != expected:
        raise FatalError(f"Salesforce {obj}: unexpected answer to an sObject Collections call")
    for answer in answers:
        if not answer.get("success"):
            error = (answer.get("errors") or [{}])[0]
            code, message = error.get("statusCode", ""), error.get("message", "")
            raise FatalError(f"Salesforce refused a {obj}: {code}: {message}")
    return [str(a.get("id")) for a in answers]
