"""In a real browser (Playwright driving Debian's chromium), on SQLite and PostgreSQL: rep A signs
in through the OIDC stand-in and marks X private and Y discoverable; rep B cannot find X on any page
or API answer, finds Y and asks for an introduction; A approves; B sees it approved; the admin
opens the admin page. A screenshot of every page, at laptop and phone widths, is written.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.runner import Sandbox
from tests.conftest import fresh_db_url
from tests.e2e.web_support import WebWorld, make_world, served

CHROMIUM = shutil.which("chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SIZES = {"laptop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}

if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip("chromium is not installed (CI installs it)", allow_module_level=True)

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM, "CI must have chromium"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


class Shots:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.taken: list[Path] = []  # by this test (the folder may hold other tests' too)
        folder.mkdir(parents=True, exist_ok=True)

    def take(self, page: Page, name: str) -> None:
        for size, viewport in SIZES.items():
            page.set_viewport_size(viewport)
            path = self.folder / f"{name}-{size}.png"
            page.screenshot(path=str(path), full_page=True)
            self.taken.append(path)
        page.set_viewport_size(SIZES["laptop"])


def sign_in(browser: Browser, world: WebWorld, email: str, shots: Shots | None = None) -> Page:
    context = browser.new_context(ignore_https_errors=True, viewport=SIZES["laptop"])
    page = context.new_page()
    page.goto(world.base_url + "/network")
    assert page.url.startswith(world.base_url + "/sign-in")
    if shots:
        shots.take(page, "sign-in")
    page.get_by_role("link", name="Sign in with your company account").click()
    page.wait_for_selector("text=Pick an account")
    if shots:
        shots.take(page, "idp-choose-a-user")
    page.locator(f'button[value="{email}"]').click()
    page.wait_for_url(world.base_url + "/network")
    return page


def save_share(page: Page, person: str, share: str) -> None:
    row = page.locator(f'form[aria-label="{person}"]')
    row.locator('select[name="shareability"]').select_option(share)
    row.get_by_role("button", name="Save").click()
    page.wait_for_selector("text=Saved.")


def text_everywhere(page: Page, world: WebWorld, queries: list[str]) -> str:
    """Every page and API answer B can reach, as one text."""
    parts: list[str] = []
    for path in ["/network", "/intros", *[f"/who-knows?q={q}" for q in queries]]:
        page.goto(world.base_url + path)
        parts.append(page.content())
    for path in ["/api/v1/network", "/api/v1/intros", "/api/v1/audit", "/api/v1/me",
                 *[f"/api/v1/who-knows?q={q}" for q in queries]]:  # fmt: skip
        parts.append(page.request.get(world.base_url + path).text())
    return "\n".join(parts)


@pytest.fixture
def world(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, fresh_sandbox: Sandbox
) -> Iterator[WebWorld]:
    made = make_world(tmp_path, fresh_sandbox, fresh_db_url(backend, tmp_path, request))
    with served(made.config, made.base_url):
        yield made


def test_private_stays_private_discoverable_gets_an_introduction(
    browser: Browser, world: WebWorld, tmp_path: Path
) -> None:
    shots = Shots(Path(os.environ.get("CARNET_SCREENSHOTS") or tmp_path / "screenshots"))
    a = sign_in(browser, world, world.a, shots)
    shots.take(a, "my-network")
    save_share(a, "Xavier Secretus", "private")
    save_share(a, "Yvonne Openshaw", "discoverable")
    shots.take(a, "my-network-saved")

    b = sign_in(browser, world, world.b)
    seen = text_everywhere(b, world, [world.x, "Initech Web", "initech-web.example"])
    name_a = world.names[world.a]
    assert "Xavier Secretus" in seen  # the person is there (Initech's people) ...
    assert "x private notes" not in seen and str(world.rel_x) not in _rel_ids(b, world)
    b.goto(world.base_url + "/who-knows?q=" + world.x)
    assert name_a not in b.locator("main").inner_text()  # ... but not that A knows them
    shots.take(b, "who-knows-nobody")

    b.goto(world.base_url + "/who-knows?q=" + world.y)
    card = b.locator("article.person")
    assert name_a in card.inner_text() and "y notes" not in card.inner_text()
    shots.take(b, "who-knows")
    card.locator('input[name="reason"]').fill("They are evaluating us")
    card.get_by_role("button", name="Ask").click()
    b.wait_for_selector("text=Introduction requested.")
    shots.take(b, "introductions-requested")

    a.goto(world.base_url + "/intros")
    shots.take(a, "introductions-to-broker")
    a.locator("article.intro").get_by_role("button", name="Approve").click()
    a.wait_for_selector("text=Introduction approved.")

    b.goto(world.base_url + "/intros")
    assert "approved" in b.locator("article.intro .status").text_content()
    shots.take(b, "introductions-approved")

    admin = sign_in(browser, world, world.admin)
    admin.goto(world.base_url + "/admin")
    assert "Audit log" in admin.content()
    shots.take(admin, "admin")
    assert len(set(shots.taken)) == 2 * 10 and all(p.stat().st_size > 5000 for p in shots.taken)


def _rel_ids(page: Page, world: WebWorld) -> set[str]:
    """The relationship ids in B's API answers about X and Initech."""
    ids: set[str] = set()
    for q in [world.x, "Initech Web"]:
        doc: Any = page.request.get(world.base_url + f"/api/v1/who-knows?q={q}").json()
        for p in doc.get("people", []):
            ids |= {str(k["relationship_id"]) for k in p["known_by"]}
    return ids
