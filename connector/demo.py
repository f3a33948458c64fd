"""`carnet demo`: a store in a temporary folder, initialised, and its status.

It grows with the features: the sandbox, install, sync, push and the tour join it as they land.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from connector.app import App
from connector.status import store_status
from connector.store.db import upgrade

MINIMAL_CONFIG = "version: 1\ndatabase_url: sqlite:///carnet.db\n"


def run_demo() -> None:
    from connector.cli import _render_status

    with tempfile.TemporaryDirectory(prefix="carnet-demo-") as tmp:
        path = Path(tmp) / "config.yaml"
        path.write_text(MINIMAL_CONFIG, encoding="utf-8")
        carnet = App(path)
        try:
            upgrade(carnet.engine)
            _render_status(store_status(carnet))
        finally:
            carnet.close()
