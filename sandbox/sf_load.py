"""Loads the neutral sandbox World into the Salesforce stand-in's store, in Salesforce's shape:
Users, Accounts, Contacts, Opportunities with contact roles and splits, Tasks and Events.

Ids are derived from the world keys, times from each record's age before `now`; merges already
done in the world leave the loser deleted with MasterRecordId and its children on the winner.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .core import iso
from .sf_ids import make_id
from .sf_schema import CURRENCIES
from .sf_store import Record, Store
from .world import Activity, Contact, World

INTEGRATION_USER_KEY = "__integration__"
PREFIX = {
    "User": "005",
    "Account": "001",
    "Contact": "003",
    "Opportunity": "006",
    "OpportunityContactRole": "00K",
    "Task": "00T",
    "Event": "00U",
    "OpportunitySplit": "049",
    "OpportunitySplitType": "149",
}


def country_name(code: str) -> str:
    """Salesforce address fields hold a country's name ("Germany"), the world an ISO code."""
    try:
        from .seed_tables import COUNTRIES
    except ImportError:  # the seed tables are optional for hand-made worlds
        return code
    country = COUNTRIES.get(code)
    return country.name if country else code


class Loader:
    def __init__(self, store: Store, world: World, now: datetime):
        self.store, self.now = store, now
        self.world = world.in_crm("salesforce")
        self.used: set[str] = set()
        self.ids: dict[tuple[str, str], str] = {}
        self.remap: dict[tuple[str, str], str] = {}
        for m in self.world.merges:
            self.remap[(m.object, m.loser_key)] = m.winner_key
        self.known = {
            "User": {m.key for m in self.world.members},
            "Account": {a.key for a in self.world.accounts},
            "Contact": {c.key for c in self.world.contacts},
        }

    def id(self, obj: str, key: str) -> str:
        """The deterministic id of a world record (a collision is re-hashed)."""
        found = self.ids.get((obj, key))
        if found:
            return found
        n, rid = 0, make_id(PREFIX[obj], f"{obj}:{key}")
        while rid in self.used:
            n += 1
            rid = make_id(PREFIX[obj], f"{obj}:{key}:{n}")
        self.used.add(rid)
        self.ids[(obj, key)] = rid
        return rid

    def ref(self, obj: str, key: str | None) -> str | None:
        """The id a lookup holds: merged-away records are replaced by their winner."""
        seen = 0
        while key is not None and (obj, key) in self.remap and seen < 10:
            key, seen = self.remap[(obj, key)], seen + 1
        return self.id(obj, key) if key is not None and key in self.known[obj] else None

    def ago(self, days: float) -> datetime:
        return self.now - timedelta(days=days)

    def put(
        self, obj: str, key: str, values: Record, by: str, age: float, created_age: float
    ) -> Record:
        values = {k: self.fit(obj, k, v) for k, v in values.items()}
        rec = self.store.insert(obj, values, by, at=self.ago(age), rid=self.id(obj, key))
        if "CreatedDate" in rec:  # not shared yet: safe to set in place
            rec["CreatedDate"] = iso(self.ago(max(age, created_age)))
        return rec

    def fit(self, obj: str, name: str, value: Any) -> Any:
        """Salesforce cannot hold longer text than the field allows: cut it as an import would."""
        f = self.store.schema.objects[obj].field(name)
        if isinstance(value, str) and f is not None and f.length and len(value) > f.length:
            return value[: f.length]
        return value

    def load(self) -> str:
        integration = self.integration_user()
        self.users()
        self.accounts(integration)
        self.contacts(integration)
        split_type = self.split_types(integration)
        self.opportunities(integration, split_type)
        self.activities(integration)
        self.merges(integration)
        return integration

    def integration_user(self) -> str:
        values = {
            "Username": "integration@carnet-sandbox.example",
            "Email": "integration@carnet-sandbox.example",
            "FirstName": "Carnet",
            "LastName": "Integration",
            "Alias": "carnet",
            "IsActive": True,
            "UserType": "Standard",
        }
        uid = self.id("User", INTEGRATION_USER_KEY)
        self.put("User", INTEGRATION_USER_KEY, values, uid, 400, 400)
        return uid

    def users(self) -> None:
        for m in self.world.members:
            uid = self.id("User", m.key)
            values = {
                "Username": m.email,
                "Email": m.email,
                "FirstName": m.first_name,
                "LastName": m.last_name,
                "Alias": (m.first_name[:1] + m.last_name[:4]).lower() or "user",
                "Title": m.title,
                "Department": m.team,
                "Country": country_name(m.country),
                "IsActive": m.active,
                "UserType": "Standard",
                "ManagerId": self.ref("User", m.manager_key),
            }
            self.put("User", m.key, values, uid, 365, 365)

    def owner(self, key: str, fallback: str) -> str:
        return self.id("User", key) if key in self.known["User"] else fallback

    def accounts(self, by: str) -> None:
        for a in self.world.accounts:
            owner = self.owner(a.owner_key, by)
            values = {
                "Name": a.name,
                "Website": f"www.{a.domain}",
                "BillingCountry": country_name(a.country),
                "Industry": a.industry,
                "OwnerId": owner,
                "ParentId": self.ref("Account", a.parent_key),
            }
            self.put("Account", a.key, values, owner, a.age_days, a.age_days + 180)

    def contacts(self, by: str) -> None:
        for c in self.world.contacts:
            owner = self.owner(c.owner_key, by)
            values = {
                "FirstName": c.first_name,
                "LastName": c.last_name,
                "Email": c.email,
                "Title": c.title,
                "MailingCountry": country_name(c.country),
                "AccountId": self.ref("Account", c.account_key),
                "OwnerId": owner,
                "ReportsToId": self.ref("Contact", c.reports_to_key),
                "Phone": c.phone,
            }
            self.put("Contact", c.key, values, owner, c.age_days, c.age_days + 90)

    def split_types(self, by: str) -> str:
        revenue = ""
        for name, validated in (("Revenue", True), ("Overlay", False)):
            values = {
                "MasterLabel": name,
                "DeveloperName": name,
                "IsActive": True,
                "IsTotalValidated": validated,
                "SplitDataField": "Amount",
                "SplitEntity": "Opportunity",
            }
            rec = self.put("OpportunitySplitType", name, values, by, 300, 300)
            revenue = revenue or rec["Id"]
        return revenue

    def opportunities(self, by: str, revenue_type: str) -> None:
        for o in self.world.opportunities:
            owner = self.owner(o.owner_key, by)
            values = {
                "Name": o.name,
                "AccountId": self.ref("Account", o.account_key),
                "OwnerId": owner,
                "Amount": o.amount,
                "CurrencyIsoCode": o.currency if o.currency in CURRENCIES else "USD",
                "StageName": o.stage,
                "CloseDate": (self.now + timedelta(days=o.close_in_days)).date().isoformat(),
            }
            opp = self.put("Opportunity", o.key, values, owner, o.age_days, o.age_days + 60)
            opp |= {"IsClosed": o.is_closed, "IsWon": o.is_won}  # the world's word stands
            for i, role in enumerate(o.roles):
                contact = self.ref("Contact", role.contact_key)
                if contact is None:
                    continue
                values = {
                    "OpportunityId": opp["Id"],
                    "ContactId": contact,
                    "Role": role.role,
                    "IsPrimary": role.is_primary,
                }
                self.put("OpportunityContactRole", f"{o.key}:{i}", values, owner, o.age_days, 0)
            split = {
                "OpportunityId": opp["Id"],
                "SplitOwnerId": owner,
                "SplitTypeId": revenue_type,
                "SplitPercentage": 100.0,
            }
            self.put("OpportunitySplit", o.key, split, owner, o.age_days, 0)

    def activities(self, by: str) -> None:
        contacts = {c.key: c for c in self.world.contacts}
        for act in self.world.activities:
            contact = contacts.get(act.contact_key)
            if contact is None:
                continue
            self.activity(act, contact, self.owner(act.member_key, by))

    def activity(self, act: Activity, contact: Contact, owner: str) -> None:
        when = self.ago(act.days_ago)
        values: Record = {
            "WhoId": self.ref("Contact", contact.key),
            "WhatId": self.ref("Account", contact.account_key),
            "OwnerId": owner,
            "Subject": act.subject,
            "ActivityDate": when.date().isoformat(),
        }
        if act.kind == "meeting":
            values |= {
                "Type": "Meeting",
                "ActivityDateTime": iso(when),
                "StartDateTime": iso(when),
                "EndDateTime": iso(when + timedelta(minutes=30)),
                "DurationInMinutes": 30,
            }
            self.put("Event", act.key, values, owner, max(act.days_ago, 0), 0)
            return
        subtype = {"call": "Call", "email": "Email"}.get(act.kind, "Task")
        values |= {
            "TaskSubtype": subtype,
            "Type": {"Call": "Call", "Email": "Email"}.get(subtype, "Other"),
            "Status": "Completed" if act.days_ago > 0 else "Not Started",
        }
        self.put("Task", act.key, values, owner, max(act.days_ago, 0), 0)

    def merges(self, by: str) -> None:
        """Merged-away records: deleted, MasterRecordId set, at the later of the two ages."""
        ages = {("Account", a.key): a.age_days for a in self.world.accounts}
        ages |= {("Contact", c.key): c.age_days for c in self.world.contacts}
        for m in self.world.merges:
            if (m.object, m.winner_key) not in ages or (m.object, m.loser_key) not in ages:
                continue
            age = min(ages[(m.object, m.winner_key)], ages[(m.object, m.loser_key)], 14.0)
            when = self.ago(age)
            winner, loser = self.id(m.object, m.winner_key), self.id(m.object, m.loser_key)
            changes = {"IsDeleted": True, "MasterRecordId": winner}
            self.store.update(m.object, loser, changes, by, when)
            self.store.update(m.object, winner, {}, by, when)


def load_world(store: Store, world: World, now: datetime) -> str:
    """Fill `store` from `world`; returns the id of the integration (API) user."""
    return Loader(store, world, now).load()
