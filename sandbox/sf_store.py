"""The Salesforce stand-in's records: one dict of records per object, keyed by 18-character id.
A record is replaced on every change, never mutated, so query cursors keep a consistent snapshot.

Deletes cascade and merges re-point children the way Salesforce does (see CHILDREN); deleted
records stay in the recycle bin, visible to queryAll and `deleted/`, for 15 days.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from .core import Clock, iso
from .sf_ids import make_id
from .sf_schema import STAGES, Schema

Record = dict[str, Any]
RECYCLE_BIN_DAYS = 15

# What happens to child records when a parent is deleted ("cascade" deletes them, "clear" empties
# the lookup); a merge re-points every one of them to the winner.
CHILDREN: dict[str, list[tuple[str, str, str]]] = {
    "Account": [
        ("Contact", "AccountId", "cascade"),
        ("Opportunity", "AccountId", "cascade"),
        ("Account", "ParentId", "clear"),
        ("Task", "WhatId", "cascade"),
        ("Event", "WhatId", "cascade"),
        ("Note", "ParentId", "cascade"),
        ("ContentDocumentLink", "LinkedEntityId", "cascade"),
    ],
    "Contact": [
        ("Contact", "ReportsToId", "clear"),
        ("OpportunityContactRole", "ContactId", "cascade"),
        ("Task", "WhoId", "cascade"),
        ("Event", "WhoId", "cascade"),
        ("Note", "ParentId", "cascade"),
        ("ContentDocumentLink", "LinkedEntityId", "cascade"),
        ("CampaignMember", "ContactId", "cascade"),
    ],
    "Opportunity": [
        ("OpportunityContactRole", "OpportunityId", "cascade"),
        ("OpportunitySplit", "OpportunityId", "cascade"),
        ("Task", "WhatId", "cascade"),
        ("Event", "WhatId", "cascade"),
        ("Note", "ParentId", "cascade"),
        ("ContentDocumentLink", "LinkedEntityId", "cascade"),
    ],
    "ContentNote": [("ContentDocumentLink", "ContentDocumentId", "cascade")],
    "Campaign": [
        ("Campaign", "ParentId", "clear"),
        ("CampaignMember", "CampaignId", "cascade"),
        ("CampaignMemberStatus", "CampaignId", "cascade"),
    ],
    "PermissionSet": [
        ("FieldPermissions", "ParentId", "cascade"),
        ("PermissionSetAssignment", "PermissionSetId", "cascade"),
    ],
}
DEFAULTS: dict[str, dict[str, Any]] = {
    "Task": {"Status": "Not Started", "Priority": "Normal", "TaskSubtype": "Task"},
    "Event": {"EventSubtype": "Event"},
    "Opportunity": {"CurrencyIsoCode": "USD"},
    "ContentDocumentLink": {"ShareType": "V", "Visibility": "AllUsers"},
    "Campaign": {"Status": "Planned"},
}
_STAGE = {name: (prob, closed, won) for name, prob, closed, won in STAGES}


class Store:
    def __init__(self, schema: Schema, clock: Clock):
        self.schema, self.clock = schema, clock
        self.tables: dict[str, dict[str, Record]] = {name: {} for name in schema.objects}
        self.created = 0  # ids of records created at run time come from this counter

    # -- reading ---------------------------------------------------------------------------------
    def lookup(self, obj: str, record_id: str | None) -> Record | None:
        if not record_id:
            return None
        table = self.tables.get("ContentNote" if obj == "ContentDocument" else obj)
        return None if table is None else table.get(record_id)

    def find(self, record_id: str) -> tuple[str, Record] | None:
        obj = self.schema.by_prefix(record_id)
        rec = self.tables[obj.name].get(record_id) if obj else None
        return (obj.name, rec) if obj and rec else None

    def rows(self, obj: str, include_deleted: bool = False) -> Iterator[Record]:
        table = self.tables[obj].values()
        if not include_deleted:
            return (r for r in table if not r["IsDeleted"])
        horizon = iso(self.clock.now() - timedelta(days=RECYCLE_BIN_DAYS))
        return (r for r in table if not r["IsDeleted"] or r["SystemModstamp"] >= horizon)

    def snapshot(self) -> tuple[dict[str, dict[str, Record]], int]:
        return {name: dict(t) for name, t in self.tables.items()}, self.created

    def restore(self, snap: tuple[dict[str, dict[str, Record]], int]) -> None:
        self.tables, self.created = snap

    # -- writing ---------------------------------------------------------------------------------
    def new_id(self, obj: str) -> str:
        prefix = self.schema.objects[obj].key_prefix
        while True:
            self.created += 1
            rid = make_id(prefix, f"created:{obj}:{self.created}")
            if rid not in self.tables[obj]:
                return rid

    def insert(
        self, obj: str, values: Record, by: str, at: datetime | None = None, rid: str | None = None
    ) -> Record:
        """Add a record (values already checked); system and derived fields are filled in."""
        sobj = self.schema.objects[obj]
        stamp = iso(at or self.clock.tick())
        rec: Record = {f.name: None for f in sobj.fields.values()}
        rec |= {f.name: False for f in sobj.fields.values() if f.type == "boolean"}
        rec |= DEFAULTS.get(obj, {})
        rec |= values
        rec |= {"Id": rid or self.new_id(obj), "IsDeleted": False, "SystemModstamp": stamp}
        if "CreatedDate" in rec:
            rec |= {"CreatedDate": stamp, "CreatedById": by}
            rec |= {"LastModifiedDate": stamp, "LastModifiedById": by}
        if "OwnerId" in rec and not rec["OwnerId"]:
            rec["OwnerId"] = by
        self._derive(obj, rec)
        self.tables[obj][rec["Id"]] = rec
        return rec

    def update(
        self, obj: str, rid: str, changes: Record, by: str, at: datetime | None = None
    ) -> Record:
        rec = {**self.tables[obj][rid], **changes}
        stamp = iso(at or self.clock.tick())
        rec["SystemModstamp"] = stamp
        if "LastModifiedDate" in rec:
            rec |= {"LastModifiedDate": stamp, "LastModifiedById": by}
        self._derive(obj, rec)
        self.tables[obj][rid] = rec
        if obj == "Opportunity" and "Amount" in changes:  # splits follow the amount
            for sid, split in list(self.tables["OpportunitySplit"].items()):
                if split["OpportunityId"] == rid and not split["IsDeleted"]:
                    self.update("OpportunitySplit", sid, {}, by, at)
        return rec

    def _derive(self, obj: str, rec: Record) -> None:
        if obj in ("Contact", "User"):
            rec["Name"] = " ".join(p for p in (rec.get("FirstName"), rec.get("LastName")) if p)
        elif obj == "Opportunity" and rec["StageName"] in _STAGE:
            prob, closed, won = _STAGE[rec["StageName"]]
            rec |= {"IsClosed": closed, "IsWon": won}
            if rec.get("Probability") is None:
                rec["Probability"] = prob
        elif obj == "OpportunitySplit":
            opp = self.tables["Opportunity"].get(rec["OpportunityId"]) or {}
            amount = opp.get("Amount")
            pct = rec.get("SplitPercentage") or 0
            rec["SplitAmount"] = None if amount is None else round(amount * pct / 100, 2)
        elif obj == "ContentNote":
            _derive_note(rec)

    def delete(self, obj: str, rid: str, by: str, at: datetime | None = None) -> None:
        """Delete a record and, like Salesforce, its dependent children (or clear lookups).

        Level by level, each child table is scanned once, so a cascade stays linear."""
        when = at or self.clock.tick()
        frontier: dict[str, set[str]] = {obj: {rid}}
        while frontier:
            found: dict[str, set[str]] = {}
            for parent_obj, ids in frontier.items():
                for pid in ids:
                    self._bury(parent_obj, pid, by, when, None)
                for child, fk, action in CHILDREN.get(parent_obj, []):
                    for cid, crec in list(self.tables[child].items()):
                        if crec["IsDeleted"] or crec.get(fk) not in ids:
                            continue
                        if action == "cascade":
                            found.setdefault(child, set()).add(cid)
                        else:
                            self.update(child, cid, {fk: None}, by, when)
            frontier = found

    def merge(self, obj: str, winner: str, loser: str, by: str) -> Record:
        """The loser is deleted with MasterRecordId = winner; its children move to the winner."""
        when = self.clock.tick()
        for child, fk, _ in CHILDREN.get(obj, []):
            for cid, crec in list(self.tables[child].items()):
                if crec.get(fk) == loser and not crec["IsDeleted"]:
                    self.update(child, cid, {fk: winner}, by, when)
        self._bury(obj, loser, by, when, winner)
        return self.update(obj, winner, {}, by, when)

    def _bury(self, obj: str, rid: str, by: str, when: datetime, master: str | None) -> None:
        changes: Record = {"IsDeleted": True}
        if master is not None:
            changes["MasterRecordId"] = master
        self.update(obj, rid, changes, by, when)


def _derive_note(rec: Record) -> None:
    raw = base64.b64decode(rec.get("Content") or "")
    text = html.unescape(re.sub(r"<[^>]+>", " ", raw.decode("utf-8", "replace")))
    rec |= {
        "TextPreview": " ".join(text.split())[:255] or None,
        "FileType": "SNOTE",
        "FileExtension": "snote",
        "ContentSize": len(raw),
        "IsReadOnly": False,
    }
    if not rec.get("LatestPublishedVersionId"):
        rec["LatestPublishedVersionId"] = make_id("068", f"version:{rec['Id']}")
