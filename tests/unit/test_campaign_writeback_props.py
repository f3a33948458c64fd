"""A property of the campaign write-back: whatever owners decide, CRM users set and however
often a push dies between the CRM's answer and the commit, one clean push leaves the CRM holding
one campaign whose members are exactly the accepted guests, a status set in the CRM is never
overwritten, and the push after it writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from connector.core.records_campaigns import MemberState
from connector.store import models as m
from connector.store.db import make_engine
from tests.store.campaign_support import Died, FakeCrm, campaign_world, push, set_state

CONTACT = {"pat": "003P", "quinn": "003Q", "sam": "003S", "rae": None}  # rae: no CRM contact
NEXT = {"open": "closed", "closed": "done", "done": "done"}

steps = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["accept", "decline", "attend"]), st.sampled_from(list(CONTACT))),
        st.tuples(st.just("advance"), st.none()),
        st.tuples(st.just("push"), st.sampled_from([None, "push_campaigns", "push_members"])),
    ),
    max_size=14,
)


@contextmanager
def store() -> Iterator[Session]:
    engine = make_engine("sqlite://")
    m.Base.metadata.create_all(engine)
    with Session(engine) as s:
        yield s
    engine.dispose()


def attend(crm: FakeCrm, contact: str | None) -> None:
    """A CRM user marks a member attended (nothing when it is not a member)."""
    for held in crm.members.values():
        if contact in held:
            held[contact] = MemberState(held[contact].ref, "Attended")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=steps)
def test_the_crm_ends_with_exactly_the_accepted_guests(steps: list[tuple[str, Any]]) -> None:
    with store() as s:
        world = campaign_world(s)
        crm = FakeCrm()
        for op, arg in steps:
            if op in ("accept", "decline") and world.campaign.state != "done":
                world.noms[arg].status = "accepted" if op == "accept" else "declined"
                s.commit()
            elif op == "attend":
                attend(crm, CONTACT[arg])
            elif op == "advance":
                set_state(s, world, NEXT[world.campaign.state])
            elif op == "push":
                crm.die_after = arg
                try:
                    push(s, crm)
                except Died:
                    s.rollback()
                crm.die_after = None  # a push with nothing of that kind to write did not die
        push(s, crm)
        guests = {CONTACT[n] for n, nom in world.noms.items() if nom.status == "accepted"}
        ours = "Nominated" if world.campaign.state == "open" else "Invited"
        ((ref, campaign),) = crm.campaigns.items()
        assert campaign.status == {"open": "Planned", "closed": "In Progress",
                                   "done": "Completed"}[world.campaign.state]  # fmt: skip
        assert set(crm.members[ref]) == guests - {None}
        assert set(crm.statuses().values()) <= {ours, "Attended"}
        assert crm.overwritten == []
        crm.calls.clear()
        push(s, crm)
        assert crm.writes() == []
