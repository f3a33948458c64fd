"""Loads the HubSpot part of a `World` into the stand-in: owners from members, companies, contacts,
deals across two pipelines, engagements for activities, associations, and already-done merges.
Ids are handed out in world order, so the same seed always gives the same ids.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .hubspot_props import hs_time
from .hubspot_schema import (
    DEFAULT_TYPE,
    PRIMARY_TYPE,
    country_name,
    industry_value,
    stage_for,
)
from .hubspot_store import Record, Store
from .world import Activity, Contact, Opportunity, World

OWNER_ID_BASE, USER_ID_BASE, TEAM_ID_BASE = 70_000_001, 9_000_001, 40_001
_SF_OPEN_STAGES = [
    "prospecting",
    "qualification",
    "needs analysis",
    "value proposition",
    "id. decision makers",
    "perception analysis",
    "proposal/price quote",
    "negotiation/review",
]


def owners_from(world: World, start: datetime) -> list[dict[str, Any]]:
    """Owners (the v3 shape) for the members HubSpot knows; inactive ones are archived."""
    teams = {
        name: str(TEAM_ID_BASE + i)
        for i, name in enumerate(sorted({m.team for m in world.members}))
    }
    owners = []
    for i, m in enumerate(world.members):
        owners.append({
            "id": str(OWNER_ID_BASE + i), "email": m.email.lower(), "type": "PERSON",
            "firstName": m.first_name, "lastName": m.last_name,
            "userId": USER_ID_BASE + i, "userIdIncludingInactive": USER_ID_BASE + i,
            "createdAt": hs_time(start - timedelta(days=400 + i)),
            "updatedAt": hs_time(start - timedelta(days=20 + i % 30)),
            "archived": not m.active,
            "teams": [{"id": teams[m.team], "name": m.team, "primary": True}],
            "_member": m.key,
        })  # fmt: skip
    return owners


class WorldLoader:
    """One pass over a world; `ids[(type, key)]` is the HubSpot id given to each world key."""

    def __init__(self, store: Store, world: World, start: datetime, owners: list[dict[str, Any]]):
        self.store, self.world, self.start = store, world, start
        self.owner_of = {o["_member"]: o["id"] for o in owners}
        self.accounts = {a.key: a for a in world.accounts}
        self.ids: dict[tuple[str, str], str] = {}

    def load(self) -> dict[tuple[str, str], str]:
        for i, account in enumerate(self.world.accounts):
            self._put("companies", account.key, i, account.age_days, {
                "name": account.name, "domain": account.domain,
                "country": country_name(account.country),
                "industry": industry_value(account.industry),
                "hubspot_owner_id": self.owner_of.get(account.owner_key),
            })  # fmt: skip
        for account in self.world.accounts:
            parent = self.ids.get(("companies", account.parent_key or ""))
            if parent:
                self._rec("companies", account.key).props["hs_parent_company_id"] = parent
        for i, contact in enumerate(self.world.contacts):
            self._contact(i, contact)
        for i, opp in enumerate(self.world.opportunities):
            self._deal(i, opp)
        self._activities()
        self._merges()
        return self.ids

    def _rec(self, type_name: str, key: str) -> Record:
        return self.store.records[type_name][self.ids[(type_name, key)]]

    def _put(
        self, type_name: str, key: str, index: int, age_days: float, values: dict[str, str | None]
    ) -> Record:
        updated = self.start - timedelta(days=age_days)
        created = updated - timedelta(days=30 + (index * 37) % 700)
        rec = self.store.create(type_name, values, at=created, check=False)
        self._stamp(rec, updated)
        self.ids[(type_name, key)] = rec.id
        return rec

    def _stamp(self, rec: Record, updated: datetime) -> None:
        rec.updated = max(updated, rec.created)
        modified = {"contacts": "lastmodifieddate"}.get(rec.type, "hs_lastmodifieddate")
        rec.props[modified] = hs_time(rec.updated)

    def _contact(self, index: int, c: Contact) -> None:
        email = c.email.strip().lower() if c.email else None
        if email and email in self.store.emails:
            email = None  # HubSpot holds one contact per email address
        company = self.ids.get(("companies", c.account_key))
        account = self.accounts.get(c.account_key)
        # associatedcompanyid makes the primary contact->company association (typeIds 1 and 279)
        self._put("contacts", c.key, index, c.age_days, {
            "email": email, "firstname": c.first_name, "lastname": c.last_name,
            "jobtitle": c.title, "country": country_name(c.country), "phone": c.phone,
            "hubspot_owner_id": self.owner_of.get(c.owner_key),
            "company": account.name if account else None,
            "associatedcompanyid": company,
            "hs_additional_emails": c.second_email.lower() if c.second_email else None,
        })  # fmt: skip

    def _deal(self, index: int, o: Opportunity) -> None:
        stage_name = o.stage.strip().lower()
        position = (
            _SF_OPEN_STAGES.index(stage_name) / len(_SF_OPEN_STAGES)
            if stage_name in _SF_OPEN_STAGES
            else 0.0
        )
        pipeline, stage = stage_for(position, o.is_closed, o.is_won, 1 if index % 4 == 3 else 0)
        amount = f"{o.amount:.2f}".rstrip("0").rstrip(".")
        rec = self._put("deals", o.key, index, o.age_days, {
            "dealname": o.name, "amount": amount, "pipeline": pipeline, "dealstage": stage,
            "closedate": hs_time(self.start + timedelta(days=o.close_in_days)),
            "hubspot_owner_id": self.owner_of.get(o.owner_key),
            "deal_currency_code": o.currency, "dealtype": "newbusiness",
        })  # fmt: skip
        company = self.ids.get(("companies", o.account_key))
        if company:
            self.store.assoc.add(
                "deals",
                rec.id,
                "companies",
                company,
                [PRIMARY_TYPE[("deals", "companies")], DEFAULT_TYPE[("deals", "companies")]],
            )
        for role in o.roles:
            contact = self.ids.get(("contacts", role.contact_key))
            if contact:
                self.store.assoc.add(
                    "deals", rec.id, "contacts", contact, [DEFAULT_TYPE[("deals", "contacts")]]
                )

    def _activities(self) -> None:
        seen: dict[str, list[datetime]] = {}
        for a in self.world.activities:
            contact = self.ids.get(("contacts", a.contact_key))
            if contact is None or a.kind not in _ENGAGEMENT_PROPS:
                continue
            when = self.start - timedelta(days=a.days_ago)
            type_name = a.kind + "s"
            values = _ENGAGEMENT_PROPS[a.kind](a, when)
            values.update(
                {"hs_timestamp": hs_time(when), "hubspot_owner_id": self.owner_of.get(a.member_key)}
            )
            rec = self.store.create(type_name, values, at=min(when, self.start), check=False)
            self.ids[(type_name, a.key)] = rec.id
            self.store.assoc.add(
                type_name, rec.id, "contacts", contact, [DEFAULT_TYPE[(type_name, "contacts")]]
            )
            company = self.store.records["contacts"][contact].props.get("associatedcompanyid")
            if company:
                self.store.assoc.add(
                    type_name,
                    rec.id,
                    "companies",
                    company,
                    [DEFAULT_TYPE[(type_name, "companies")]],
                )
            if when <= self.start:
                seen.setdefault(contact, []).append(when)
        for contact, times in seen.items():
            props = self.store.records["contacts"][contact].props
            props["notes_last_contacted"] = hs_time(max(times))
            props["num_contacted_notes"] = str(len(times))

    def _merges(self) -> None:
        for m in self.world.merges:
            type_name = {"contact": "contacts", "company": "companies"}.get(m.object, m.object)
            winner, loser = (
                self.ids.get((type_name, m.winner_key)),
                self.ids.get((type_name, m.loser_key)),
            )
            if winner is None or loser is None or loser not in self.store.records[type_name]:
                continue
            survivor = self.store.merge(type_name, winner, loser)
            self._stamp(survivor, self.start - timedelta(hours=1))
            self.ids[(type_name, m.loser_key)] = survivor.id


def _call(a: Activity, when: datetime) -> dict[str, str | None]:
    return {
        "hs_call_title": a.subject,
        "hs_call_direction": "OUTBOUND",
        "hs_call_status": "COMPLETED",
        "hs_call_duration": str(60_000 + len(a.key) * 7_000),
    }


def _email(a: Activity, when: datetime) -> dict[str, str | None]:
    return {"hs_email_subject": a.subject, "hs_email_direction": "EMAIL", "hs_email_status": "SENT"}


def _meeting(a: Activity, when: datetime) -> dict[str, str | None]:
    return {
        "hs_meeting_title": a.subject,
        "hs_meeting_start_time": hs_time(when),
        "hs_meeting_end_time": hs_time(when + timedelta(minutes=30)),
        "hs_meeting_outcome": "COMPLETED" if a.days_ago > 0 else "SCHEDULED",
    }


def _task(a: Activity, when: datetime) -> dict[str, str | None]:
    return {
        "hs_task_subject": a.subject,
        "hs_task_type": "TODO",
        "hs_task_priority": "MEDIUM",
        "hs_task_status": "COMPLETED" if a.days_ago > 0 else "NOT_STARTED",
    }


_ENGAGEMENT_PROPS = {"call": _call, "email": _email, "meeting": _meeting, "task": _task}
