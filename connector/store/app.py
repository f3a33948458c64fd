"""What a command needs, made once and only when needed: the config, the engine, sessions.

The CLI builds one `App` per invocation; service functions take it (or its parts) as arguments,
so tests can build one on any config without going through the CLI.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from connector.core.config import Config, load_config
from connector.store.db import (
    CACHED_STATEMENTS,
    SERVING_STATEMENTS,
    make_engine,
    read_only_sessions,
    require_current,
    session_factory,
)


class App:
    def __init__(
        self,
        config_path: str | Path | None = None,
        config: Config | None = None,
        serving: bool = False,
    ):
        """`serving`: for a long-lived web server (its SQLite connections keep more statements
        prepared: its pages run the same few dozen again and again; a sync's are fewer, and
        larger)."""
        self._config_path = config_path
        self.serving = serving
        if config is not None:
            self.__dict__["config"] = config

    @cached_property
    def config(self) -> Config:
        return load_config(self._config_path)

    @cached_property
    def engine(self) -> Engine:
        statements = SERVING_STATEMENTS if self.serving else CACHED_STATEMENTS
        return make_engine(self.config.database_url, statements)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        """Sessions on a store that is initialised and at the code's migration."""
        require_current(self.engine)
        return session_factory(self.engine)

    @cached_property
    def read_sessions(self) -> sessionmaker[Session]:
        """Sessions that write nothing: on SQLite they take no write lock (see db.py)."""
        require_current(self.engine)
        return read_only_sessions(self.engine)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
