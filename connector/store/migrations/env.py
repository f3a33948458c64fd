"""Alembic environment: runs on the engine Carnet hands over (never from an ini file)."""

from __future__ import annotations

from alembic import context

import connector.store.models_plans  # noqa: F401  (registers the plan tables on Base.metadata)
from connector.store import (
    models_campaigns,  # noqa: F401  (registers campaign and nomination)
    models_refresh,  # noqa: F401  (registers the write-back refresh marks)
    models_snapshot,  # noqa: F401  (registers network_snapshot)
    models_web,  # noqa: F401  (registers the web tables on Base.metadata)
)
from connector.store.models import Base

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
