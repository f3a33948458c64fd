"""From the CRM record into Carnet: after install, sync and push against the stand-ins, every
linked Salesforce contact and account (HubSpot contact and company) holds the link to its page in
Carnet, `{web.base_url}/people/{id}` or `/orgs/{id}`; a second push writes nothing; the link read
from the CRM leads a signed-in member to Who knows for that person (anyone else to the sign-in
first). Without `web.base_url` no link is written. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from ruamel.yaml import YAML
from sqlalchemy import select

from connector.store import models as m
from connector.store.db import make_engine, session_factory
from sandbox.runner import Sandbox
from tests.conftest import fresh_db_url, run_carnet
from tests.e2e.test_writeback_world import private_config, records, total_calls
from tests.e2e.web_support import Client, free_port, served, sign_in
from tests.sandbox_fixture import reset_sandbox

LINKS = {  # (source, object) -> the link field, and the kind of overlay record it points at
    ("salesforce", "Contact"): ("Carnet_Link__c", "person"),
    ("salesforce", "Account"): ("Carnet_Link__c", "org"),
    ("hubspot", "contacts"): ("carnet_link", "person"),
    ("hubspot", "companies"): ("carnet_link", "org"),
}
PATHS = {"person": "people", "org": "orgs"}


@pytest.fixture
def sandbox_then_reset(fresh_sandbox: Sandbox) -> Iterator[Sandbox]:
    """Reset after too: the fields installed and values written here reach no other test."""
    yield fresh_sandbox
    reset_sandbox(fresh_sandbox)


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    return fresh_db_url(backend, tmp_path, request)


def make_config(sandbox: Sandbox, folder: Path, base_url: str | None) -> Path:
    """The sandbox's config in `folder`; its `web:` section with `base_url`, or none at all."""
    config = private_config(sandbox, folder)
    yaml = YAML()
    doc = yaml.load(config.read_text(encoding="utf-8"))
    if base_url is None:
        del doc["web"]
    else:
        doc["web"]["base_url"] = base_url
    with config.open("w", encoding="utf-8") as out:
        yaml.dump(doc, out)
    return config


def carnet(config: Path, db_url: str, *args: str) -> Any:
    done = run_carnet("--config", str(config), *args, env={"CARNET_DATABASE_URL": db_url})
    assert done.returncode in (0, 1), f"carnet {' '.join(args)}: {done.stderr}"
    return done


def linked(db_url: str) -> dict[tuple[str, str, str], int]:
    """(source, object, external id) -> the overlay id, of every live link the links go on."""
    engine = make_engine(db_url)
    try:
        with session_factory(engine)() as s:
            q = select(m.SourceLink).where(
                m.SourceLink.deleted_at.is_(None),
                m.SourceLink.merged_into.is_(None),
                m.SourceLink.entity_id.is_not(None),
            )
            return {
                (link.source, link.object, link.external_id): int(link.entity_id)
                for link in s.scalars(q)
                if (link.source, link.object) in LINKS
                and LINKS[(link.source, link.object)][1] == link.entity
            }
    finally:
        engine.dispose()


def crm_links(sandbox: Sandbox) -> dict[tuple[str, str, str], Any]:
    return {
        (source, obj, rid): rec.get(field)
        for (source, obj), (field, _) in LINKS.items()
        for rid, rec in records(sandbox, source, obj).items()
    }


def installed_synced_pushed(sandbox: Sandbox, folder: Path, db_url: str, base: str | None) -> Path:
    config = make_config(sandbox, folder, base)
    for step in (("init",), ("install",), ("sync",), ("push", "--json")):
        carnet(config, db_url, *step)
    return config


def test_crm_records_link_to_their_carnet_page(
    sandbox_then_reset: Sandbox, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = sandbox_then_reset
    base = f"http://127.0.0.1:{free_port()}"
    config = installed_synced_pushed(sandbox, tmp_path, db_url, base)
    ids, held = linked(db_url), crm_links(sandbox)
    assert {obj for _, obj, _ in ids} == {obj for _, obj in LINKS}
    for key, entity_id in ids.items():
        kind = LINKS[key[:2]][1]
        assert held[key] == f"{base}/{PATHS[kind]}/{entity_id}", key
    # a second push finds nothing to write
    before = {s: total_calls(sandbox, s) for s in ("salesforce", "hubspot")}
    again = json.loads(carnet(config, db_url, "push", "--json").stdout)
    assert all(run["due"] == 0 and run["api_calls"] == 0 for run in again["sources"].values())
    assert {s: total_calls(sandbox, s) for s in ("salesforce", "hubspot")} == before
    # the link a contact carries, followed by a member: who knows that person
    contact = next(
        r
        for r in records(sandbox, "salesforce", "Contact").values()
        if r.get("Email") and str(r["LastName"]).isalpha()
    )
    link = contact["Carnet_Link__c"]
    person_id = ids[("salesforce", "Contact", contact["Id"])]
    org_id = next(v for k, v in ids.items() if LINKS[k[:2]][1] == "org")
    monkeypatch.setenv("CARNET_DATABASE_URL", db_url)
    with served(config, base):
        anonymous = Client(base).get(link)
        path = link.removeprefix(base)
        assert anonymous.status_code == 303
        assert anonymous.headers["location"] == "/sign-in?next=" + quote(path, safe="")
        member = Client(base)
        assert sign_in(member, sandbox, a_member_who_can_sign_in(db_url)).status_code == 303
        followed = member.get(link)
        assert followed.status_code == 303
        email = first_email(db_url, person_id)
        assert followed.headers["location"] == "/who-knows?q=" + quote(email, safe="@")
        page = member.get(followed.headers["location"])
        assert page.status_code == 200 and contact["LastName"] in page.text
        account = member.get(f"{base}/orgs/{org_id}")
        assert account.status_code == 303 and account.headers["location"] == f"/plans/{org_id}"


def first_email(db_url: str, person_id: int) -> str:
    engine = make_engine(db_url)
    try:
        with session_factory(engine)() as s:
            q = select(m.PersonEmail.email).where(m.PersonEmail.person_id == person_id)
            return str(s.scalars(q.order_by(m.PersonEmail.email)).first())
    finally:
        engine.dispose()


def a_member_who_can_sign_in(db_url: str) -> str:
    engine = make_engine(db_url)
    try:
        with session_factory(engine)() as s:
            q = select(m.Member.email).where(
                m.Member.active.is_(True), m.Member.mailbox_id.is_not(None)
            )
            return str(s.scalars(q.order_by(m.Member.id)).first())
    finally:
        engine.dispose()


def test_without_a_web_address_no_link_is_written(
    sandbox_then_reset: Sandbox, tmp_path: Path, db_url: str
) -> None:
    installed_synced_pushed(sandbox_then_reset, tmp_path, db_url, None)
    assert linked(db_url), "the sync linked records"
    held = crm_links(sandbox_then_reset)
    assert held and set(held.values()) == {None}
