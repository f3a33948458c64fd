"""The CRM's account fields (coverage, single-threaded) are counted in the store through the SQL
form of the one visibility rule (`connector.writeback.desired.org_values`). Whatever the overlay,
they equal what the account plan's report gives the CRM audience, which reads and redacts every
relationship (`accounts_report`): the same people counted, the same key people, the same rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from connector.core.config import Sharing
from connector.governance.viewers import CRM_AUDIENCE
from connector.plans.network import accounts_report
from connector.store import models as m
from connector.store.models_plans import AccountPlan, Stakeholder
from connector.writeback.desired import org_values
from tests import governance_world as w

NOW = datetime.now(UTC)
ORGS, PEOPLE, MEMBERS = 3, 6, 4


store = w.memory_store


relationship = st.tuples(
    st.integers(0, MEMBERS - 1),
    st.integers(0, PEOPLE - 1),
    st.sampled_from([None, 1, 3, 5]),  # rating
    st.sampled_from([None, "private", "discoverable", "shared"]),
    st.sampled_from(["old", "waiting", "chosen"]),  # found long ago, in its grace period, chosen
)
person = st.tuples(
    st.one_of(st.none(), st.integers(0, ORGS - 1)),
    st.sampled_from(["c_level", "vp", "director", "manager", "staff", "unknown"]),
    st.sampled_from(["live", "deleted", "merged"]),
)
overlay = st.fixed_dictionaries(
    {
        "people": st.lists(person, min_size=PEOPLE, max_size=PEOPLE),
        "members": st.lists(
            st.tuples(st.booleans(), st.sampled_from([None, "east", "west"])),
            min_size=MEMBERS,
            max_size=MEMBERS,
        ),
        "rels": st.lists(relationship, min_size=4, max_size=24),
        "stances": st.dictionaries(
            st.integers(0, PEOPLE - 1),
            st.sampled_from(["champion", "adversary", "unknown"]),
            max_size=4,
        ),
        "sharing": st.builds(
            Sharing,
            default=st.sampled_from(["private", "discoverable", "shared"]),
            scope=st.sampled_from(["company", "company", "team"]),
            pilot_teams=st.sampled_from([[], [], ["east"]]),
            grace_days=st.sampled_from([0, 7]),
        ),
    }
)


def build(s: Session, doc: dict[str, Any]) -> list[int]:
    members = [
        w.member(s, f"rep{i}@us.example", team=team, active=active)
        for i, (active, team) in enumerate(doc["members"])
    ]
    orgs = [w.org(s, f"Org {i}") for i in range(ORGS)]
    people = []
    for i, (o, level, state) in enumerate(doc["people"]):
        p = w.person(s, f"p{i}@org.example", None if o is None else orgs[o])
        p.level = level
        if state == "deleted":
            p.deleted_at = NOW
        people.append(p)
    for p, (_, _, state) in zip(people, doc["people"], strict=True):
        if state == "merged" and p is not people[0]:
            p.merged_into_id = people[0].id
    taken = set()
    for mi, pi, rating, share, when in doc["rels"]:
        if (mi, pi) in taken:
            continue
        taken.add((mi, pi))
        r = w.rel(s, members[mi], people[pi], rating=rating, score=2.4, share=share)
        r.discovered_at = NOW - timedelta(days=1 if when == "waiting" else 30)
        r.chosen_at = NOW if when == "chosen" else None
    plans: dict[int, AccountPlan] = {}
    for pi, stance in doc["stances"].items():
        org_id = people[pi].org_id
        if org_id is None:
            continue
        if org_id not in plans:
            plans[org_id] = AccountPlan(org_id=org_id, strategy="grow")
            s.add(plans[org_id])
            s.flush()
        s.add(Stakeholder(plan_id=plans[org_id].id, person_id=people[pi].id, stance=stance))
        s.flush()
    s.commit()
    return [o.id for o in orgs]


def from_the_plan(s: Session, sharing: Sharing, org_ids: list[int]) -> dict[int, dict[str, Any]]:
    orgs = [s.get(m.Org, i) for i in org_ids]
    out = {}
    for report in accounts_report(s, CRM_AUDIENCE, sharing, [o for o in orgs if o]):
        people = report["people"]
        out[report["org"]["id"]] = {
            "coverage": round(100.0 * report["known"] / people, 1) if people else None,
            "single_threaded": bool(report["single_threaded"]),
        }
    return out


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(overlay)
def test_the_crms_account_fields_are_the_plans_figures_for_the_crm_audience(
    doc: dict[str, Any],
) -> None:
    with store() as s:
        org_ids = build(s, doc)
        wanted = [*org_ids, max(org_ids) + 1]  # an org gone since: no values
        assert org_values(s, doc["sharing"], wanted) == from_the_plan(s, doc["sharing"], org_ids)
