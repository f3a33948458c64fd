"""The Salesforce adapter (adapter.py), over simple-salesforce.

simple-salesforce imports zeep for its SOAP metadata client, and zeep imports httpx. httpx in turn
loads its own command-line tool (`httpx._main`: click, pygments and rich) whenever those packages
are installed, as Carnet's are: about 45 ms and 6 MB of every process that loads this adapter
(a sync and its pull process), for a tool Carnet never runs. The tool's module is marked missing
before httpx is first imported; httpx then defines `httpx.main` as a stub that tells how to
install the tool (its own `except ImportError`). Nothing else of httpx, zeep or simple-salesforce
changes (tests/contract/test_salesforce_imports.py).
"""

from __future__ import annotations

import sys

if "httpx" not in sys.modules:  # once httpx is loaded, its tool is loaded or blocked already
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
