"""How many prepared statements a SQLite connection keeps: few for a command or a sync (a
sync's multi-row inserts are large once prepared), more for a web server, whose pages run the
same few dozen statements again and again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from connector.core.config import Config
from connector.store.app import App
from connector.store.db import CACHED_STATEMENTS, SERVING_STATEMENTS


def _kept(app: App) -> Any:
    seen: dict[str, Any] = {}

    def connecting(_dialect: Any, _rec: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
        seen.update(cparams)

    event.listen(app.engine, "do_connect", connecting)
    try:
        with app.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    finally:
        app.close()
    return seen.get("cached_statements")


def test_a_server_keeps_more_statements_prepared_than_a_command(tmp_path: Path) -> None:
    config = Config.model_validate({"version": 1, "database_url": f"sqlite:///{tmp_path}/s.db"})
    assert SERVING_STATEMENTS > CACHED_STATEMENTS
    assert _kept(App(config=config)) == CACHED_STATEMENTS
    assert _kept(App(config=config, serving=True)) == SERVING_STATEMENTS
