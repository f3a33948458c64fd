"""In a real browser (Playwright driving Debian's chromium), on SQLite and PostgreSQL: rep A (a
manager) opens Initech's account plan from Who knows, sees its SVG map, marks a stakeholder a
champion, sets the strategy, adds an action and exports the plan; reads their credits and the
team's network quality with its trend. After a sync from the HubSpot stand-in, the admin reads the
sources (cursors, outbox), members and audit log, saves a mapping with an error and sees the
line-numbered message (nothing written), checks the fix against the CRM stand-in and saves it. A
screenshot of every page, at laptop and phone widths.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from sandbox.runner import Sandbox
from tests.conftest import fresh_db_url, run_carnet
from tests.e2e.test_web_browser import Shots, browser, sign_in
from tests.e2e.web_admin_support import ORG, AdminWorld, broken, make_admin_world
from tests.e2e.web_support import served

__all__ = ["browser"]  # the module fixture, shared with test_web_browser
PAGES = 10  # pages screenshotted below, each at two widths


@pytest.fixture
def world(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, fresh_sandbox: Sandbox
) -> Iterator[AdminWorld]:
    db_url = fresh_db_url(backend, tmp_path, request)
    made = make_admin_world(tmp_path, fresh_sandbox, db_url, credit=True)
    with served(made.web.config, made.web.base_url):
        yield made


def test_the_plan_credits_network_quality_and_admin_pages(
    browser: Browser, world: AdminWorld, tmp_path: Path
) -> None:
    shots = Shots(Path(os.environ.get("CARNET_SCREENSHOTS") or tmp_path / "screenshots"))
    base = world.web.base_url
    a = sign_in(browser, world.web, world.web.a)
    a.goto(base + "/plans")
    shots.take(a, "plans-search")
    a.goto(base + "/who-knows?q=" + ORG)
    a.get_by_role("link", name=f"Account plan of {ORG}").click()
    a.wait_for_url(f"{base}/plans/{world.org_id}")
    plan_and_map(a, shots)
    edit_the_plan(a, world, shots)

    a.goto(base + "/credits")
    mine = a.locator("table").first
    expect(mine).to_contain_text("Initech platform")
    expect(mine).to_contain_text("4,800.00 EUR")
    shots.take(a, "credits")
    a.goto(base + "/team")
    weeks = a.locator("table.trend thead th")
    expect(weeks).to_have_count(1 + 3 + 1)  # label, two stored weeks and now, sparkline
    expect(a.locator("table.trend svg.spark").first).to_be_visible()
    shots.take(a, "network-quality")

    synced = run_carnet("--config", str(world.web.config), "sync", "--source", "hubspot")
    assert synced.returncode in (0, 1), synced.stderr  # 1: some records refused, listed
    admin = sign_in(browser, world.web, world.web.admin)
    for path, name, says in [("/admin", "admin-sources", "contacts"),
                             ("/admin/members", "admin-members", "API tokens"),
                             ("/admin/audit", "admin-audit", "plan.changed")]:  # fmt: skip
        admin.goto(base + path)
        expect(admin.locator("main")).to_contain_text(says)
        shots.take(admin, name)
    fix_a_mapping(admin, world, shots)
    assert len(set(shots.taken)) == 2 * PAGES and all(p.stat().st_size > 5000 for p in shots.taken)


def plan_and_map(a: Page, shots: Shots) -> None:
    expect(a.locator("h1")).to_have_text(ORG)
    svg = a.locator("figure.map svg")
    expect(svg).to_be_visible()
    expect(svg.locator("text").first).to_contain_text(f"Account plan: {ORG}")
    box = svg.bounding_box()
    assert box is not None and box["width"] > 600 and box["height"] > 200
    stakeholder = a.locator('form[aria-label="Xavier Secretus"]')
    expect(stakeholder).to_contain_text("single-threaded")  # a C-level only A knows
    shots.take(a, "account-plan")


def edit_the_plan(a: Page, world: AdminWorld, shots: Shots) -> None:
    row = a.locator('form[aria-label="Yvonne Openshaw"]')
    row.locator('select[name="stance"]').select_option("champion")
    row.locator('select[name="influence"]').select_option("5")
    row.get_by_role("button", name="Save").click()
    a.wait_for_selector("text=Stakeholder saved.")
    row = a.locator('form[aria-label="Yvonne Openshaw"]')
    expect(row.locator('select[name="stance"]')).to_have_value("champion")
    assert 'fill="#4caf50"' in a.locator("figure.map").inner_html()  # the map shows the champion
    a.locator("#strategy").fill("Land the platform team, then finance")
    a.get_by_role("button", name="Save the strategy").click()
    a.wait_for_selector("text=Strategy saved.")
    a.get_by_label("a new action").fill("Demo for the CTO")
    a.get_by_role("button", name="Add the action").click()
    a.wait_for_selector("text=Action added.")
    expect(a.locator("ul.actions")).to_contain_text("Demo for the CTO")
    shots.take(a, "account-plan-edited")
    md = a.request.get(f"{world.web.base_url}/plans/{world.org_id}/plan.md")
    assert md.ok and "attachment" in md.headers["content-disposition"]
    assert "Land the platform team" in md.text() and "stance: champion" in md.text()


def fix_a_mapping(admin: Page, world: AdminWorld, shots: Shots) -> None:
    original = world.mapping.read_text()
    admin.goto(world.web.base_url + "/admin/mappings")  # one source: straight to its editor
    admin.wait_for_url(world.web.base_url + "/admin/mappings/hubspot")
    bad, line = broken(original)
    admin.locator("#mapping-text").fill(bad)
    admin.get_by_role("button", name="Save", exact=True).click()
    problem = admin.locator("ol.problems li").first
    expect(problem).to_contain_text(f"line {line}")
    expect(problem).to_contain_text("unknown transform 'jion'")
    expect(problem.locator("pre.quote")).to_contain_text("transform: jion")
    assert world.mapping.read_text() == original  # nothing written
    shots.take(admin, "admin-mappings-error")

    fixed = original + "# owners' names: first and last, joined\n"
    admin.locator("#mapping-text").fill(fixed)
    admin.get_by_role("button", name="Check against the CRM").click()
    expect(admin.locator(".note")).to_contain_text("checked against the CRM")
    admin.get_by_role("button", name="Save", exact=True).click()
    admin.wait_for_selector("text=Saved. The previous version is kept beside it.")
    assert world.mapping.read_text() == fixed
    assert world.mapping.with_name("hubspot.yaml.previous").read_text() == original
    shots.take(admin, "admin-mappings-saved")
