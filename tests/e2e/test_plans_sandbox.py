"""Account plans on sandbox data: after a real sync of the stand-ins, an account with a four-level
reports-to hierarchy and stakeholders in three countries, shown in every format by the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from xml.etree import ElementTree

import pytest
from sqlalchemy import func, select

from connector.store import models as m
from tests.conftest import run_carnet
from tests.e2e.sync_sandbox_support import Synced, synced_sandbox


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    with synced_sandbox(tmp_path_factory.mktemp("plans-sandbox"), scale=0.02) as running:
        yield running


def _depth(person: m.Person, by_id: dict[int, m.Person]) -> int:
    depth, seen = 1, {person.id}
    while (
        person.reports_to_id and person.reports_to_id in by_id and person.reports_to_id not in seen
    ):
        person = by_id[person.reports_to_id]
        seen.add(person.id)
        depth += 1
    return depth


def _pick_account(synced: Synced) -> tuple[str, int]:
    """A synced account whose reports-to tree is four levels deep, with people in 3 countries."""
    from sqlalchemy.orm import Session

    with Session(synced.engine) as s:
        orgs = s.execute(
            select(m.Person.org_id)
            .where(m.Person.deleted_at.is_(None), m.Person.org_id.is_not(None))
            .group_by(m.Person.org_id)
            .having(func.count(func.distinct(m.Person.country)) >= 3)
            .order_by(func.count().desc())
        ).scalars()
        for org_id in orgs:
            people = list(
                s.scalars(
                    select(m.Person).where(m.Person.org_id == org_id, m.Person.deleted_at.is_(None))
                )
            )
            by_id = {p.id: p for p in people}
            depth = max(_depth(p, by_id) for p in people)
            org = s.get(m.Org, org_id)
            if depth >= 4 and org is not None and org.deleted_at is None:
                return org.name, len(people)
    pytest.fail("the sandbox has no account with a four-level hierarchy in three countries")


def test_plan_in_every_format_for_a_deep_multi_country_account(synced: Synced) -> None:
    org, people = _pick_account(synced)
    config = str(synced.config)

    shown = run_carnet("--config", config, "plan", "show", org, "--format", "json", env={})
    assert shown.returncode == 0, shown.stderr
    plan = json.loads(shown.stdout)
    stakeholders = plan["stakeholders"]
    assert len(stakeholders) == people
    assert len({s["country"] for s in stakeholders if s.get("country")}) >= 3
    assert len({s["level"] for s in stakeholders}) >= 4
    assert plan["coverage"], "coverage by level and by country"

    for fmt, check in [
        ("md", lambda text: text.startswith("# Account plan") and "## Stakeholders" in text),
        ("html", lambda text: "<html" in text.lower() and "</html>" in text.lower()),
        ("svg", lambda text: ElementTree.fromstring(text).tag.endswith("svg")),
    ]:
        out = run_carnet("--config", config, "plan", "show", org, "--format", fmt, env={})
        assert out.returncode == 0, out.stderr
        assert check(out.stdout.strip()), f"{fmt}: {out.stdout[:300]}"
        assert "Traceback" not in out.stderr


def test_network_of_that_account(synced: Synced) -> None:
    org, _ = _pick_account(synced)
    out = run_carnet("--config", str(synced.config), "network", "--org", org, "--json", env={})
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc, "a per-account report"
