"""Creating and migrating the overlay store with Alembic: `carnet init`, the tests' fresh stores.

The only module that imports Alembic, so that a command which only reads (who-knows, plan show)
never pays for it: those check the store's migration with connector.store.db's one query.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine

from connector.store.db import MIGRATIONS, current_revision


def _alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine  # migrations/env.py runs on it
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    current_revision(engine)  # a store from a newer Carnet is refused before Alembic sees it
    command.upgrade(_alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    command.downgrade(_alembic_config(engine), revision)
