"""The database pattern itself (tests/db.py): what the code under test commits is rolled back."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from supportbot.crm import Customer
from supportbot.store import crm_session
from tests.db import Database, rolled_back


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
