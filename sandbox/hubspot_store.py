"""The records of the HubSpot stand-in: CRM objects by type and id, in creation order for paging,
with modstamps, property history, unique emails, archiving, merges, and their v3 JSON shape.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .core import Clock, HTTPError
from .hubspot_assoc import Associations
from .hubspot_props import Properties, hs_time
from .hubspot_schema import (
    ASSOC_TYPES,
    DEFAULT_TYPE,
    OBJECT_TYPES,
    PRIMARY_TYPE,
    ObjectType,
    object_type,
    stage_meta,
)

History = list[tuple[str, datetime, str]]  # (value, when, sourceType), oldest first


@dataclass
class Record:
    type: str
    id: str
    props: dict[str, str]
    created: datetime
    updated: datetime
    archived: bool = False
    archived_at: datetime | None = None
    history: dict[str, History] = field(default_factory=dict)


def not_found(object_id: str) -> HTTPError:
    return HTTPError(
        404,
        "OBJECT_NOT_FOUND",
        "Object not found.  objectId are usually numeric.",
        extra={"context": {"id": [object_id]}},
    )


class Store:
    """Every record of the portal. Callers hold the stand-in's lock."""

    def __init__(self, clock: Clock, props: Properties):
        self.clock = clock
        self.version = 0  # bumped by every write; search caches key on it
        self.clear(props)

    def clear(self, props: Properties) -> None:
        """Forget every record (before loading the world again)."""
        self.props = props
        self.records: dict[str, dict[str, Record]] = {t: {} for t in OBJECT_TYPES}
        self.order: dict[str, list[int]] = {t: [] for t in OBJECT_TYPES}
        self.next_id = {t: ot.id_base for t, ot in OBJECT_TYPES.items()}
        self.merged_into: dict[str, dict[str, str]] = {t: {} for t in OBJECT_TYPES}
        self.emails: dict[str, str] = {}  # lower-cased contact email -> contact id
        self.assoc = Associations()
        self.version += 1

    # -- reading -------------------------------------------------------------------------------
    def find(self, type_name: str, object_id: str, archived: bool = False) -> Record | None:
        """The live (or, with archived=True, the archived) record; merged-away ids answer the
        survivor, as HubSpot does."""
        object_id = self.merged_into[type_name].get(object_id, object_id)
        rec = self.records[type_name].get(object_id)
        if rec is None or rec.archived != archived:
            return None
        return rec

    def get(self, type_name: str, object_id: str, archived: bool = False) -> Record:
        rec = self.find(type_name, object_id, archived)
        if rec is None:
            raise not_found(object_id)
        return rec

    def lookup(
        self, type_name: str, value: str, id_property: str | None, archived: bool = False
    ) -> Record | None:
        """By id, or by a unique property's value (`idProperty`)."""
        if not id_property or id_property == "hs_object_id":
            return self.find(type_name, value, archived)
        self.check_id_property(type_name, id_property)
        if type_name == "contacts" and id_property == "email":
            found = self.emails.get(value.lower())
            return self.find(type_name, found, archived) if found else None
        for rec in self.records[type_name].values():
            if rec.archived == archived and rec.props.get(id_property) == value:
                return rec
        return None

    def check_id_property(self, type_name: str, id_property: str) -> None:
        if id_property not in self.props.unique(type_name):
            raise HTTPError(
                400,
                "VALIDATION_ERROR",
                f"Unable to perform update/upsert by non-unique "
                f"{OBJECT_TYPES[type_name].type_id} property {id_property} in portal "
                f"ID {self.props.portal_id}",
            )

    def page(
        self, type_name: str, after: int, limit: int, archived: bool
    ) -> tuple[list[Record], str | None]:
        """Up to `limit` records with id >= after, in id order, and the next `after`."""
        order, records = self.order[type_name], self.records[type_name]
        out: list[Record] = []
        for i in range(bisect_left(order, after), len(order)):
            rec = records.get(str(order[i]))
            if rec is None or rec.archived != archived:
                continue
            if len(out) == limit:
                return out, rec.id
            out.append(rec)
        return out, None

    def live(self, type_name: str) -> list[Record]:
        return [r for r in self.records[type_name].values() if not r.archived]

    # -- writing -------------------------------------------------------------------------------
    def create(
        self,
        type_name: str,
        values: dict[str, str | None],
        at: datetime | None = None,
        check: bool = True,
    ) -> Record:
        """A new record; `check` runs HubSpot's validations (off for loading the world)."""
        ot = OBJECT_TYPES[type_name]
        if check:
            values = self.props.validate(type_name, values)
            missing = [p for p in ot.required if not values.get(p)]
            if missing:
                raise HTTPError(
                    400,
                    "VALIDATION_ERROR",
                    f"Error creating {ot.label}. Some required properties were not set.",
                    extra={"context": {"properties": missing}},
                )
            self._check_email(type_name, values.get("email"), None)
        object_id = str(self.next_id[type_name])
        self.next_id[type_name] += 1
        when = at or self.clock.tick()
        props = {k: v for k, v in values.items() if v is not None}
        stamp = hs_time(when)
        props.update({"hs_object_id": object_id, ot.created_prop: stamp, ot.modified_prop: stamp})
        rec = Record(type_name, object_id, props, when, when)
        self.records[type_name][object_id] = rec
        self.order[type_name].append(int(object_id))
        self._derive(rec, values)
        if type_name == "contacts" and props.get("email"):
            self.emails.setdefault(props["email"].lower(), object_id)
        self.version += 1
        return rec

    def update(
        self, rec: Record, values: dict[str, str | None], check: bool = True, source: str = "API"
    ) -> Record:
        if check:
            values = self.props.validate(rec.type, values)
            self._check_email(rec.type, values.get("email"), rec.id)
        when = self.clock.tick()
        for name, value in values.items():
            old = rec.props.get(name)
            if old == value:
                continue
            history = rec.history.setdefault(name, [(old, rec.created, "IMPORT")] if old else [])
            if value is None:
                rec.props.pop(name, None)
            else:
                rec.props[name] = value
                history.append((value, when, source))
            if name == "email" and rec.type == "contacts":
                self._reindex_email(rec.id, old, value)
        self._derive(rec, values)
        self.touch(rec, when)
        return rec

    def touch(self, rec: Record, when: datetime | None = None) -> None:
        """Bump the modstamp (a write, an association change, a merge)."""
        rec.updated = when or self.clock.tick()
        rec.props[OBJECT_TYPES[rec.type].modified_prop] = hs_time(rec.updated)
        self.version += 1

    def archive(self, rec: Record) -> None:
        rec.archived, rec.archived_at = True, self.clock.tick()
        if rec.type == "contacts" and rec.props.get("email"):
            self.emails.pop(rec.props["email"].lower(), None)
        self.version += 1

    def associate(
        self, from_type: str, from_id: str, to_type: str, to_id: str, type_ids: list[int]
    ) -> None:
        """Add an association; a primary company also sets the contact's associatedcompanyid."""
        self.assoc.add(from_type, from_id, to_type, to_id, type_ids)
        if from_type == "contacts" and PRIMARY_TYPE[("contacts", "companies")] in type_ids:
            rec = self.records["contacts"][from_id]
            rec.props["associatedcompanyid"] = to_id
        self.version += 1

    def _check_email(self, type_name: str, email: str | None, own_id: str | None) -> None:
        if type_name != "contacts" or not email:
            return
        existing = self.emails.get(email.lower())
        if existing and existing != own_id:
            raise HTTPError(409, "CONFLICT", f"Contact already exists. Existing ID: {existing}")

    def _reindex_email(self, contact_id: str, old: str | None, new: str | None) -> None:
        if old and self.emails.get(old.lower()) == contact_id:
            del self.emails[old.lower()]
        if new:
            self.emails.setdefault(new.lower(), contact_id)

    def _derive(self, rec: Record, written: dict[str, str | None]) -> None:
        """What HubSpot computes from a write: deal stage flags, the primary company link."""
        if rec.type == "deals" and written.get("dealstage"):
            meta = stage_meta(rec.props["dealstage"])
            if meta is not None:
                pipeline, closed, probability = meta
                rec.props.setdefault("pipeline", pipeline)
                won = closed and probability == 1.0
                rec.props.update(
                    {
                        "hs_is_closed": str(closed).lower(),
                        "hs_is_closed_won": str(won).lower(),
                        "hs_deal_stage_probability": str(probability),
                    }
                )
        if rec.type == "contacts" and "associatedcompanyid" in written:
            company = written["associatedcompanyid"]
            primary = PRIMARY_TYPE[("contacts", "companies")]
            if company and self.find("companies", company):
                self.assoc.add(
                    "contacts",
                    rec.id,
                    "companies",
                    company,
                    [primary, DEFAULT_TYPE[("contacts", "companies")]],
                )
            elif company is None:
                for other in list(self.assoc.targets("contacts", rec.id, "companies")):
                    self.assoc.remove("contacts", rec.id, "companies", other, [primary])

    # -- merges --------------------------------------------------------------------------------
    def merge(self, type_name: str, primary_id: str, loser_id: str) -> Record:
        """Merge `loser_id` into `primary_id` as HubSpot does: the primary keeps its values and
        fills its blanks from the loser, records the loser in hs_merged_object_ids, takes over
        its associations; the loser's id answers the primary from then on."""
        ot = OBJECT_TYPES[type_name]
        if not ot.mergeable:
            raise HTTPError(
                400, "VALIDATION_ERROR", f"Merging {ot.label} objects is not supported."
            )
        keep, gone = self.get(type_name, primary_id), self.get(type_name, loser_id)
        if keep.id == gone.id:
            raise HTTPError(
                400,
                "VALIDATION_ERROR",
                "Can't merge an object into itself.",
                extra={"context": {"ids": [keep.id]}},
            )
        fills: dict[str, str | None] = {
            k: v
            for k, v in gone.props.items()
            if k not in keep.props and self._mergeable_prop(type_name, k)
        }
        merged = [
            *_split(keep.props.get("hs_merged_object_ids")),
            gone.id,
            *_split(gone.props.get("hs_merged_object_ids")),
        ]
        fills["hs_merged_object_ids"] = ";".join(dict.fromkeys(merged))
        if type_name == "contacts" and gone.props.get("email") and "email" in keep.props:
            extra = [*_split(keep.props.get("hs_additional_emails")), gone.props["email"]]
            fills["hs_additional_emails"] = ";".join(dict.fromkeys(extra))
        del self.records[type_name][gone.id]
        self._redirect(type_name, gone.id, keep.id)
        if type_name == "contacts" and gone.props.get("email"):
            self.emails[gone.props["email"].lower()] = keep.id
        self.assoc.move(type_name, gone.id, keep.id)
        self.update(keep, fills, check=False, source="CRM_UI")
        return keep

    def _mergeable_prop(self, type_name: str, name: str) -> bool:
        ot = OBJECT_TYPES[type_name]
        return name not in ("hs_object_id", ot.created_prop, ot.modified_prop, "email")

    def _redirect(self, type_name: str, loser: str, survivor: str) -> None:
        redirects = self.merged_into[type_name]
        for old, target in redirects.items():
            if target == loser:
                redirects[old] = survivor
        redirects[loser] = survivor

    # -- rendering -----------------------------------------------------------------------------
    def render(
        self,
        rec: Record,
        names: list[str] | None = None,
        history: list[str] | None = None,
        associations: list[str] | None = None,
    ) -> dict[str, Any]:
        """The v3 shape: id, properties (asked-for ones plus the always-returned few, else the
        type's defaults), createdAt, updatedAt, archived, and history / associations if asked."""
        ot = OBJECT_TYPES[rec.type]
        keys = self._keys(ot, names)
        out: dict[str, Any] = {
            "id": rec.id,
            "properties": {k: rec.props.get(k) for k in keys},
            "createdAt": hs_time(rec.created),
            "updatedAt": hs_time(rec.updated),
            "archived": rec.archived,
        }
        if rec.archived_at is not None:
            out["archivedAt"] = hs_time(rec.archived_at)
        if history:
            out["propertiesWithHistory"] = {
                name: self._history(rec, name)
                for name in history
                if self.props.get(rec.type, name) is not None
            }
        if associations:
            linked = self.v3_associations(rec, associations)
            if linked:
                out["associations"] = linked
        return out

    def _keys(self, ot: ObjectType, names: list[str] | None) -> list[str]:
        if not names:
            return list(ot.defaults)
        known = [n for n in names if self.props.get(ot.name, n) is not None]
        return sorted({*known, "hs_object_id", ot.created_prop, ot.modified_prop})

    def _history(self, rec: Record, name: str) -> list[dict[str, Any]]:
        rows = rec.history.get(name)
        if rows is None:
            value = rec.props.get(name)
            rows = [(value, rec.created, "IMPORT")] if value is not None else []
        return [
            {"value": v, "timestamp": hs_time(t), "sourceType": s} for v, t, s in reversed(rows)
        ]

    def v3_associations(self, rec: Record, to_types: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in to_types:
            to_type = object_type(name).name
            results = [
                {"id": to_id, "type": ASSOC_TYPES[t].name}
                for to_id, kinds in self.assoc.targets(rec.type, rec.id, to_type).items()
                if self.find(to_type, to_id) is not None
                for t in sorted(kinds)
            ]
            if results:
                out[to_type] = {"results": results}
        return out


def _split(value: str | None) -> list[str]:
    return [v for v in (value or "").split(";") if v]
