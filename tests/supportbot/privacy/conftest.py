"""Fresh stores per test (tests/supportbot/privacy/stores.py), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.db import DATABASES
from tests.supportbot.privacy.stores import Stores, drop_databases, fresh_stores


@pytest.fixture(scope="session", autouse=True)
def _postgres_databases() -> Iterator[None]:
    yield
    drop_databases()


@pytest.fixture(params=DATABASES)
def store_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def stores(store_backend: str, tmp_path: Path) -> Iterator[Stores]:
    """A migrated CRM with Ada and Grace, and an empty tracker store, of one backend."""
    with fresh_stores(store_backend, tmp_path) as created:
        yield created
