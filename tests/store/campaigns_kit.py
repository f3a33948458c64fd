"""The hand-made world the campaign store tests share: an owner, three reps, two orgs, people
and relationships of every kind (private, shared, waiting for a choice, to a deleted person)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.config import Sharing
from connector.governance.campaigns import create_campaign, set_state
from connector.store import models as m
from tests import governance_world as w

TEAM = Sharing()  # team scope, discoverable by default, a 7-day grace period


def build_world(s: Session) -> dict[str, Any]:
    """Olga runs campaigns; Ana, Bob (her team) and Cat (another) hold relationships."""
    olga, ana, bob, cat = (
        w.member(s, f"{n}@us.example", team, n.title())
        for n, team in (("olga", "emea"), ("ana", "emea"), ("bob", "emea"), ("cat", "us"))
    )
    globex = w.org(s, "Globex", ("globex.de",), country="DE")
    initech = w.org(s, "Initech", ("initech.example",), country="FR")
    zoe = w.person(s, "zoe@globex.de", globex, "Zoe Ng", "CFO")
    zoe.level = "c_level"
    max_ = w.person(s, "max@globex.de", globex, "Max Pohl", "CTO")
    max_.level, max_.country = "vp", "AT"
    ida = w.person(s, "ida@initech.example", initech, "Ida Roy", "Buyer")
    gus = w.person(s, "gus@globex.de", globex, "Gus Gone")
    gus.deleted_at = datetime.now(UTC)
    rels = {
        "ana-zoe": w.rel(s, ana, zoe, rating=4, share="private"),
        "ana-max": w.rel(s, ana, max_, rating=2, share="discoverable"),
        "ana-ida": w.rel(s, ana, ida, rating=5),
        "ana-gus": w.rel(s, ana, gus, rating=5),
        "bob-zoe": w.rel(s, bob, zoe, rating=3, share="shared"),
        "bob-ida": w.rel(s, bob, ida, rating=3, share="discoverable"),
        "cat-zoe": w.rel(s, cat, zoe, rating=5, share="private"),
    }
    # a sync found ana-ida yesterday: it waits for her choice, hidden from everyone else
    rels["ana-ida"].discovered_at = datetime.now(UTC) - timedelta(days=1)
    s.flush()
    return {"olga": olga, "ana": ana, "bob": bob, "cat": cat, "rels": rels,
            "zoe": zoe, "max": max_, "ida": ida}  # fmt: skip


def open_campaign(s: Session, wd: dict[str, Any], opened: bool = True, **kw: Any) -> int:
    kw.setdefault("capacity", 5)
    doc = create_campaign(s, wd["olga"], name="Roland-Garros VIP box", **kw)
    if opened:
        set_state(s, doc["id"], wd["olga"], "open")
    return int(doc["id"])


def actions(s: Session, subject_type: str) -> list[str]:
    q = select(m.AuditEvent.action).where(m.AuditEvent.subject_type == subject_type)
    return list(s.scalars(q.order_by(m.AuditEvent.id)))
