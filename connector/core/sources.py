"""Finding a source's adapter without importing it: the `carnet.adapters` entry points.

The core knows no CRM. An adapter package registers `<source> = "module:Class"` in that group, and
`open_adapter` builds it as `Class(settings, settings.secret)`.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Any

from connector.core.config import SourceBase
from connector.core.errors import FatalError, UsageError
from connector.core.protocols import Adapter

GROUP = "carnet.adapters"


def adapter_entry_points() -> dict[str, list[EntryPoint]]:
    """Every registered adapter by source name (a name registered twice lists both)."""
    found: dict[str, list[EntryPoint]] = {}
    for ep in entry_points(group=GROUP):
        found.setdefault(ep.name, []).append(ep)
    return found


def adapter_class(name: str) -> Any:
    """The adapter class registered for `name`; UsageError when none or several are, FatalError
    when the registered module does not load."""
    eps = adapter_entry_points().get(name, [])
    if not eps:
        raise UsageError(f"no adapter is installed for source {name!r} (entry point group {GROUP})")
    if len({ep.value for ep in eps}) > 1:
        values = ", ".join(sorted({ep.value for ep in eps}))
        raise UsageError(f"several adapters are registered for source {name!r}: {values}")
    try:
        return eps[0].load()
    except (ImportError, AttributeError) as exc:
        raise FatalError(f"the {name} adapter ({eps[0].value}) cannot be loaded: {exc}") from None


def open_adapter(name: str, settings: SourceBase) -> Adapter:
    """Build the adapter of source `name` from its config section; the caller closes it."""
    cls = adapter_class(name)
    adapter: Adapter = cls(settings, settings.secret)
    return adapter
