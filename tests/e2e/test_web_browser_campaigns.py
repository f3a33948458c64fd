"""In a real browser (Playwright driving Debian's chromium), on SQLite and PostgreSQL: a manager
signs in through the OIDC stand-in, starts a campaign on the Campaigns page and opens it; rep A
signs in, finds it asking for their network, and nominates a private contact with a note; rep B
sees neither the contact nor the note; the owner sees the nomination and accepts it, and the
guest list and the capacity show it. A screenshot of each campaign page, at laptop and phone
widths (in docs/screenshots/ under `CARNET_SCREENSHOTS`, as test_web_browser writes them).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from sandbox.runner import Sandbox
from tests.conftest import fresh_db_url
from tests.e2e.test_web_browser import Shots, browser, sign_in
from tests.e2e.web_campaign_support import ORG, CampaignWorld, make_campaign_world
from tests.e2e.web_support import served

__all__ = ["browser"]  # the module fixture, shared with test_web_browser
SHOTS = ("campaigns-owner", "campaigns-rep", "campaign-rep", "campaign-owner",
         "campaign-owner-accepted")  # fmt: skip


@pytest.fixture
def world(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, fresh_sandbox: Sandbox
) -> Iterator[CampaignWorld]:
    made = make_campaign_world(tmp_path, fresh_sandbox, fresh_db_url(backend, tmp_path, request))
    with served(made.web.config, made.web.base_url):
        yield made


def start_a_campaign(owner: Page, world: CampaignWorld, shots: Shots) -> str:
    """The owner fills the form on /campaigns and opens the draft; the campaign page's URL."""
    owner.goto(world.web.base_url + "/campaigns")
    form = owner.locator("form.new-campaign")
    form.get_by_label("Name").fill("Roland-Garros VIP box")
    form.get_by_label("Capacity").fill("2")
    form.get_by_label("Purpose").fill("Finals day, two seats in the box")
    form.get_by_label("Organisations").fill(ORG)
    form.get_by_label("c level").check()
    shots.take(owner, "campaigns-owner")
    form.get_by_role("button", name="Create the campaign").click()
    owner.wait_for_selector("text=Campaign created")
    owner.get_by_role("button", name="Open for nominations").click()
    owner.wait_for_selector("text=The campaign is open for nominations.")
    return owner.url.split("?")[0]


def test_a_rep_nominates_a_private_contact_and_the_owner_accepts_it(
    browser: Browser, world: CampaignWorld, tmp_path: Path
) -> None:
    shots = Shots(Path(os.environ.get("CARNET_SCREENSHOTS") or tmp_path / "screenshots"))
    web = world.web
    owner = sign_in(browser, web, world.owner)
    url = start_a_campaign(owner, world, shots)

    a = sign_in(browser, web, web.a)
    a.get_by_role("link", name="Campaigns").click()
    card = a.locator("article.campaign")
    expect(card).to_contain_text("Roland-Garros VIP box")
    expect(card).to_contain_text("2 of your contacts match")
    shots.take(a, "campaigns-rep")
    card.get_by_role("link", name="Roland-Garros VIP box").click()
    row = a.locator('form.candidate[aria-label="Xavier Secretus"]')
    expect(row.locator(".tag")).to_have_text("private")
    row.locator('input[name="note"]').fill("Met him at VivaTech; loves tennis")
    row.get_by_role("button", name="Nominate").click()
    a.wait_for_selector("text=Nominated. Only the campaign's owner sees it.")
    expect(a.locator("article.mine")).to_contain_text("Xavier Secretus")
    shots.take(a, "campaign-rep")

    b = sign_in(browser, web, web.b)
    b.goto(url)
    expect(b.locator("main")).not_to_contain_text("Xavier Secretus")
    expect(b.locator("main")).not_to_contain_text("VivaTech")

    owner.goto(url)
    nomination = owner.locator("article.nomination", has_text="Xavier Secretus")
    expect(nomination).to_contain_text(world.name(web.a))
    expect(nomination).to_contain_text("loves tennis")
    expect(nomination.locator(".tag")).to_have_text("for this campaign only")
    shots.take(owner, "campaign-owner")
    nomination.get_by_role("button", name="Accept").click()
    owner.wait_for_selector("text=Accepted: on the guest list.")
    expect(owner.locator("table.guests")).to_contain_text("Xavier Secretus")
    expect(owner.locator(".stat").first).to_contain_text("1 / 2")
    shots.take(owner, "campaign-owner-accepted")

    a.reload()
    expect(a.locator("article.mine .status")).to_have_text("accepted")
    for name in SHOTS:
        for size in ("laptop", "phone"):
            assert (shots.folder / f"{name}-{size}.png").stat().st_size > 5000
