"""schemathesis over every operation of /api/v1, against the app served by uvicorn on a real store
(SQLite and PostgreSQL) with API tokens an admin issued: valid and invalid requests alike get no
5xx, and every answer's status, content type and body match the OpenAPI document the app serves.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import func, select

from connector.governance.relationships import member_by_email
from connector.store.app import App
from connector.store.db import make_engine, session_factory, transaction
from connector.store.models import Intro
from connector.web.tokens import issue_token
from sandbox.runner import Sandbox
from tests.conftest import fresh_db_url
from tests.e2e.web_admin_support import AdminWorld, aimed_more, make_admin_world
from tests.e2e.web_campaign_support import aimed_campaigns
from tests.e2e.web_support import WebWorld, served

CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]
EXAMPLES = 20  # per operation and generation mode: the whole run stays well under a minute
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)


@pytest.fixture
def world(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, fresh_sandbox: Sandbox
) -> AdminWorld:
    """Reps A (a manager) and B, an admin, an account with a plan, a credit, snapshots, and an
    enabled source whose mapping (a copy) the admin may edit: every route has rows to reach."""
    return make_admin_world(tmp_path, fresh_sandbox, fresh_db_url(backend, tmp_path, request))


def issued_tokens(world: WebWorld, db_url: str) -> dict[str, str]:
    """The admin issues a token for rep A, rep B and themselves (as the Admin page does)."""
    engine = make_engine(db_url)
    try:
        with transaction(session_factory(engine)) as s:
            admin = member_by_email(s, world.admin)
            return {
                email: issue_token(s, admin.id, email, "schemathesis")["token"]
                for email in (world.a, world.b, world.admin)
            }
    finally:
        engine.dispose()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False  # loopback: no proxy, no CA bundle from the environment
        yield session


def modes_of(operation: Any) -> tuple[schemathesis.GenerationMode, ...]:
    """Invalid requests too, where the operation takes any input to get wrong."""
    raw = operation.definition.raw
    return MODES if raw.get("parameters") or raw.get("requestBody") else MODES[:1]


def fuzz(
    operation: Any,
    token: str,
    mode: schemathesis.GenerationMode,
    http: Any,
    seen: set[int],
    **fixed: Any,
) -> None:
    """`EXAMPLES` generated requests to one operation (with the `fixed` parts given, such as a
    query naming someone who exists); the first failing check fails the test. The statuses
    answered go to `seen`."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode, **fixed))
    def run(case: Any) -> None:
        resp = case.call_and_validate(
            session=http, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS, timeout=30
        )
        seen.add(resp.status_code)

    run()


def aimed(world: WebWorld) -> list[tuple[str, str, dict[str, Any]]]:
    """Requests that reach the rows of the world, so answers other than refusals are checked:
    (operation, whose token, the fixed parts)."""
    return [
        ("GET /who-knows", world.b, {"query": {"q": world.y}}),
        ("GET /who-knows", world.b, {"query": {"q": "initech-web.example"}}),
        ("POST /network/{relationship_id}", world.a,
         {"path_parameters": {"relationship_id": world.rel_x}}),
        ("POST /intros", world.b, {"body": {"person_email": world.y, "reason": "a deal"}}),
        ("POST /admin/tokens", world.admin, {"body": {"member_email": world.a, "label": "script"}}),
    ]  # fmt: skip


def newest_intro(carnet: App) -> int:
    with carnet.sessions() as s:
        return int(s.scalar(select(func.max(Intro.id))) or 0)


def test_every_api_operation_answers_as_its_schema_says(
    world: AdminWorld, http: requests.Session
) -> None:
    admin_world, world = world, world.web
    with served(world.config, world.base_url) as carnet:
        tokens = issued_tokens(world, carnet.config.database_url)
        schema = schemathesis.openapi.from_url(f"{world.base_url}/api/v1/openapi.json", timeout=30)
        operations = {
            f"{o.method.upper()} {o.path}": o for o in (r.ok() for r in schema.get_all_operations())
        }
        assert len(operations) >= 11, sorted(operations)
        answered: dict[str, set[int]] = {label: set() for label in operations}
        campaigns = aimed_campaigns(world, carnet.config.database_url)  # A is a manager
        for label, email, fixed in [*aimed(world), *aimed_more(admin_world), *campaigns]:
            fuzz(operations[label], tokens[email], MODES[0], http, answered[label], **fixed)
        act = "POST /intros/{intro_id}/{action}"  # on the introduction B just asked A for
        asked = {"intro_id": newest_intro(carnet)}
        fuzz(operations[act], tokens[world.a], MODES[0], http, answered[act], path_parameters=asked)
        # a rep's token everywhere, then the admin's on the admin routes; revoking tokens last,
        # so the runs before have theirs
        for label in sorted(operations, key=lambda label: label.startswith("DELETE")):
            who = [world.b, world.admin] if "/admin/" in label else [world.b]
            for token in (tokens[email] for email in who):
                for mode in modes_of(operations[label]):
                    fuzz(operations[label], token, mode, http, answered[label])
    # the tokens did sign the requests in, and the aimed requests reached real rows
    assert [label for label, seen in answered.items() if 200 not in seen] == [], answered
