"""The campaign part of a push (after fields and notes): campaigns made or updated, exactly once
each (a campaign whose CRM id is not known is first looked for by its marker); then each written
campaign's members read back, once per campaign, into `Nomination.crm_status` and into the member
rows' known CRM state; then the member writes that are still due.

The read-back is what makes member writes exactly once: a push that died after the CRM added a
guest finds the guest a member on the next run and writes nothing. It also brings the statuses
CRM users set (Attended, Declined) back on the next sync. A store without written campaigns makes
no call here at all.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from connector.core.config import SourceBase
from connector.core.errors import RecordError
from connector.core.protocols import CampaignWriter
from connector.core.records import Outcome, WriteResult
from connector.core.records_campaigns import MemberState, campaign_marker
from connector.store.models import Outbox
from connector.store.models_campaigns import Campaign
from connector.writeback.campaigns import (
    CAMPAIGN,
    LISTED,
    MEMBER,
    REMOVED,
    accepted_guests,
    campaign_record,
    contact_object,
    member_values,
    member_write,
    split_key,
)
from connector.writeback.notes import take_note
from connector.writeback.outbox import (
    PushRun,
    digest,
    due_rows,
    matches,
    over_budget,
    record,
    send,
)
from mappings.schema import Mapping

READ_DAYS = timedelta(days=30)  # a done campaign's statuses are read back this long after


def campaign_refs(session: Session, source: str) -> dict[int, str | None]:
    """Carnet campaign id -> its CRM id in `source` (None: not made, or not known yet)."""
    q = select(Outbox.external_id, Outbox.desired).where(
        Outbox.source == source, Outbox.field_set == CAMPAIGN
    )
    return {int(ext): (doc or {}).get("ref") for ext, doc in session.execute(q)}


def due_campaigns(
    session: Session, source: str, now: datetime
) -> tuple[list[Outbox], list[Outbox]]:
    """The campaign rows due, and the member rows due whose campaign the CRM holds or is about
    to (a campaign parked in the CRM keeps its members waiting without costing a call)."""
    campaigns = due_rows(session, source, now, CAMPAIGN)
    members = due_rows(session, source, now, MEMBER)
    if not members:
        return campaigns, []
    refs = campaign_refs(session, source)
    coming = {int(r.external_id) for r in campaigns}
    ready = [r for r in members if _cid(r) in coming or refs.get(_cid(r))]
    return campaigns, ready


def _cid(row: Outbox) -> int:
    return split_key(row.external_id)[0]


def to_read(session: Session, source: str, now: datetime, members: list[Outbox]) -> dict[int, str]:
    """Campaign id -> CRM id of the campaigns whose members this push reads back: those the CRM
    holds that are open, closed or done less than READ_DAYS ago, and any with a member write due."""
    refs = {cid: ref for cid, ref in campaign_refs(session, source).items() if ref}
    if not refs:
        return {}
    recent = or_(Campaign.done_at.is_(None), Campaign.done_at >= now - READ_DAYS)
    live = or_(Campaign.state.in_(("open", "closed")), and_(Campaign.state == "done", recent))
    active = set(session.scalars(select(Campaign.id).where(Campaign.id.in_(list(refs)), live)))
    due = {_cid(r) for r in members}
    return {cid: refs[cid] for cid in sorted(refs) if cid in active or cid in due}


def push_campaign_step(
    session: Session,
    adapter: CampaignWriter,
    settings: SourceBase | None,
    source: str,
    mapping: Mapping,
    rows: list[Outbox],
    run: PushRun,
    now: datetime,
) -> None:
    """Campaigns, then the read-back, then the member writes; each part commits its results."""
    made = push_campaign_rows(session, adapter, settings, rows, run, now)
    if run.budget_stopped:
        return
    _, members = due_campaigns(session, source, now)
    reads = {c: ref for c, ref in to_read(session, source, now, members).items() if c not in made}
    read_back(session, adapter, settings, source, mapping, reads, run)
    if run.budget_stopped:
        return
    push_member_rows(session, adapter, settings, due_campaigns(session, source, now)[1], run, now)


# -- campaigns ------------------------------------------------------------------------------------


def push_campaign_rows(
    session: Session,
    adapter: CampaignWriter,
    settings: SourceBase | None,
    rows: list[Outbox],
    run: PushRun,
    now: datetime,
) -> set[int]:
    """Create or update each due campaign; the ids of those created now (no member to read)."""
    adopt_campaigns(session, adapter, [r for r in rows if not r.desired.get("ref")])
    made: set[int] = set()

    def write(chunk: list[Outbox]) -> list[WriteResult]:
        return adapter.push_campaigns([campaign_record(r) for r in chunk])

    def take(row: Outbox, result: WriteResult, run: PushRun, now: datetime) -> None:
        if result.ok and not row.desired.get("ref"):
            made.add(int(row.external_id))
        take_note(row, result, run, now)  # a campaign fares as a note: found again, or made anew

    send(session, adapter, settings, rows, run, now, write, take)
    return made


def adopt_campaigns(session: Session, adapter: CampaignWriter, rows: list[Outbox]) -> None:
    """Give rows the id of the campaign a push made before (found by its marker)."""
    if not rows:
        return
    found = adapter.find_campaigns([campaign_record(r) for r in rows])
    for row in rows:
        ref = found.get(campaign_marker(int(row.external_id)))
        if ref is not None:
            row.desired = {**row.desired, "ref": ref}
    session.commit()


# -- the read-back --------------------------------------------------------------------------------


def read_back(
    session: Session,
    adapter: CampaignWriter,
    settings: SourceBase | None,
    source: str,
    mapping: Mapping,
    reads: dict[int, str],
    run: PushRun,
) -> None:
    """One read of each campaign's members; what the CRM says goes into the nominations and the
    member rows (committed campaign by campaign). Stops at the API budget."""
    for cid, ref in reads.items():
        stop = over_budget(adapter, settings)
        if stop is not None:
            run.stopped, run.budget_stopped = stop, True
            return
        try:
            states = adapter.read_members(ref)
        except RecordError as exc:  # deleted in the CRM: made again, guests and all
            forget(session, source, mapping, cid, str(exc))
        else:
            settle(session, source, mapping, cid, states)
        session.commit()


def forget(session: Session, source: str, mapping: Mapping, cid: int, error: str) -> None:
    """A campaign the CRM no longer holds: its row looks for it again, then makes it anew (the
    next push), and its guests are no members anywhere until then."""
    row = session.scalar(
        select(Outbox).where(
            Outbox.source == source,
            Outbox.field_set == CAMPAIGN,
            Outbox.external_id == str(cid),
        )
    )
    if row is not None:
        row.desired = {**row.desired, "ref": None, "base": None}
        row.status, row.written_hash, row.next_attempt_at = "pending", None, None
        row.last_error = error
    settle(session, source, mapping, cid, {})


def settle(
    session: Session, source: str, mapping: Mapping, cid: int, states: dict[str, MemberState]
) -> None:
    """The CRM's members of campaign `cid`: each guest's CRM status onto their nominations, then
    each member row's known CRM state (and its desired status, which keeps a CRM one)."""
    contacts = contact_object(mapping)
    campaign = session.get(Campaign, cid)
    if contacts is None or campaign is None:
        return
    guests = accepted_guests(session, source, contacts, [cid]).get(cid, {})
    for contact, nominations in guests.items():
        state = states.get(contact)
        held = None if state is None else state.status or LISTED
        for n in nominations:
            if (n.crm_status or {}).get(source) != held:
                rest = {k: v for k, v in (n.crm_status or {}).items() if k != source}
                n.crm_status = rest | ({source: held} if held else {}) or None
    q = select(Outbox).where(
        Outbox.source == source,
        Outbox.field_set == MEMBER,
        Outbox.external_id.startswith(f"{cid}:"),
    )
    for row in session.scalars(q):
        contact = split_key(row.external_id)[1]
        noms = guests.get(contact)
        values = member_values(source, campaign, noms) if noms else dict(REMOVED)
        state = states.get(contact)
        base = {"member": True, "status": state.status} if state else dict(REMOVED)
        _settle(row, values, base, state.ref if state else None)


def _settle(row: Outbox, values: dict[str, Any], base: dict[str, Any], ref: str | None) -> None:
    """A member row against what the CRM holds: done when it holds the desired values; due again
    when it no longer does (a parked or backing-off row keeps waiting for its values to change)."""
    h = digest(values)
    doc = {**row.desired, "values": values, "base": base, "ref": ref}
    done = matches(values, base)
    if doc == row.desired and (row.status == "done") == done:
        return
    again = done or row.status == "done" or row.desired_hash != h
    row.desired, row.desired_hash, row.written_hash = doc, h, h if done else None
    if again:
        row.status = "done" if done else "pending"
        row.attempts, row.last_error, row.next_attempt_at = 0, None, None


# -- members --------------------------------------------------------------------------------------


def push_member_rows(
    session: Session,
    adapter: CampaignWriter,
    settings: SourceBase | None,
    rows: list[Outbox],
    run: PushRun,
    now: datetime,
) -> None:
    """Add, update or remove each due member of a campaign the CRM holds."""
    if not rows:
        return
    refs = campaign_refs(session, rows[0].source)
    ready = [r for r in rows if refs.get(_cid(r))]

    def write(chunk: list[Outbox]) -> list[WriteResult]:
        return adapter.push_members([member_write(r, str(refs[_cid(r)])) for r in chunk])

    send(session, adapter, settings, ready, run, now, write, take_member)


def take_member(row: Outbox, result: WriteResult, run: PushRun, now: datetime) -> None:
    """One member write's result: removing a member already gone is done; an add whose result is
    unknown is retried (the next read-back finds it made, or not)."""
    removal = not row.desired["values"]["member"]
    if removal and result.outcome is Outcome.GONE:
        result = replace(result, outcome=Outcome.OK)
    elif result.outcome is Outcome.MAYBE_APPLIED:
        result = replace(result, outcome=Outcome.RETRY)
    record(row, result, run, now)
    if removal and result.ok:
        row.desired = {**row.desired, "ref": None}
