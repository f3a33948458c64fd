"""Managers from the CRM's hierarchy on the web (`web.managers: [crm]`), against the real app and
the OIDC stand-in, on SQLite and PostgreSQL: A, with B reporting to A, is a manager on sign-in and
through an API token alike, and sees Network quality for A and B; B, the rep, gets 403 (audited).
B's private relationship shows in none of A's answers; being B's manager reveals nothing more.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from connector.store import models as m
from connector.store.app import App
from connector.store.db import make_engine, session_factory
from sandbox.runner import Sandbox
from tests import governance_world as w
from tests.conftest import fresh_db_url
from tests.e2e.web_support import Client, WebWorld, make_world, served, sign_in

SECRET = "zed.private@initech-web.example"


@pytest.fixture
def world(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, fresh_sandbox: Sandbox
) -> Iterator[WebWorld]:
    made = make_world(
        tmp_path, fresh_sandbox, fresh_db_url(backend, tmp_path, request), managers=["crm"]
    )
    with store(made) as s:
        a, b = (
            s.scalars(select(m.Member).where(m.Member.email == e)).one() for e in (made.a, made.b)
        )
        b.manager_id = a.id  # B reports to A in Salesforce
        org = s.scalars(select(m.Org).where(m.Org.name == "Initech Web")).one()
        zed = w.person(s, SECRET, org, "Zed Hidden", "CEO")
        w.rel(s, b, zed, rating=5, share="private", notes="zed private notes")
        s.commit()
    with served(made.config, made.base_url):
        yield made


class store:
    """A session on the world's store, closed with its engine."""

    def __init__(self, world: WebWorld) -> None:
        self.engine = make_engine(App(world.config).config.database_url)

    def __enter__(self) -> Any:
        self.session = session_factory(self.engine)()
        return self.session

    def __exit__(self, *exc: object) -> None:
        self.session.close()
        self.engine.dispose()


def signed_in(world: WebWorld, sandbox: Sandbox, email: str) -> Client:
    c = Client(world.base_url)
    assert sign_in(c, sandbox, email).status_code == 303
    return c


def token_for(world: WebWorld, sandbox: Sandbox, email: str) -> dict[str, str]:
    boss = signed_in(world, sandbox, world.admin)
    page = boss.get("/network").text
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    issued = boss.post("/api/v1/admin/tokens", json={"member_email": email, "label": "script"},
                       headers={"X-CSRF-Token": csrf})  # fmt: skip
    assert issued.status_code == 200, issued.text
    return {"Authorization": f"Bearer {issued.json()['token']}"}


def test_a_crm_manager_sees_network_quality_and_a_rep_gets_403(
    world: WebWorld, fresh_sandbox: Sandbox
) -> None:
    lead = signed_in(world, fresh_sandbox, world.a)
    assert "Network quality" in lead.get("/network").text
    page = lead.get("/team")
    assert page.status_code == 200 and "and their reports" in page.text
    doc = lead.get("/api/v1/team/network").json()
    assert doc["team"] == f"{world.names[world.a]} and their reports"
    assert sorted(x["member"]["email"] for x in doc["members"]) == sorted([world.a, world.b])
    # A's two shared ties and B's discoverable one; B's private tie counts nowhere
    assert doc["figures"]["relationships"] == 3 and doc["figures"]["strength"]["5"] == 1
    credits = lead.get("/api/v1/credits").json()
    assert credits["team"] is not None and credits["team"]["name"] is None
    assert lead.get("/api/v1/me").json()["roles"] == ["manager"]
    for answer in (page.text, str(doc), lead.get("/credits").text, str(credits)):
        assert SECRET not in answer and "Zed Hidden" not in answer and "zed private" not in answer

    rep = signed_in(world, fresh_sandbox, world.b)
    assert rep.get("/team").status_code == 403
    assert rep.get("/api/v1/team/network").status_code == 403
    assert "Network quality" not in rep.get("/network").text
    with store(world) as s:
        tried = s.scalars(
            select(m.AuditEvent.details).where(m.AuditEvent.action == "web.forbidden")
        )
        assert [d["tried"] for d in tried] == ["/team", "GET /api/v1/team/network"]


def test_api_tokens_agree_with_sign_in_and_follow_the_hierarchy(
    world: WebWorld, fresh_sandbox: Sandbox
) -> None:
    script = Client(world.base_url)
    lead, rep = token_for(world, fresh_sandbox, world.a), token_for(world, fresh_sandbox, world.b)
    assert script.get("/api/v1/me", headers=lead).json()["roles"] == ["manager"]
    assert script.get("/api/v1/me", headers=rep).json()["roles"] == []
    assert script.get("/api/v1/team/network", headers=lead).status_code == 200
    assert script.get("/api/v1/team/network", headers=rep).status_code == 403
    with store(world) as s:  # B leaves A's team in Salesforce: A has no report any more
        s.execute(update(m.Member).where(m.Member.email == world.b).values(manager_id=None))
        s.commit()
    assert script.get("/api/v1/team/network", headers=lead).status_code == 403
    again = signed_in(world, fresh_sandbox, world.a)
    assert again.get("/api/v1/me").json()["roles"] == []
    assert again.get("/team").status_code == 403
