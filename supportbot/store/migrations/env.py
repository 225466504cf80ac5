"""Alembic environment: migrations run on the engine handed over by `supportbot.store.migrate`."""

from __future__ import annotations

from alembic import context

from supportbot.crm.db import get_engine
from supportbot.crm.models import Base
from supportbot.store import MIGRATIONS  # noqa: F401  (every model: the whole metadata)

engine = context.config.attributes.get("engine") or get_engine()

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
