"""The Salesforce case of the adapter contract: the adapter built on the sandbox's config and the
packaged mapping, and changes made in the stand-in as a Salesforce user would make them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mappings
from adapters.salesforce.adapter import REST_PAGE, SalesforceAdapter
from connector.core.config import load_config
from connector.core.records import ObjectSpec
from mappings.loader import load_mapping
from tests.contract.cases.base import admin

MAPPING = Path(mappings.__file__).parent / "salesforce.yaml"
# a field a CRM user would edit, per object
EDITABLE = {
    "User": "Title",
    "Account": "Industry",
    "Contact": "Title",
    "Opportunity": "Name",
    "OpportunityContactRole": "Role",
    "Task": "Subject",
    "Event": "Subject",
}


class SalesforceCase:
    source = "salesforce"

    def __init__(self) -> None:
        self.mapping = load_mapping(MAPPING, "salesforce")
        self.objects = list(self.mapping.objects)

    def settings(self, sandbox: Any, **overrides: Any) -> Any:
        base = load_config(sandbox.urls["config"]).sources.salesforce
        assert base is not None
        return base.model_copy(update=overrides) if overrides else base

    def adapter(self, sandbox: Any, **overrides: Any) -> SalesforceAdapter:
        settings = self.settings(sandbox, **overrides)
        return SalesforceAdapter(settings, settings.secret)

    def spec(self, obj: str) -> ObjectSpec:
        return self.mapping.spec(obj)

    def records(self, sandbox: Any, obj: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = admin(sandbox, "salesforce", "GET", f"records/{obj}")
        return found

    def live_ids(self, sandbox: Any, obj: str) -> set[str]:
        return {r["Id"] for r in self.records(sandbox, obj) if not r.get("IsDeleted")}

    def change(self, sandbox: Any, obj: str, n: int) -> set[str]:
        field = EDITABLE[obj]
        picked = sorted(self.live_ids(sandbox, obj))[:n]
        for i, record_id in enumerate(picked):
            body = {"Id": record_id, field: f"Changed by the contract {i}"}
            admin(sandbox, "salesforce", "POST", f"records/{obj}", body)
        return set(picked)

    def delete(self, sandbox: Any, obj: str) -> str:
        record_id = sorted(self.live_ids(sandbox, obj))[-1]
        admin(sandbox, "salesforce", "DELETE", f"records/{obj}/{record_id}")
        return record_id

    def page_size(self, obj: str) -> int:
        return REST_PAGE


CASE = SalesforceCase()
