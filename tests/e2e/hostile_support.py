"""What the hostile-text end-to-end tests share (no tests here): a store of either backend, the
session's sandbox after `carnet init` and a first sync, contacts a CRM user typed in through the
stand-in's admin endpoint, and the store read back by SQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text

from connector.store.db import make_engine
from sandbox.runner import Sandbox
from tests.conftest import run_carnet
from tests.sandbox_fixture import admin

# what a CRM user typed into Salesforce contacts: (FirstName, LastName, Title)
HOSTILE = {
    "nul": ("Nul", "Smith\x00 <Procurement>", "President & CEO"),
    "screen": ("Clear", "Screen\x1b[2J", "Head of \x1b[31mRed\x1b[0m Teams"),
    "link": ("Osc", "Link", "\x1b]8;;https://evil.example/x\x1b\\click here\x1b]8;;\x1b\\"),
    "rtl": ("Seamus", "O'Brien \u202eLIVE\u202c", "[x](javascript:alert(1)) **urgent**"),
}


def fresh_url(
    backend: str, folder: Path, pg_base: Callable[[], str]
) -> tuple[str, Callable[[], None]]:
    """An empty store of `backend`: a SQLite file in `folder`, or a new PostgreSQL database
    (made on the server of `pg_base()`); its URL and how to drop it."""
    if backend == "sqlite":
        return f"sqlite:///{folder / 'carnet.db'}", lambda: None
    base = pg_base()
    name = f"carnet_h_{uuid.uuid4().hex[:10]}"
    admin_engine = make_engine(base, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin_engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin_engine.dispose()

    return base.rsplit("/", 1)[0] + f"/{name}", drop


@dataclass
class Store:
    """The sandbox's config with the store at `url` (through CARNET_DATABASE_URL)."""

    sandbox: Sandbox
    url: str

    @property
    def env(self) -> dict[str, str]:
        return {"CARNET_DATABASE_URL": self.url, "COLUMNS": "300"}  # tables unwrapped

    def carnet(self, *args: str) -> Any:
        return run_carnet("--config", str(self.sandbox.config_file), *args, env=self.env)

    def query(self, sql: str, **params: Any) -> list[Any]:
        engine = make_engine(self.url)
        try:
            with engine.begin() as conn:
                result = conn.execute(text(sql), params)
                return list(result) if result.returns_rows else []
        finally:
            engine.dispose()


def org_in_both(store: Store) -> tuple[str, str, str]:
    """An org with a name of its own, linked to a Salesforce Account and a HubSpot company:
    (name, Account id, company id)."""
    rows = store.query(
        "SELECT o.name, a.external_id, c.external_id FROM org o "
        "JOIN source_link a ON a.entity = 'org' AND a.entity_id = o.id "
        "AND a.object = 'Account' AND a.deleted_at IS NULL "
        "JOIN source_link c ON c.entity = 'org' AND c.entity_id = o.id "
        "AND c.object = 'companies' AND c.deleted_at IS NULL "
        "WHERE (SELECT count(*) FROM org o2 WHERE o2.name = o.name) = 1 ORDER BY o.id"
    )
    assert rows, "the sandbox has no org in both CRMs"
    return tuple(rows[0])  # type: ignore[return-value]


def sales_rep(sandbox: Sandbox) -> tuple[str, str]:
    """(Id, Email) of a Salesforce user who is a sales rep (not the integration user)."""
    users = admin(sandbox, "salesforce", "GET", "/__sandbox/records/User").json()
    rep = next(u for u in users if not u["Email"].startswith("integration@"))
    return rep["Id"], rep["Email"]


def add_contact(
    sandbox: Sandbox, first: str, last: str, title: str, email: str, account: str, owner: str
) -> str:
    """A contact created as a Salesforce user would create it; its Id."""
    body = {"FirstName": first, "LastName": last, "Title": title, "Email": email,
            "AccountId": account, "OwnerId": owner}  # fmt: skip
    created: dict[str, Any] = admin(sandbox, "salesforce", "POST", "/__sandbox/records/Contact",
                                    body).json()  # fmt: skip
    return str(created["Id"])
