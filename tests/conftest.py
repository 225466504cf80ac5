"""Shared fixtures: a real SQLite CRM, migrated and seeded once, copied fresh for each test."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.crm import crm_session, migrate
from bot.crm.seed import seed_demo_data
from bot.kb.seed import seed_articles
from bot.settings import get_settings
from tests.stack import stack  # noqa: F401  (the session-wide Rasa + actions stack)

IDENTITY_SECRET = "test-identity-secret-0123456789abcdef"
POSTGRES_URL = os.environ.get("SUPPORTBOT_TEST_POSTGRES_URL", "")
# Parameters of a fixture that runs its tests on SQLite, and on PostgreSQL when one is configured.
DATABASES = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not POSTGRES_URL, reason="SUPPORTBOT_TEST_POSTGRES_URL unset"),
        ],
    ),
]


@pytest.fixture(scope="session")
def seeded_crm_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("crm") / "seeded.db"
    url = f"sqlite:///{path}"
    migrate(url)
    with crm_session(url) as crm:
        seed_demo_data(crm.session, customers=40)
        seed_articles(crm.session)
    return path


@pytest.fixture
def crm_url(
    seeded_crm_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A private copy of the seeded CRM that the actions under test use."""
    path = tmp_path / "crm.db"
    shutil.copy(seeded_crm_file, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", url)
    monkeypatch.setenv("SUPPORTBOT_IDENTITY_SECRET", IDENTITY_SECRET)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()
