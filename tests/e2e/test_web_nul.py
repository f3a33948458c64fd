"""A NUL character (which PostgreSQL's text cannot hold) in a query string, a form field or an API
body is refused with a readable answer (400; in a JSON body the API's schema forbids it: 422),
never a 500, and changes nothing; on SQLite and PostgreSQL, signed in through the stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from connector.store import models as m
from sandbox.runner import Sandbox
from tests.conftest import fresh_db_url
from tests.e2e.test_web_security_more import csrf_of, signed_in, store_rows
from tests.e2e.web_admin_support import AdminWorld, make_admin_world
from tests.e2e.web_support import served

PAGES = ["/who-knows?q=a%00b", "/network?q=%00", "/plans?q=x%00", "/admin/audit?limit=1%00"]


@pytest.fixture
def world(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, fresh_sandbox: Sandbox
) -> Iterator[AdminWorld]:
    made = make_admin_world(tmp_path, fresh_sandbox, fresh_db_url(backend, tmp_path, request))
    with served(made.web.config, made.web.base_url):
        yield made


def test_a_nul_anywhere_is_refused_not_a_server_error(
    world: AdminWorld, fresh_sandbox: Sandbox
) -> None:
    admin = signed_in(world, fresh_sandbox, world.web.admin)
    for path in [*PAGES, "/api/v1/who-knows?q=%00"]:
        resp = admin.get(path)
        assert resp.status_code == 400, (path, resp.status_code)
        assert "NUL character is not allowed" in resp.text
    events = store_rows(world, select(func.count()).select_from(m.AuditEvent))[0][0]
    token = csrf_of(admin)
    resp = admin.post(
        f"/plans/{world.org_id}/strategy", data={"csrf": token, "strategy": "Land\x00"}
    )
    assert resp.status_code == 400 and "NUL" in resp.text
    api = admin.post(
        "/api/v1/intros",
        json={"person_email": "a\x00@b.example", "reason": "x"},
        headers={"X-CSRF-Token": token},
    )
    assert api.status_code == 422 and "person_email" in api.json()["error"]  # the schema says
    assert store_rows(world, select(func.count()).select_from(m.AuditEvent))[0][0] == events
