"""Refusals of the account plan, credits, network quality and admin routes, against the real app
and the OIDC stand-in, on SQLite and PostgreSQL: a rep on every admin route and on the managers'
page (403, each audited), every new form without or with a wrong CSRF token (403, nothing
changed), nobody signed in (sign-in / 401); and the mappings editor's API: a text with a problem
is refused with its line and nothing is written, a good one replaces the file atomically with the
previous version kept and an audit event, a stale one is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from connector.store import models as m
from connector.store.app import App
from connector.store.db import make_engine, session_factory
from connector.store.models_plans import AccountPlan
from sandbox.runner import Sandbox
from tests.conftest import fresh_db_url
from tests.e2e.web_admin_support import AdminWorld, broken, make_admin_world
from tests.e2e.web_support import Client, served, sign_in


@pytest.fixture
def world(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, fresh_sandbox: Sandbox
) -> Iterator[AdminWorld]:
    made = make_admin_world(tmp_path, fresh_sandbox, fresh_db_url(backend, tmp_path, request))
    with served(made.web.config, made.web.base_url):
        yield made


def signed_in(world: AdminWorld, sandbox: Sandbox, email: str) -> Client:
    c = Client(world.web.base_url)
    assert sign_in(c, sandbox, email).status_code == 303
    return c


def csrf_of(c: Client) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', c.get("/network").text)
    assert found
    return found.group(1)


def store_rows(world: AdminWorld, query: Any) -> list[Any]:
    engine = make_engine(App(world.web.config).config.database_url)
    try:
        with session_factory(engine)() as s:
            return list(s.execute(query).all())
    finally:
        engine.dispose()


def forbidden(world: AdminWorld) -> list[str]:
    q = select(m.AuditEvent.details).where(m.AuditEvent.action == "web.forbidden")
    return [d["tried"] for (d,) in store_rows(world, q.order_by(m.AuditEvent.id))]


def plan_state(world: AdminWorld) -> list[Any]:
    return store_rows(world, select(AccountPlan.strategy).where(AccountPlan.org_id == world.org_id))


ADMIN_PAGES = ["/admin", "/admin/mappings", "/admin/mappings/hubspot", "/admin/audit",
               "/admin/members"]  # fmt: skip
ADMIN_API = [("GET", "/admin/status", None), ("GET", "/admin/mappings", None),
             ("GET", "/admin/mappings/hubspot", None), ("GET", "/admin/members", None),
             ("GET", "/admin/audit", None),
             ("POST", "/admin/mappings/hubspot/check", {"text": "version: 1\n"}),
             ("PUT", "/admin/mappings/hubspot", {"text": "version: 1\n"})]  # fmt: skip


def test_a_rep_is_refused_every_admin_route_and_the_managers_page(
    world: AdminWorld, fresh_sandbox: Sandbox
) -> None:
    rep = signed_in(world, fresh_sandbox, world.web.b)
    token = csrf_of(rep)
    before = world.mapping.read_bytes()
    for path in ADMIN_PAGES:
        assert rep.get(path).status_code == 403, path
    posts = {"/admin/mappings/hubspot": {"action": "save", "text": "version: 1\n"},
             "/admin/tokens": {"member_email": world.web.b, "label": "mine"},
             "/admin/tokens/1/revoke": {}}  # fmt: skip
    for path, form in posts.items():
        assert rep.post(path, data={**form, "csrf": token}).status_code == 403, path
    for method, path, body in ADMIN_API:
        resp = rep.request(method, "/api/v1" + path, json=body, headers={"X-CSRF-Token": token})
        assert resp.status_code == 403, (method, path, resp.text)
    assert rep.get("/team").status_code == 403
    assert rep.get("/api/v1/team/network").status_code == 403
    assert world.mapping.read_bytes() == before
    expected = [*ADMIN_PAGES, *posts, *[f"{m} /api/v1{p}" for m, p, _ in ADMIN_API],
                "/team", "GET /api/v1/team/network"]  # fmt: skip
    assert forbidden(world) == expected
    manager = signed_in(world, fresh_sandbox, world.web.a)
    assert manager.get("/team").status_code == 200
    assert manager.get("/api/v1/team/network").json()["team"] == "emea"
    assert "Network quality" not in rep.get("/network").text  # not in a rep's navigation
    assert "Network quality" in manager.get("/network").text


def test_every_new_form_needs_its_csrf_token(world: AdminWorld, fresh_sandbox: Sandbox) -> None:
    admin = signed_in(world, fresh_sandbox, world.web.admin)
    good = csrf_of(admin)
    text = world.mapping.read_text()
    org = world.org_id
    forms = {
        f"/plans/{org}/strategy": {"strategy": "Land and expand"},
        f"/plans/{org}/stakeholders/{world.y_id}": {"stance": "champion", "influence": "5"},
        f"/plans/{org}/actions": {"text": "Called the CTO"},
        "/admin/mappings/hubspot": {"action": "save", "text": text + "# changed\n"},
        "/admin/tokens": {"member_email": world.web.b, "label": "script"},
        "/admin/tokens/1/revoke": {},
    }
    for token in (None, "wrong"):
        for path, form in forms.items():
            data = {**form, **({"csrf": token} if token else {})}
            assert admin.post(path, data=data).status_code == 403, (path, token)
    headers = {"X-CSRF-Token": "wrong"}
    assert admin.post(f"/api/v1/plans/{org}", json={"strategy": "x"}).status_code == 403
    assert admin.put("/api/v1/admin/mappings/hubspot", json={"text": text},
                     headers=headers).status_code == 403  # fmt: skip
    assert plan_state(world) == [] and world.mapping.read_text() == text
    assert store_rows(world, select(m.AuditEvent).where(m.AuditEvent.action.like("plan.%"))) == []
    resp = admin.post(f"/plans/{org}/strategy", data={"csrf": good, "strategy": "Land"})
    assert resp.status_code == 303 and plan_state(world) == [("Land",)]


def test_nobody_signed_in_is_sent_to_sign_in_or_answered_401(world: AdminWorld) -> None:
    c = Client(world.web.base_url)
    for path in ["/plans", f"/plans/{world.org_id}", f"/plans/{world.org_id}/plan.md",
                 "/credits", "/team", *ADMIN_PAGES]:  # fmt: skip
        resp = c.get(path)
        assert resp.status_code == 303 and resp.headers["location"].startswith("/sign-in"), path
    for path in [f"/plans/{world.org_id}", "/credits", "/team/network", "/admin/status"]:
        assert c.get("/api/v1" + path).status_code == 401, path


def test_the_mappings_api_checks_saves_atomically_and_audits(
    world: AdminWorld, fresh_sandbox: Sandbox
) -> None:
    admin = signed_in(world, fresh_sandbox, world.web.admin)
    headers = {"X-CSRF-Token": csrf_of(admin)}
    opened = admin.get("/api/v1/admin/mappings/hubspot").json()
    assert opened["editable"] and opened["text"] == world.mapping.read_text()
    bad, line = broken(opened["text"])
    check = admin.post("/api/v1/admin/mappings/hubspot/check", json={"text": bad}, headers=headers)
    assert check.status_code == 200 and check.json()["valid"] is False
    assert [(p["line"], p["key"]) for p in check.json()["problems"]] == [
        (line, "objects.owners.values.name.transform")
    ]
    refused = admin.put("/api/v1/admin/mappings/hubspot", headers=headers,
                        json={"text": bad, "base": opened["sha256"]})  # fmt: skip
    assert refused.status_code == 400 and refused.json()["problems"][0]["line"] == line
    assert f"{world.mapping}:{line}: " in refused.json()["error"]
    assert world.mapping.read_text() == opened["text"]
    assert not world.mapping.with_name("hubspot.yaml.previous").exists()

    fixed = opened["text"] + "# owners' names joined, checked in the browser\n"
    body = {"text": fixed.replace("\n", "\r\n"), "base": opened["sha256"]}
    saved = admin.put("/api/v1/admin/mappings/hubspot", headers=headers, json=body)
    assert saved.status_code == 200, saved.text
    assert world.mapping.read_text() == fixed  # the browser's CRLF back to the file's LF
    assert world.mapping.with_name("hubspot.yaml.previous").read_text() == opened["text"]
    assert sorted(p.name for p in world.mapping.parent.iterdir()) == [
        "hubspot.yaml",
        "hubspot.yaml.previous",
    ]  # fmt: skip  (no staged file left behind)
    events = store_rows(world, select(m.AuditEvent.subject_id, m.AuditEvent.details)
                        .where(m.AuditEvent.action == "mappings.saved"))  # fmt: skip
    audited = {k: v for k, v in saved.json().items() if k != "source"}
    assert events == [("hubspot", audited)] and saved.json()["was"] == opened["sha256"]
    stale = admin.put("/api/v1/admin/mappings/hubspot", headers=headers,
                      json={"text": opened["text"], "base": opened["sha256"]})  # fmt: skip
    assert stale.status_code == 400 and "changed since you opened it" in stale.text
    assert world.mapping.read_text() == fixed


def test_an_api_token_carries_its_members_roles(world: AdminWorld, fresh_sandbox: Sandbox) -> None:
    admin = signed_in(world, fresh_sandbox, world.web.admin)
    headers = {"X-CSRF-Token": csrf_of(admin)}
    bearer = {}
    for who in (world.web.a, world.web.b):  # A is a manager (web.managers), B a rep
        issued = admin.post("/api/v1/admin/tokens", json={"member_email": who, "label": "report"},
                            headers=headers)  # fmt: skip
        bearer[who] = {"Authorization": f"Bearer {issued.json()['token']}"}
    script = Client(world.web.base_url)
    team = script.get("/api/v1/team/network", headers=bearer[world.web.a])
    assert team.status_code == 200 and team.json()["team"] == "emea"
    assert script.get("/api/v1/team/network", headers=bearer[world.web.b]).status_code == 403
    assert script.get("/api/v1/admin/status", headers=bearer[world.web.a]).status_code == 403
    plan = script.get(f"/api/v1/plans/{world.org_id}", headers=bearer[world.web.b]).json()
    assert plan["audience"] == world.web.b  # a token reads as its member, nobody else
