"""The database pattern itself (tests/db.py): what the code under test commits is rolled back;
and the migrations, on a database of their own."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select

from supportbot.crm import Customer, get_engine
from supportbot.crm.models import Base
from supportbot.store import MIGRATIONS, crm_session
from tests.db import Database, _database, rolled_back


def customers(database: Database) -> int:
    with database.engine.connect() as connection:
        return connection.scalar(select(func.count(Customer.id))) or 0


def add(url: str, email: str) -> None:
    with crm_session(url) as crm:
        crm.session.add(Customer(name="Kim", email=email, shipping_address=""))


async def test_what_the_code_under_test_commits_is_rolled_back(seeded_database: Database):
    before = customers(seeded_database)
    with rolled_back(seeded_database):
        add(seeded_database.url, "kim@example.org")  # committed: a released savepoint
        await asyncio.to_thread(add, seeded_database.url, "kim2@example.org")  # a worker thread
        with crm_session(seeded_database.url) as crm:
            found = crm.customers.find_by_email("kim2@example.org")
            assert found is not None and crm.customers.find_by_email("kim@example.org")
    assert customers(seeded_database) == before


def alembic(url: str, action: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = get_engine(url)
    getattr(command, action)(config, revision)


def test_migration_0006_adds_the_verification_guard_and_takes_it_back(backend: str, tmp_path: Path):
    """On a database of its own: head matches the models, 0006 goes down and up again."""
    with _database(backend, "migration", tmp_path) as database:
        with database.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert differences == []

        alembic(database.url, "downgrade", "0005")
        assert "verification_failures" not in inspect(database.engine).get_table_names()

        alembic(database.url, "upgrade", "head")
        columns = inspect(database.engine).get_columns("verification_failures")
        assert {c["name"] for c in columns} == {"key", "kind", "failures", "last_failure_at"}
        indexes = inspect(database.engine).get_indexes("verification_failures")
        assert [i["column_names"] for i in indexes] == [["last_failure_at"]]
