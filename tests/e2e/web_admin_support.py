"""For the web tests of account plans, credits, network quality and admin: the world of
web_support, plus rep A as a manager, the HubSpot stand-in as an enabled source whose mapping is
a copy the admin may edit, two past weekly snapshots, and (if asked) a won deal that earned A a
credit.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from sqlalchemy import select

from connector.core.config import Sharing
from connector.plans.snapshot import take_snapshot
from connector.store import models as m
from connector.store.db import make_engine, session_factory
from mappings.loader import default_path
from sandbox.runner import Sandbox
from tests.e2e.web_support import WebWorld, make_world

ORG = "Initech Web"


@dataclass
class AdminWorld:
    web: WebWorld
    mapping: Path  # the HubSpot mapping the config names (a copy of the packaged one)
    org_id: int
    y_id: int  # the person Yvonne Openshaw


def _with_source_and_manager(config: Path, sandbox: Sandbox, mapping: Path, manager: str) -> None:
    yaml = YAML()
    doc = yaml.load(config.read_text(encoding="utf-8"))
    stand_ins = yaml.load(sandbox.config_file.read_text(encoding="utf-8"))
    hubspot = dict(stand_ins["sources"]["hubspot"])
    hubspot["token_file"] = str(sandbox.config_file.parent / hubspot["token_file"])
    hubspot["mapping"] = str(mapping)
    doc["sources"] = {"hubspot": hubspot}
    doc["web"]["managers"] = [manager]
    with config.open("w", encoding="utf-8") as out:
        yaml.dump(doc, out)


def _credit_and_history(db_url: str, a: str, b: str, credit: bool) -> tuple[int, int]:
    """B's won deal at Initech after A introduced Yvonne: A's earned credit (if `credit`);
    snapshots of the last two weeks. (the org's id, Yvonne's id)"""
    engine = make_engine(db_url)
    try:
        with session_factory(engine)() as s:
            org = s.scalar(select(m.Org).where(m.Org.name == ORG))
            rep_a = s.scalar(select(m.Member).where(m.Member.email == a))
            rep_b = s.scalar(select(m.Member).where(m.Member.email == b))
            y = s.scalar(select(m.Person).where(m.Person.name == "Yvonne Openshaw"))
            x = s.scalar(select(m.Person).where(m.Person.name == "Xavier Secretus"))
            assert org and rep_a and rep_b and y and x
            x.level, y.level = "c_level", "c_level"
            if credit:
                _earned(s, org, rep_a, rep_b, y)
            sharing = Sharing(default="discoverable", scope="company")
            now = m.utcnow()
            take_snapshot(s, sharing, now - timedelta(days=14))
            take_snapshot(s, sharing, now - timedelta(days=7))
            s.commit()
            return org.id, y.id
    finally:
        engine.dispose()


def _earned(s: Any, org: m.Org, rep_a: m.Member, rep_b: m.Member, y: m.Person) -> None:
    intro = m.Intro(requester_id=rep_b.id, broker_id=rep_a.id, person_id=y.id,
                    reason="platform deal", status="made")  # fmt: skip
    deal = m.Opportunity(name="Initech platform", org_id=org.id, owner_id=rep_b.id,
                         amount=48000.0, currency="EUR", status="won")  # fmt: skip
    s.add_all([intro, deal])
    s.flush()
    s.add(m.ReferralCredit(opportunity_id=deal.id, referrer_id=rep_a.id, intro_id=intro.id,
                           percent=10.0, amount=4800.0, currency="EUR",
                           status="earned"))  # fmt: skip


def make_admin_world(
    folder: Path, sandbox: Sandbox, db_url: str, credit: bool = False, **web: Any
) -> AdminWorld:
    """`credit=True`: also A's earned credit, with its (made) introduction and B's won deal; off
    by default, for tests that count on making the world's first introduction themselves."""
    made = make_world(folder, sandbox, db_url, **web)
    mapping = folder / "mappings" / "hubspot.yaml"
    mapping.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(default_path("hubspot"), mapping)
    _with_source_and_manager(made.config, sandbox, mapping, made.a)
    org_id, y_id = _credit_and_history(db_url, made.a, made.b, credit)
    return AdminWorld(made, mapping, org_id, y_id)


def broken(text: str) -> tuple[str, int]:
    """The mapping with one unknown transform; the line it is on."""
    good = "      name: {from: [firstName, lastName], transform: join}"
    lines = text.splitlines()
    line = lines.index(good) + 1
    return text.replace(good, good.replace("join", "jion"), 1), line


def aimed_more(world: AdminWorld) -> list[tuple[str, str, dict[str, Any]]]:
    """For schemathesis (tests/e2e/test_web_api_schema.py): requests that reach the rows and
    roles of this world on the plan, network quality and admin routes, so answers other than
    refusals are checked too: (operation, whose token, the fixed parts)."""
    web, org, hubspot = world.web, {"org_id": world.org_id}, {"source": "hubspot"}
    text = world.mapping.read_text(encoding="utf-8")
    return [
        ("GET /plans", web.b, {"query": {"q": ORG}}),
        ("GET /plans/{org_id}", web.b, {"path_parameters": org}),
        ("GET /plans/{org_id}/export/{fmt}", web.b, {"path_parameters": org}),
        ("POST /plans/{org_id}", web.a, {"path_parameters": org, "body": {"strategy": "Land"}}),
        ("GET /team/network", web.a, {}),  # A is the team's manager
        ("GET /admin/mappings/{source}", web.admin, {"path_parameters": hubspot}),
        ("POST /admin/mappings/{source}/check", web.admin,
         {"path_parameters": hubspot, "body": {"text": text, "online": False}}),
        ("PUT /admin/mappings/{source}", web.admin,
         {"path_parameters": hubspot, "body": {"text": text}}),
    ]  # fmt: skip
