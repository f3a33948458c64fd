"""A hand-made campaign world and a fake CRM for the campaign write-back tests: campaigns and
members as the adapters keep them (found by marker, a member added twice is one member), with
the calls counted, refusals and deaths between the CRM's answer and the local commit on demand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from connector.core.errors import RecordError
from connector.core.records import ApiUsage, Outcome, Write, WriteResult
from connector.core.records_campaigns import CampaignRecord, MemberState, MemberWrite
from connector.store import models as m
from connector.store.app import App
from connector.store.models_campaigns import Campaign, Nomination
from connector.writeback.campaign_push import due_campaigns, push_campaign_step
from connector.writeback.campaigns import desired_campaigns
from connector.writeback.outbox import PushRun, field_specs
from connector.writeback.outbox_refresh import refresh
from mappings.loader import load_mapping, mapping_path
from tests import governance_world as w

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
MAPPINGS = {s: load_mapping(mapping_path(s, None), s) for s in ("salesforce", "hubspot")}
CONTACTS = {"salesforce": "Contact", "hubspot": "contacts"}


class Died(BaseException):
    """The process ending between the CRM's answer and the local commit."""


@dataclass
class FakeCrm:
    """One CRM's campaigns (id -> record) and members (campaign id -> contact -> state)."""

    source: str = "salesforce"
    campaigns: dict[str, CampaignRecord] = field(default_factory=dict)
    members: dict[str, dict[str, MemberState]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # contact -> the CRM's message
    die_after: str | None = None  # a method that dies once its writes are made
    made: int = 0  # campaigns and members ever created (ids)
    sent: list[MemberWrite] = field(default_factory=list)
    overwritten: list[str] = field(default_factory=list)  # CRM-set statuses a write replaced

    def _call(self, name: str) -> None:
        self.calls.append(name)

    def _died(self, name: str) -> None:
        if self.die_after == name:
            self.die_after = None
            raise Died

    def find_campaigns(self, campaigns: list[CampaignRecord]) -> dict[str, str]:
        self._call("find_campaigns")
        wanted = {c.marker for c in campaigns}
        return {c.marker: ref for ref, c in sorted(self.campaigns.items()) if c.marker in wanted}

    def push_campaigns(self, campaigns: list[CampaignRecord]) -> list[WriteResult]:
        self._call("push_campaigns")
        out = []
        for c in campaigns:
            ref = c.ref
            if ref is None:
                self.made += 1
                ref = f"701{self.made:05d}"
                self.members[ref] = {}
            elif ref not in self.campaigns:
                out.append(WriteResult(c.key, Outcome.GONE, error="ENTITY_IS_DELETED"))
                continue
            self.campaigns[ref] = c
            out.append(WriteResult(c.key, Outcome.OK, ref))
        self._died("push_campaigns")
        return out

    def read_members(self, campaign_ref: str) -> dict[str, MemberState]:
        self._call("read_members")
        if campaign_ref not in self.campaigns:
            raise RecordError(f"campaign {campaign_ref} no longer exists", campaign_ref)
        return dict(self.members[campaign_ref])

    def push_members(self, members: list[MemberWrite]) -> list[WriteResult]:
        self._call("push_members")
        self.sent += members
        out = [self._member(w) for w in members]
        self._died("push_members")
        return out

    def _member(self, w: MemberWrite) -> WriteResult:
        if w.contact in self.refuse:
            return WriteResult(w.key, Outcome.REFUSED, error=self.refuse[w.contact])
        held = self.members[w.campaign_ref]
        if w.remove:
            held.pop(w.contact, None)
            return WriteResult(w.key, Outcome.OK)
        state = held.get(w.contact)
        if state is not None and state.status not in (None, "Nominated", "Invited"):
            self.overwritten.append(f"{w.contact}: {state.status} -> {w.status}")
        if state is None:
            self.made += 1
            state = MemberState(f"00v{self.made:05d}", None)
        held[w.contact] = MemberState(state.ref, w.status)
        return WriteResult(w.key, Outcome.OK, state.ref)

    def push(self, writes: list[Write]) -> list[WriteResult]:  # contacts' fields
        self._call("push")
        return [WriteResult(w.key, Outcome.OK, w.id) for w in writes]

    def push_notes(self, notes: list[Any]) -> list[WriteResult]:
        raise AssertionError("no plan in these worlds")

    def usage(self) -> ApiUsage:
        return ApiUsage(calls=len(self.calls))

    def close(self) -> None:
        pass

    def writes(self) -> list[str]:
        return [c for c in self.calls if c.startswith("push_")]

    def statuses(self, ref: str | None = None) -> dict[str, str | None]:
        """contact -> status in the (one) campaign."""
        ref = ref or next(iter(self.campaigns))
        return {c: s.status for c, s in self.members[ref].items()}


def push(s: Session, crm: FakeCrm, now: datetime = T0) -> PushRun:
    """The campaign part of a push: refresh the campaign rows, then send (as push.py does)."""
    mapping = MAPPINGS[crm.source]
    refresh(s, crm.source, desired_campaigns(s, crm.source, mapping), field_specs(mapping), now)
    s.commit()
    campaigns, _ = due_campaigns(s, crm.source, now)
    run = PushRun()
    push_campaign_step(s, crm, None, crm.source, mapping, campaigns, run, now)
    return run


@dataclass
class CampaignWorld:
    owner: m.Member
    ann: m.Member
    bob: m.Member
    campaign: Campaign
    noms: dict[str, Nomination]  # pat, quinn (private), rae (no CRM contact), sam (nominated)


def campaign_world(s: Session, state: str = "open") -> CampaignWorld:
    owner, ann, bob = (w.member(s, f"{n}@us.example") for n in ("olga", "ann", "bob"))
    globex = w.org(s, "Globex", ("globex.example",))
    people = {n: w.person(s, f"{n}@globex.example", globex) for n in ("pat", "quinn", "rae", "sam")}
    rels = {
        "pat": w.rel(s, ann, people["pat"], rating=4, share="shared"),
        "quinn": w.rel(s, bob, people["quinn"], rating=5, share="private"),
        "rae": w.rel(s, ann, people["rae"], rating=3),
        "sam": w.rel(s, bob, people["sam"], rating=2),
    }
    for source, obj in CONTACTS.items():
        for n, ext in (("pat", "P"), ("quinn", "Q"), ("sam", "S")):
            s.add(m.SourceLink(source=source, object=obj, external_id=f"003{ext}",
                               entity="person", entity_id=people[n].id))  # fmt: skip
    campaign = Campaign(name="VIP box", purpose="Finals", capacity=10, owner_id=owner.id,
                        state=state, starts_on=T0.date())  # fmt: skip
    s.add(campaign)
    s.flush()
    noms = {}
    for n, rel in rels.items():
        status = "nominated" if n == "sam" else "accepted"
        noms[n] = Nomination(campaign_id=campaign.id, relationship_id=rel.id,
                             nominator_id=rel.member_id, status=status)  # fmt: skip
        s.add(noms[n])
    s.commit()
    return CampaignWorld(owner, ann, bob, campaign, noms)


def member_rows(s: Session, source: str = "salesforce") -> dict[str, m.Outbox]:
    q = select(m.Outbox).where(m.Outbox.source == source, m.Outbox.field_set == "member")
    return {r.external_id: r for r in s.scalars(q)}


def set_state(s: Session, world: CampaignWorld, state: str, when: datetime = T0) -> None:
    world.campaign.state = state
    if state == "done":
        world.campaign.done_at = when
    s.commit()


def app_on(engine: Engine, folder: Path, sharing: str = "") -> App:
    """`carnet push` on the test's store (either backend), Salesforce its one source; `sharing`:
    the config's `sharing:` lines, if any."""
    (folder / "sf.secret").write_text("s3cret\n", encoding="utf-8")
    config = folder / "config.yaml"
    config.write_text(
        "version: 1\n"
        f"database_url: sqlite:///{folder / 'unused.db'}\n"
        f"{sharing}"
        "sources:\n"
        "  salesforce:\n"
        "    login_url: https://login.example.com\n"
        "    client_id: test\n"
        "    client_secret_file: sf.secret\n",
        encoding="utf-8",
    )
    app = App(config)
    app.__dict__["engine"] = engine  # the test's store, on either backend
    return app
