"""The web app's refusals, against the real app and the OIDC stand-in (real sign-ins checked by
Authlib), on SQLite and PostgreSQL: no session, another member's session, a missing or wrong CSRF
token, forged / expired / wrong-nonce id_tokens, `next=` to another site, a non-member, too many
callbacks; and what an admin-issued API token may do until it is revoked.
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
from sandbox.runner import Sandbox
from tests.conftest import fresh_db_url
from tests.e2e.web_support import Client, WebWorld, make_world, served, sign_in
from tests.sandbox_fixture import admin


@pytest.fixture
def world(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, fresh_sandbox: Sandbox
) -> WebWorld:
    return make_world(tmp_path, fresh_sandbox, fresh_db_url(backend, tmp_path, request))


@pytest.fixture
def app(world: WebWorld) -> Iterator[Any]:
    with served(world.config, world.base_url) as carnet:
        yield carnet


def client(app: Any, world: WebWorld) -> Client:
    return Client(world.base_url)


def signed_in(app: Any, world: WebWorld, sandbox: Sandbox, email: str) -> Client:
    c = client(app, world)
    resp = sign_in(c, sandbox, email)
    assert resp.status_code == 303, resp.text
    return c


def csrf_of(c: Client) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', c.get("/network").text)
    assert found
    return found.group(1)


def store(world: WebWorld) -> Any:
    url = App(world.config).config.database_url
    return make_engine(url)


def rel_row(world: WebWorld, rel_id: int) -> tuple[Any, ...]:
    engine = store(world)
    try:
        with session_factory(engine)() as s:
            r = s.get(m.Relationship, rel_id)
            assert r is not None
            return (r.rating, r.shareability, r.exclusive)
    finally:
        engine.dispose()


def forbidden_events(world: WebWorld) -> list[dict[str, Any]]:
    engine = store(world)
    try:
        with session_factory(engine)() as s:
            q = select(m.AuditEvent).where(m.AuditEvent.action == "web.forbidden")
            return [e.details for e in s.scalars(q)]
    finally:
        engine.dispose()


def test_without_a_session_pages_redirect_and_the_api_answers_401(app: Any, world: WebWorld):
    c = client(app, world)
    page = c.get("/network", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/sign-in?next=%2Fnetwork"
    assert c.get("/api/v1/network").status_code == 401
    assert c.get("/api/v1/who-knows", params={"q": world.y}).status_code == 401
    post = c.post(f"/network/{world.rel_x}", data={"rating": "1", "shareability": "private"},
                  follow_redirects=False)  # fmt: skip
    assert post.status_code == 303 and post.headers["location"].startswith("/sign-in")
    assert rel_row(world, world.rel_x) == (5, "shared", False)


def test_another_members_session_cannot_edit_my_relationship(
    app: Any, world: WebWorld, fresh_sandbox: Sandbox
) -> None:
    b = signed_in(app, world, fresh_sandbox, world.b)
    form = {"csrf": csrf_of(b), "rating": "1", "shareability": "private"}
    resp = b.post(f"/network/{world.rel_x}", data=form, follow_redirects=False)
    assert resp.status_code == 403
    api = b.post(f"/api/v1/network/{world.rel_x}", json={"rating": 1, "shareability": "private"},
                 headers={"X-CSRF-Token": form["csrf"]})  # fmt: skip
    assert api.status_code == 403
    assert rel_row(world, world.rel_x) == (5, "shared", False)
    tried = [e["tried"] for e in forbidden_events(world)]
    assert tried == [f"/network/{world.rel_x}", f"POST /api/v1/network/{world.rel_x}"]


def test_only_the_broker_approves_an_introduction(
    app: Any, world: WebWorld, fresh_sandbox: Sandbox
) -> None:
    b = signed_in(app, world, fresh_sandbox, world.b)
    token = csrf_of(b)
    asked = b.post("/api/v1/intros", json={"person_email": world.y, "reason": "a deal"},
                   headers={"X-CSRF-Token": token})  # fmt: skip
    assert asked.status_code == 200, asked.text
    intro = asked.json()["id"]
    assert asked.json()["broker"]["email"] == world.a
    # the requester, and a third member, cannot approve it
    assert b.post(f"/intros/{intro}/approve", data={"csrf": token}).status_code == 403
    other = signed_in(app, world, fresh_sandbox, world.admin)
    resp = other.post(f"/api/v1/intros/{intro}/approve", json={},
                      headers={"X-CSRF-Token": csrf_of(other)})  # fmt: skip
    assert resp.status_code == 403
    assert len(forbidden_events(world)) == 2
    a = signed_in(app, world, fresh_sandbox, world.a)
    ok = a.post(f"/intros/{intro}/approve", data={"csrf": csrf_of(a)}, follow_redirects=False)
    assert ok.status_code == 303
    assert b.get("/api/v1/intros").json()["requested"][0]["status"] == "approved"


@pytest.mark.parametrize("token", [None, "wrong"])
def test_a_missing_or_wrong_csrf_token_is_refused(
    app: Any, world: WebWorld, fresh_sandbox: Sandbox, token: str | None
) -> None:
    a = signed_in(app, world, fresh_sandbox, world.a)
    form = {"rating": "1", "shareability": "private", **({"csrf": token} if token else {})}
    assert a.post(f"/network/{world.rel_x}", data=form).status_code == 403
    headers = {"X-CSRF-Token": token} if token else {}
    api = a.post(f"/api/v1/network/{world.rel_x}", json={"rating": 1}, headers=headers)
    assert api.status_code == 403
    assert a.post("/sign-out", data=form).status_code == 403
    assert rel_row(world, world.rel_x) == (5, "shared", False)
    good = a.post(f"/network/{world.rel_x}", data={**form, "csrf": csrf_of(a)})
    assert good.status_code == 303 and rel_row(world, world.rel_x) == (1, "private", False)


@pytest.mark.parametrize(
    "tamper", ["wrong_key", "expired", "wrong_nonce", "wrong_audience", "wrong_issuer"]
)
def test_a_bad_id_token_signs_nobody_in(
    app: Any, world: WebWorld, fresh_sandbox: Sandbox, tamper: str
) -> None:
    admin(fresh_sandbox, "graph", "POST", "/__sandbox/oidc", json={"next_id_token": tamper})
    c = client(app, world)
    resp = sign_in(c, fresh_sandbox, world.a)
    assert resp.status_code == 400 and "refused" in resp.text
    assert "carnet_session" not in resp.cookies
    assert c.get("/api/v1/me").status_code == 401
    assert signed_in(app, world, fresh_sandbox, world.a).get("/api/v1/me").status_code == 200


def test_a_callback_that_does_not_match_the_sign_in_is_refused(
    app: Any, world: WebWorld, fresh_sandbox: Sandbox
) -> None:
    c = client(app, world)
    c.get("/auth/start", follow_redirects=False)
    assert c.get("/auth/callback?code=abc&state=forged").status_code == 400
    fresh = client(app, world)  # no pending sign-in at all
    assert fresh.get("/auth/callback?code=abc&state=abc").status_code == 400


@pytest.mark.parametrize(
    "target", ["https://evil.example/x", "//evil.example", "/\\evil.example", "javascript:x"]
)
def test_next_never_leaves_the_site(
    app: Any, world: WebWorld, fresh_sandbox: Sandbox, target: str
) -> None:
    c = client(app, world)
    assert "evil" not in c.get("/sign-in", params={"next": target}).text
    resp = sign_in(c, fresh_sandbox, world.a, next_path=target)
    assert resp.status_code == 303 and resp.headers["location"] == "/"
    good = sign_in(client(app, world), fresh_sandbox, world.a, next_path="/intros?x=1")
    assert good.headers["location"] == "/intros?x=1"


def test_someone_not_a_member_gets_a_clear_page(
    app: Any, world: WebWorld, fresh_sandbox: Sandbox
) -> None:
    user = {"displayName": "Nadia Outsider", "mail": "nadia@outsider.example",
            "userPrincipalName": "nadia@outsider.example", "accountEnabled": True}  # fmt: skip
    admin(fresh_sandbox, "graph", "POST", "/__sandbox/records/users", json=user)
    c = client(app, world)
    resp = sign_in(c, fresh_sandbox, "nadia@outsider.example")
    assert resp.status_code == 403 and "Not a Carnet member" in resp.text
    assert c.get("/api/v1/me").status_code == 401


def test_sign_in_callbacks_are_limited(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest, fresh_sandbox: Sandbox
) -> None:
    limited = make_world(
        tmp_path, fresh_sandbox, fresh_db_url(backend, tmp_path, request), sign_in_per_minute=2
    )
    with served(limited.config, limited.base_url):
        c = Client(limited.base_url)
        answers = [c.get("/auth/callback?code=x&state=y").status_code for _ in range(3)]
        assert answers == [400, 400, 429]


def test_api_tokens_act_as_their_member_until_revoked(
    app: Any, world: WebWorld, fresh_sandbox: Sandbox
) -> None:
    boss = signed_in(app, world, fresh_sandbox, world.admin)
    headers = {"X-CSRF-Token": csrf_of(boss)}
    issued = boss.post("/api/v1/admin/tokens", json={"member_email": world.b, "label": "script"},
                       headers=headers)  # fmt: skip
    assert issued.status_code == 200, issued.text
    bearer = {"Authorization": f"Bearer {issued.json()['token']}"}
    script = client(app, world)
    assert script.get("/api/v1/me", headers=bearer).json()["email"] == world.b
    # a token needs no CSRF header (no cookie rides with it), and is still only B
    assert script.post(f"/api/v1/network/{world.rel_y}", json={"rating": 1},
                       headers=bearer).status_code == 403  # fmt: skip
    rep = signed_in(app, world, fresh_sandbox, world.a)
    assert rep.get("/api/v1/admin/tokens").status_code == 403
    gone = boss.delete(f"/api/v1/admin/tokens/{issued.json()['id']}", headers=headers)
    assert gone.status_code == 200 and gone.json()["revoked_at"]
    assert script.get("/api/v1/me", headers=bearer).status_code == 401


def test_headers_health_metrics_and_the_openapi_document(app: Any, world: WebWorld) -> None:
    c = client(app, world)
    resp = c.get("/sign-in")
    csp = resp.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["referrer-policy"] == "same-origin"
    assert c.get("/healthz").json() == {"status": "ok"}
    spec = c.get("/api/v1/openapi.json").json()
    assert {"/me", "/network", "/who-knows", "/intros"} <= set(spec["paths"])
    metrics = c.get("/metrics").text
    assert 'carnet_http_requests_total{method="GET",route="/sign-in",status="200"} 1.0' in metrics
