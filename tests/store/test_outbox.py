"""The outbox on a hand-made store: desired values through the CRM audience, no write for what
the CRM already holds or was last sent, only the changed fields sent, a CRM user's edit written
back, results with backoff / parking / budget stops, and plan notes made exactly once even when
the process dies between the CRM's answer and the commit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.config import Sharing
from connector.core.records import Outcome, PlanNote, WriteResult
from connector.store import models as m
from connector.store.models_plans import AccountPlan
from connector.writeback.desired import canonical, desired_fields
from connector.writeback.notes import PLAN, desired_notes, push_notes
from connector.writeback.outbox import (
    PushRun,
    due_rows,
    field_specs,
    field_write,
    record,
)
from connector.writeback.outbox_refresh import refresh
from mappings.loader import load_mapping, mapping_path
from mappings.schema import OutField
from tests import governance_world as w

SHARING = Sharing(default="discoverable", scope="company")
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
MAPPING = load_mapping(mapping_path("salesforce", None), "salesforce")
SPECS = field_specs(MAPPING)


def link(s: Session, obj: str, ext: str, entity: str, eid: int, seen: Any = None) -> m.SourceLink:
    row = m.SourceLink(
        source="salesforce", object=obj, external_id=ext, entity=entity, entity_id=eid, seen=seen,
        seen_at=T0 - timedelta(days=1) if seen else None,
    )  # fmt: skip
    s.add(row)
    s.flush()
    return row


@pytest.fixture
def world(session: Session) -> dict[str, Any]:
    s = session
    ann, bob = w.member(s, "ann@us.example"), w.member(s, "bob@us.example")
    globex = w.org(s, "Globex", ("globex.example",))
    pat = w.person(s, "pat@globex.example", globex)
    quinn = w.person(s, "quinn@globex.example", globex)
    w.rel(s, ann, pat, rating=4, share="shared", last=T0)
    w.rel(s, bob, pat, rating=2)
    w.rel(s, bob, quinn, rating=5, share="private")
    link(s, "Contact", "003P", "person", pat.id)
    # the last pull saw quinn's Carnet fields empty (pat's were not read yet: unknown)
    link(s, "Contact", "003Q", "person", quinn.id, seen=dict.fromkeys(SPECS["Contact"]))
    link(s, "Account", "001G", "org", globex.id)
    s.commit()
    return {"ann": ann, "bob": bob, "pat": pat, "quinn": quinn, "globex": globex}


def desired(s: Session) -> dict[str, dict[str, Any]]:
    return {d.external_id: d.values for d in desired_fields(s, "salesforce", MAPPING, SHARING)}


def push_all(s: Session, now: datetime = T0) -> list[dict[str, Any]]:
    """Refresh, then write every due field row as the CRM accepting it; the writes sent."""
    refresh(s, "salesforce", desired_fields(s, "salesforce", MAPPING, SHARING), SPECS, now)
    sent = []
    run = PushRun()
    for row in due_rows(s, "salesforce", now):
        write = field_write(row, SPECS)
        sent.append({"id": write.id, **write.values})
        record(row, WriteResult(write.key, Outcome.OK, write.id), run, now)
    s.commit()
    return sent


def test_desired_values_are_the_crm_audiences_view(session: Session, world: Any) -> None:
    values = desired(session)
    assert values["003P"] == {
        "Carnet_Strength__c": 4,
        "Carnet_Known_By__c": "Ann (4); Bob (2)",
        "Carnet_Relationship_Owner__c": None,
        "Carnet_Last_Interaction__c": "2026-06-01T12:00:00.000Z",
    }
    # quinn's only relationship is private: nothing about it leaves
    assert set(values["003Q"].values()) == {None}
    assert values["001G"] == {"Carnet_Coverage__c": 50, "Carnet_Single_Threaded__c": False}


def test_unchanged_values_cost_no_write_and_changes_send_only_their_fields(
    session: Session, world: Any
) -> None:
    first = push_all(session)
    assert {w["id"] for w in first} == {"003P", "001G"}  # quinn's fields are empty already
    assert push_all(session) == []
    rel = session.scalar(select(m.Relationship).where(m.Relationship.member_id == world["bob"].id))
    assert rel is not None
    rel.rating = 3
    session.commit()
    assert push_all(session) == [{"id": "003P", "Carnet_Known_By__c": "Ann (4); Bob (3)"}]


def test_what_the_crm_already_holds_is_not_written(session: Session, world: Any) -> None:
    pat = session.scalar(select(m.SourceLink).where(m.SourceLink.external_id == "003P"))
    assert pat is not None
    pat.seen = {  # as the Salesforce pull gives them
        "Carnet_Strength__c": 4.0,
        "Carnet_Known_By__c": "Ann (4); Bob (2)",
        "Carnet_Relationship_Owner__c": None,
        "Carnet_Last_Interaction__c": "2026-06-01T12:00:00.000+0000",
    }
    pat.seen_at = T0
    session.commit()
    assert [w["id"] for w in push_all(session)] == ["001G"]


def test_a_crm_users_edit_of_a_carnet_field_is_written_back(session: Session, world: Any) -> None:
    push_all(session)
    pat = session.scalar(select(m.SourceLink).where(m.SourceLink.external_id == "003P"))
    assert pat is not None
    pat.seen = {"Carnet_Strength__c": 1.0, "Carnet_Known_By__c": "Ann (4); Bob (2)"}
    pat.seen_at = T0 - timedelta(days=1)  # a pull from before our write: not a change
    session.commit()
    assert push_all(session, T0 + timedelta(hours=1)) == []
    pat.seen_at = datetime.now(UTC) + timedelta(seconds=5)  # a later pull saw a user's edit
    session.commit()
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert push_all(session, later) == [{"id": "003P", "Carnet_Strength__c": 4}]


def test_a_write_that_may_have_been_applied_leaves_its_fields_unknown(
    session: Session, world: Any
) -> None:
    """A push sent a row's write and died before recording it (or the call timed out): the CRM
    may hold those values or the ones before. What is wanted next writes those fields again,
    even where it equals the value last recorded."""
    push_all(session)  # recorded: strength 4, "Ann (4); Bob (2)"
    rel = session.scalar(select(m.Relationship).where(m.Relationship.member_id == world["bob"].id))
    assert rel is not None

    def rate(rating: int) -> None:
        rel.rating = rating
        session.commit()

    def sent_unrecorded() -> list[str]:
        refresh(
            session, "salesforce", desired_fields(session, "salesforce", MAPPING, SHARING), SPECS,
            T0,
        )  # fmt: skip
        sent = [field_write(row, SPECS).id for row in due_rows(session, "salesforce", T0)]
        session.commit()  # the push dies before `record`
        return sent

    rate(5)
    assert sent_unrecorded() == ["003P"]  # strength 5, "Bob (5); Ann (4)": the CRM may hold it
    rate(3)  # strength back to the recorded 4, the text new
    assert push_all(session) == [
        {"id": "003P", "Carnet_Strength__c": 4, "Carnet_Known_By__c": "Ann (4); Bob (3)"}
    ]
    rate(5)
    assert sent_unrecorded() == ["003P"]
    rate(3)  # every value back to the recorded ones: still written
    assert push_all(session) == [
        {"id": "003P", "Carnet_Strength__c": 4, "Carnet_Known_By__c": "Ann (4); Bob (3)"}
    ]
    assert push_all(session) == []


@pytest.mark.parametrize(
    ("value", "sort", "expected"),
    [
        ("2026-01-02T03:04:05.000+0000", "datetime", "2026-01-02T03:04:05.000Z"),
        ("1767323045000", "datetime", "2026-01-02T03:04:05.000Z"),
        ("4", "number", 4),
        (33.333333, "number", 33.33),
        (None, "bool", False),
        ("true", "bool", True),
        ("", "text", None),
    ],
)
def test_canonical_values_compare_across_api_shapes(value: Any, sort: str, expected: Any) -> None:
    spec = OutField(value="x", type="Text", label="x")
    assert canonical(sort, value, "salesforce", spec) == expected


def test_results_backoff_park_and_budget(session: Session, world: Any) -> None:
    refresh(
        session, "salesforce", desired_fields(session, "salesforce", MAPPING, SHARING), SPECS, T0
    )
    pat, acct = due_rows(session, "salesforce", T0)
    run = PushRun()
    record(pat, WriteResult("k", Outcome.RETRY, error="UNABLE_TO_LOCK_ROW: busy"), run, T0)
    assert (pat.status, pat.attempts, pat.next_attempt_at) == (
        "failed",
        1,
        T0 + timedelta(1 / 1440),
    )
    record(pat, WriteResult("k", Outcome.RETRY, error="UNABLE_TO_LOCK_ROW: busy"), run, T0)
    assert pat.next_attempt_at == T0 + timedelta(minutes=2)
    assert due_rows(session, "salesforce", T0) == [acct]
    stop = "the configured share of the Salesforce API allowance is spent"
    record(acct, WriteResult("k", Outcome.BUDGET, error=stop), run, T0)
    assert (acct.status, acct.attempts, run.budget_stopped) == ("pending", 0, True)
    record(acct, WriteResult("k", Outcome.REFUSED, error="INVALID_FIELD: No such column"), run, T0)
    assert (acct.status, acct.last_error) == ("parked", "INVALID_FIELD: No such column")
    assert (run.failed, run.parked) == (2, 1)


class Died(BaseException):
    """The process ending between the CRM's answer and the local commit."""


class FakeNotes:
    """A CRM's notes, found by marker and written by id, as the adapters do it."""

    def __init__(self) -> None:
        self.notes: dict[str, tuple[str, str]] = {}  # id -> (parent, text)
        self.die_after_write = False
        self.creates = 0
        self.fail_with: str | None = None  # every write fails with this message
        self.fail_as = Outcome.REFUSED  # ... and this outcome

    def find_plan_notes(self, parents: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for nid, (parent, text) in sorted(self.notes.items()):
            if parent in parents and f"[carnet:plan:{parent}]" in text:
                found.setdefault(parent, nid)
        return found

    def push_notes(self, notes: list[PlanNote]) -> list[WriteResult]:
        if self.fail_with:
            return [WriteResult(n.key, self.fail_as, error=self.fail_with) for n in notes]
        out = []
        for n in notes:
            nid = n.note_id or f"002{len(self.notes):03d}"
            self.creates += n.note_id is None
            self.notes[nid] = (n.parent, n.text)
            out.append(WriteResult(n.key, Outcome.OK, nid))
        if self.die_after_write:
            raise Died
        return out

    def usage(self) -> Any:
        from connector.core.records import ApiUsage

        return ApiUsage()


def push_plan_notes(session: Session, crm: FakeNotes) -> None:
    """The plan notes wanted now into the outbox, then the due ones pushed to `crm`."""
    refresh(
        session, "salesforce", desired_notes(session, "salesforce", MAPPING, SHARING), SPECS, T0
    )
    push_notes(session, crm, None, due_rows(session, "salesforce", T0, PLAN), PushRun(), T0)


def test_a_plan_note_is_made_once_though_the_push_died_after_making_it(
    session: Session, world: Any
) -> None:
    session.add(AccountPlan(org_id=world["globex"].id, strategy="<script>x</script> & co"))
    session.commit()
    crm = FakeNotes()
    crm.die_after_write = True
    for attempt in range(3):  # dies twice after the CRM wrote, then gets through
        crm.die_after_write = attempt < 2
        try:
            push_plan_notes(session, crm)
        except Died:
            session.rollback()
    assert crm.creates == 1 and len(crm.notes) == 1
    ((parent, text),) = crm.notes.values()
    # the Salesforce Note's body is the plan's Markdown, read as plain text: Markdown-escaped
    assert parent == "001G" and "\\<script>x\\</script> & co" in text
    assert "&lt;" not in text and "&amp;" not in text
    row = session.scalar(select(m.Outbox).where(m.Outbox.field_set == PLAN))
    assert row is not None and row.status == "done" and row.desired["ref"] == "002000"


def test_referral_credits_fill_the_opportunity_fields(session: Session, world: Any) -> None:
    opp = m.Opportunity(name="Globex deal", org_id=world["globex"].id, amount=1000.0)
    session.add(opp)
    session.flush()
    link(session, "Opportunity", "006D", "opportunity", opp.id)
    credit = m.ReferralCredit(
        opportunity_id=opp.id, referrer_id=world["bob"].id, percent=10.0, amount=100.0
    )
    session.add(credit)
    session.commit()
    assert desired(session)["006D"] == {
        "Carnet_Referrer__c": "Bob",
        "Carnet_Credit_Amount__c": 100,
        "Carnet_Credit_Percent__c": 10,
    }
    credit.status = "void"  # the deal was lost: the fields are cleared
    session.commit()
    assert set(desired(session)["006D"].values()) == {None}


def test_a_note_creation_that_may_have_been_applied_is_retried(
    session: Session, world: Any
) -> None:
    session.add(AccountPlan(org_id=world["globex"].id, strategy="s"))
    session.commit()
    crm = FakeNotes()
    crm.fail_with = (
        "Salesforce composite/sobjects POST: HTTP 500 (not retried: it may have been applied)"
    )
    crm.fail_as = Outcome.MAYBE_APPLIED
    push_plan_notes(session, crm)
    row = session.scalar(select(m.Outbox).where(m.Outbox.field_set == PLAN))
    assert row is not None and row.status == "failed" and row.next_attempt_at is not None
