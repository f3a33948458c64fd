"""What the authority end-to-end tests share (no tests here): the session's sandbox with the
owner's own fields on Salesforce contacts, Carnet on a config of its own with a store of either
backend, and a rep's contact with the people around it read from the store."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from sqlalchemy import text

from connector.store.db import make_engine
from sandbox.runner import Sandbox
from sandbox.sf_tooling import build_field
from tests.conftest import run_carnet
from tests.sandbox_fixture import admin

RATING, SHARE = "Carnet_Owner_Rating__c", "Carnet_Shareability__c"


def org_keeps_owner_fields(sandbox: Sandbox) -> None:
    """The org has the two fields the shipped mapping reads as a contact owner's own view (made
    and granted by its admin, so the integration user reads and writes them)."""
    sf: Any = sandbox.standins["salesforce"]
    contact = sf.schema.objects["Contact"]
    with sf.lock:
        if contact.field(RATING) is None:
            meta = {"type": "Number", "label": "Owner rating", "precision": 1, "scale": 0}
            contact.add(build_field(RATING, meta))
        if contact.field(SHARE) is None:
            contact.add(build_field(SHARE, {"type": "Text", "label": "Sharing", "length": 20}))


def portal_keeps_owner_fields(sandbox: Sandbox) -> None:
    """The HubSpot portal has the owner's own properties on contacts (made by its admin)."""
    hs: Any = sandbox.standins["hubspot"]
    with hs.lock:
        for name, kind, field in (
            ("carnet_owner_rating", "number", "number"),
            ("carnet_shareability", "string", "text"),
        ):
            if hs.props.get("contacts", name) is None:
                body = {"name": name, "label": name, "type": kind, "fieldType": field}
                hs.props.create("contacts", body | {"groupName": "contactinformation"})


@dataclass
class Carnet:
    """`carnet` on a copy of the sandbox's config (`sharing` changed as asked), its store at
    `url` (through CARNET_DATABASE_URL)."""

    config: Path
    url: str

    def __call__(self, *args: str, ok: tuple[int, ...] = (0, 1)) -> Any:
        r = run_carnet("--config", str(self.config), *args, env=self.env)
        assert r.returncode in ok, f"carnet {' '.join(args)}: exit {r.returncode}\n{r.stderr}"
        return json.loads(r.stdout) if "--json" in args else r

    @property
    def env(self) -> dict[str, str]:
        return {"CARNET_DATABASE_URL": self.url, "COLUMNS": "300"}

    def query(self, sql: str, **params: Any) -> list[Any]:
        engine = make_engine(self.url)
        try:
            with engine.begin() as conn:
                return list(conn.execute(text(sql), params))
        finally:
            engine.dispose()


def carnet_on(sandbox: Sandbox, folder: Path, url: str, **sharing: Any) -> Carnet:
    src = Path(sandbox.config_file).parent
    shutil.copytree(src / "secrets", folder / "secrets", dirs_exist_ok=True)
    shutil.copy(src / "ca.pem", folder / "ca.pem")
    yaml = YAML()
    doc = yaml.load(Path(sandbox.config_file).read_text())
    doc["sharing"].update(sharing)
    config = folder / "config.yaml"
    with config.open("w") as out:
        yaml.dump(doc, out)
    return Carnet(config, url)


@dataclass(frozen=True)
class Contact:
    """A Salesforce contact whose person only its owner knows, and two other reps."""

    id: str  # the Contact's Id
    email: str
    holder: str  # the owner's email
    holder_user: str  # the owner's Salesforce User Id
    other: str  # another rep's email
    other_user: str


def lone_contact(carnet: Carnet, skip: int = 0) -> Contact:
    """A contact owned by a rep, its person known by that rep alone, and another active rep."""
    rows = carnet.query(
        "SELECT l.external_id, e.email, m.email, m.salesforce_user_id FROM relationship r "
        "JOIN member m ON m.id = r.member_id JOIN person_email e ON e.person_id = r.person_id "
        "JOIN source_link l ON l.entity = 'person' AND l.entity_id = r.person_id "
        "AND l.source = 'salesforce' AND l.object = 'Contact' AND l.deleted_at IS NULL "
        "WHERE r.is_owner AND m.active AND m.salesforce_user_id IS NOT NULL "
        "AND (SELECT count(*) FROM relationship r2 WHERE r2.person_id = r.person_id) = 1 "
        "AND (SELECT count(*) FROM person_email e2 WHERE e2.person_id = r.person_id) = 1 "
        "ORDER BY l.external_id"
    )
    assert len(rows) > skip, "the sandbox has no contact known by its owner alone"
    ext, email, holder, holder_user = rows[skip]
    others = carnet.query(
        "SELECT email, salesforce_user_id FROM member WHERE active AND email != :me "
        "AND salesforce_user_id IS NOT NULL ORDER BY email",
        me=holder,
    )
    return Contact(ext, email, holder, holder_user, others[0][0], others[0][1])


def crm_edit(sandbox: Sandbox, contact_id: str, editor: str, **values: Any) -> dict[str, Any]:
    """A Salesforce user changes the contact (the stand-in records them as LastModifiedById)."""
    body = {"Id": contact_id, "LastModifiedById": editor, **values}
    rec: dict[str, Any] = admin(
        sandbox, "salesforce", "POST", "/__sandbox/records/Contact", body
    ).json()
    return rec


def crm_contact(sandbox: Sandbox, contact_id: str) -> dict[str, Any]:
    rows = admin(sandbox, "salesforce", "GET", "/__sandbox/records/Contact").json()
    return next(r for r in rows if r["Id"] == contact_id)


def knowers(carnet: Carnet, email: str, viewer: str) -> list[str]:
    """Who-knows the person, as `viewer`: the colleagues' emails shown (the viewer's own aside)."""
    doc = carnet("who-knows", email, "--as", viewer, "--json")
    return [k["member"]["email"] for p in doc["people"] for k in p["known_by"] if not k["yours"]]


def holder_rel(carnet: Carnet, contact: Contact) -> tuple[Any, ...]:
    rows = carnet.query(
        "SELECT r.rating, r.shareability, r.exclusive, r.chosen_at IS NOT NULL FROM relationship r "
        "JOIN member m ON m.id = r.member_id JOIN person_email e ON e.person_id = r.person_id "
        "WHERE m.email = :holder AND e.email = :email",
        holder=contact.holder,
        email=contact.email,
    )
    assert len(rows) == 1
    return tuple(rows[0])
