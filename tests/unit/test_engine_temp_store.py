"""SQLite's temporary files (a savepoint's journal: each page of a sync is stored in one) go to
files, not to memory, where they grew with the pages a savepoint changed: with the store. Its
page cache, and what a sort holds in memory before it spills to a file, are at most 8 MiB."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from connector.core.config import Config
from connector.store.app import App

FILE = 1  # PRAGMA temp_store: 0 default, 1 file, 2 memory


def test_a_connection_keeps_its_temporary_files_in_files(tmp_path: Path) -> None:
    config = Config.model_validate({"version": 1, "database_url": f"sqlite:///{tmp_path}/s.db"})
    app = App(config=config)
    try:
        with app.engine.connect() as conn:
            assert conn.execute(text("PRAGMA temp_store")).scalar() == FILE
            assert conn.execute(text("PRAGMA cache_size")).scalar() == -8192  # KiB
    finally:
        app.close()
