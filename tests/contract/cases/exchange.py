"""The Exchange case of the adapter contract suite: the adapter built on the sandbox's config and
the packaged mapping, pulling Graph `users` and `contacts` from the Graph stand-in.

A full contacts pull returns the contacts of every enabled user's mailbox (`mailboxes: all`);
changes and deletions are made through the stand-in's /__sandbox/records/ as an Outlook user would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.exchange.adapter import ExchangeAdapter
from connector.core.config import load_config
from connector.core.protocols import Adapter
from connector.core.records import ObjectSpec
from mappings.loader import load_mapping
from tests.contract.cases.base import admin

MAPPING_FILE = Path(__file__).resolve().parents[3] / "mappings" / "exchange.yaml"
USERS_PAGE = 999  # GET /users pages at most 999
DELTA_PAGE = 200  # the stand-in serves a contact delta page at most 200 items, as Outlook does


class ExchangeCase:
    source = "exchange"
    objects = ["users", "contacts"]

    def __init__(self) -> None:
        self._mapping = load_mapping(MAPPING_FILE, "exchange")

    def adapter(self, sandbox: Any) -> Adapter:
        settings = load_config(sandbox.urls["config"]).sources.exchange
        assert settings is not None
        return ExchangeAdapter(settings, settings.secret)

    def spec(self, obj: str) -> ObjectSpec:
        return self._mapping.spec(obj)

    def live_ids(self, sandbox: Any, obj: str) -> set[str]:
        users = admin(sandbox, self.source, "GET", "records/users")
        if obj == "users":
            return {u["id"] for u in users}
        enabled = {u["id"] for u in users if u.get("accountEnabled") is not False}
        contacts = admin(sandbox, self.source, "GET", "records/contacts")
        return {c["id"] for c in contacts if c["_mailbox"] in enabled}

    def change(self, sandbox: Any, obj: str, n: int) -> set[str]:
        ids = sorted(self.live_ids(sandbox, obj))[:n]
        for i, record_id in enumerate(ids):
            body = {"id": record_id, "jobTitle": f"Changed title {i}"}
            admin(sandbox, self.source, "POST", f"records/{obj}", body)
        return set(ids)

    def delete(self, sandbox: Any, obj: str) -> str:
        record_id = sorted(self.live_ids(sandbox, obj))[-1]
        admin(sandbox, self.source, "DELETE", f"records/{obj}/{record_id}")
        return record_id

    def page_size(self, obj: str) -> int:
        return USERS_PAGE if obj == "users" else DELTA_PAGE


CASE = ExchangeCase()
