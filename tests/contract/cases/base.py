"""What each adapter's case module gives the one contract suite (test_adapter_contract.py).

A case knows how to build its adapter on the sandbox's config, which objects to pull, and how to
change or delete records in its CRM stand-in as a CRM user would (through /__sandbox/).
"""

from __future__ import annotations

from typing import Any, Protocol

from connector.core.protocols import Adapter
from connector.core.records import ObjectSpec
from tests.sandbox_fixture import admin as sandbox_admin

STANDIN = {"salesforce": "salesforce", "hubspot": "hubspot", "exchange": "graph"}


def admin(sandbox: Any, source: str, method: str, path: str, body: Any = None) -> Any:
    """A stand-in's /__sandbox/<path> endpoint, named by the adapter's source; the JSON answer."""
    resp = sandbox_admin(sandbox, STANDIN[source], method, f"/__sandbox/{path}", body)
    return resp.json() if resp.content else None


class Case(Protocol):
    source: str  # salesforce | hubspot | exchange
    objects: list[str]  # the API objects the contract pulls, in mapping order

    def adapter(self, sandbox: Any) -> Adapter: ...

    def spec(self, obj: str) -> ObjectSpec: ...

    def live_ids(self, sandbox: Any, obj: str) -> set[str]:
        """Ids of the live records of `obj` in the stand-in (what a full pull must return)."""
        ...

    def change(self, sandbox: Any, obj: str, n: int) -> set[str]:
        """Change n records of `obj` as a CRM user would; their ids."""
        ...

    def delete(self, sandbox: Any, obj: str) -> str:
        """Delete one record of `obj`; its id."""
        ...

    def page_size(self, obj: str) -> int:
        """The API's page size for `obj` (the most records one pull call can return)."""
        ...
