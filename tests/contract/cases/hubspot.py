"""The HubSpot case of the adapter contract: the adapter built on the sandbox's config and the
packaged mapping, and changes made in the stand-in as a HubSpot user would make them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mappings
from adapters.hubspot.adapter import HubSpotAdapter
from adapters.hubspot.api import OWNERS_LIMIT, SEARCH_LIMIT
from connector.core.config import load_config
from connector.core.records import ObjectSpec
from mappings.loader import load_mapping
from tests.contract.cases.base import admin

MAPPING = Path(mappings.__file__).parent / "hubspot.yaml"
# a property a HubSpot user would edit, per object
EDITABLE = {
    "owners": "lastName",
    "companies": "description",
    "contacts": "jobtitle",
    "deals": "dealname",
    "calls": "hs_call_title",
    "emails": "hs_email_subject",
    "meetings": "hs_meeting_title",
    "tasks": "hs_task_subject",
}


class HubSpotCase:
    source = "hubspot"

    def __init__(self) -> None:
        self.mapping = load_mapping(MAPPING, "hubspot")
        self.objects = list(self.mapping.objects)

    def settings(self, sandbox: Any, **overrides: Any) -> Any:
        base = load_config(sandbox.urls["config"]).sources.hubspot
        assert base is not None
        return base.model_copy(update=overrides) if overrides else base

    def adapter(self, sandbox: Any, **overrides: Any) -> HubSpotAdapter:
        settings = self.settings(sandbox, **overrides)
        return HubSpotAdapter(settings, settings.secret)

    def spec(self, obj: str) -> ObjectSpec:
        return self.mapping.spec(obj)

    def records(self, sandbox: Any, obj: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = admin(sandbox, "hubspot", "GET", f"records/{obj}")
        return found

    def live_ids(self, sandbox: Any, obj: str) -> set[str]:
        return {str(r["id"]) for r in self.records(sandbox, obj) if not r.get("archived")}

    def change(self, sandbox: Any, obj: str, n: int) -> set[str]:
        field = EDITABLE[obj]
        picked = sorted(self.live_ids(sandbox, obj), key=int)[:n]
        for i, record_id in enumerate(picked):
            value = f"Changed by the contract {i}"
            body = {"id": record_id, field: value} if obj == "owners" else {
                "id": record_id, "properties": {field: value}
            }  # fmt: skip
            admin(sandbox, "hubspot", "POST", f"records/{obj}", body)
        return set(picked)

    def delete(self, sandbox: Any, obj: str) -> str:
        record_id = sorted(self.live_ids(sandbox, obj), key=int)[-1]
        admin(sandbox, "hubspot", "DELETE", f"records/{obj}/{record_id}")
        return record_id

    def page_size(self, obj: str) -> int:
        """Owners come 500 a call; objects 100 a listing call and 200 a search call (the losers
        of merges ride along with their survivor)."""
        return OWNERS_LIMIT if obj == "owners" else SEARCH_LIMIT


CASE = HubSpotCase()
