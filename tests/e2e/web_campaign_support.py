"""For the web tests of invitation campaigns: the world of web_support (rep A knows X and Y, rep B
knows Y; both C-level), with X made private, plus an owner (a manager) and a third rep, all of
them users of the OIDC stand-in; campaigns and nominations made through the service, as the CLI
would; and the requests schemathesis aims at the campaign routes (test_web_api_schema.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import update
from sqlalchemy.orm import Session

from connector.core.config import Sharing
from connector.governance import campaigns as svc
from connector.governance.relationships import member_by_email
from connector.store import models as m
from connector.store.db import make_engine, session_factory, transaction
from sandbox.runner import Sandbox
from tests import governance_world as w
from tests.e2e.web_support import WebWorld, make_world

ORG = "Initech Web"
SHARING = Sharing(default="discoverable", scope="company")  # as web_support's config says
T = TypeVar("T")


@dataclass
class CampaignWorld:
    web: WebWorld
    db_url: str
    owner: str  # a manager: runs the campaigns
    c: str  # a third rep, who knows nobody at Initech

    def name(self, email: str) -> str:
        return self.web.names[email]


def in_store(db_url: str, work: Callable[[Session], T]) -> T:
    """`work` in one committed transaction on the world's store."""
    engine = make_engine(db_url)
    try:
        with transaction(session_factory(engine)) as s:
            return work(s)
    finally:
        engine.dispose()


def make_campaign_world(folder: Path, sandbox: Sandbox, db_url: str) -> CampaignWorld:
    users = [u for u in sandbox.world.members if u.has_mailbox and u.active]
    owner, third = users[3], users[4]
    web = make_world(folder, sandbox, db_url, managers=[owner.email])

    def fill(s: Session) -> None:
        for user in (owner, third):
            made = w.member(s, user.email, "emea", f"{user.first_name} {user.last_name}")
            web.names[made.email] = made.name
        rx = update(m.Relationship).where(m.Relationship.id == web.rel_x)
        s.execute(rx.values(shareability="private"))
        at_initech = m.Person.name.in_(["Xavier Secretus", "Yvonne Openshaw"])
        s.execute(update(m.Person).where(at_initech).values(level="c_level"))  # CFO, CTO

    in_store(db_url, fill)
    return CampaignWorld(web, db_url, owner.email, third.email)


def open_campaign(
    db_url: str, owner: str, name: str = "Roland-Garros box", capacity: int = 4
) -> int:
    """A campaign at Initech, created and opened by `owner` through the service; its id."""

    def work(s: Session) -> int:
        me = member_by_email(s, owner)
        criteria = {"orgs": [ORG]}
        made = svc.create_campaign(s, me, name=name, capacity=capacity, criteria=criteria)
        return int(svc.set_state(s, made["id"], me, "open")["id"])

    return in_store(db_url, work)


def nominate(db_url: str, campaign_id: int, rep: str, person: str) -> int:
    """`rep` puts `person` forward, through the service; the nomination's id."""

    def work(s: Session) -> int:
        doc = svc.nominate(s, campaign_id, member_by_email(s, rep), person, SHARING)
        return int(doc["id"])

    return in_store(db_url, work)


def aimed_campaigns(web: WebWorld, db_url: str) -> list[tuple[str, str, dict[str, Any]]]:
    """For schemathesis, in a world where rep A is a manager: A's open campaign at Initech, with
    B's nomination of Y, and A's draft; the requests that reach them, so answers other than
    refusals are checked: (operation, whose token, the fixed parts)."""
    first = open_campaign(db_url, web.a)
    draft = in_store(
        db_url,
        lambda s: svc.create_campaign(s, member_by_email(s, web.a), name="Dinner", capacity=8),
    )["id"]
    nom = nominate(db_url, first, web.b, web.y)
    at, y = {"campaign_id": first}, {"person_email": web.y}
    decided = {**at, "nomination_id": nom}
    return [
        ("GET /campaigns/{campaign_id}", web.a, {"path_parameters": at}),
        ("GET /campaigns/{campaign_id}", web.b, {"path_parameters": at}),
        ("POST /campaigns", web.a, {"body": {"name": "Customer dinner", "capacity": 12}}),
        ("POST /campaigns/{campaign_id}/state", web.a,
         {"path_parameters": {"campaign_id": draft}, "body": {"target": "open"}}),
        ("POST /campaigns/{campaign_id}/nominations/withdraw", web.b,
         {"path_parameters": at, "body": y}),
        ("POST /campaigns/{campaign_id}/nominations", web.b, {"path_parameters": at, "body": y}),
        ("POST /campaigns/{campaign_id}/nominations/{nomination_id}/{action}", web.a,
         {"path_parameters": {**decided, "action": "accept"}}),
        ("POST /campaigns/{campaign_id}/nominations/{nomination_id}/{action}", web.a,
         {"path_parameters": {**decided, "action": "decline"}, "body": {"reason": "full"}}),
    ]  # fmt: skip
