"""Alembic environment: migrations run on the engine handed over by `bot.crm.db.migrate`."""

from __future__ import annotations

from alembic import context

from bot.crm.db import get_engine
from bot.crm.models import Base

engine = context.config.attributes.get("engine") or get_engine()

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
