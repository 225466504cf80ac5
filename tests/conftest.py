"""Shared fixtures: a real SQLite CRM, migrated and seeded once, copied fresh for each test;
the real models `make setup` built (the exported encoder, the sentiment head)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from common.encoder import EncoderMissing
from supportbot.crm.seed import seed_demo_data
from supportbot.kb.seed import seed_articles
from supportbot.settings import get_settings
from supportbot.store import crm_session, migrate
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


# The real models of the sentiment and retrieval tests.
@pytest.fixture(scope="session")
def encoder_dir() -> Path:
    return get_settings().encoder_dir


@pytest.fixture(scope="session")
def encoder(encoder_dir: Path) -> Any:
    from supportbot.encoder import get_sentence_encoder

    try:
        return get_sentence_encoder()
    except EncoderMissing:
        pytest.skip(f"the MiniLM encoder has not been exported to {encoder_dir}: run `make setup`")


@pytest.fixture(scope="session")
def head_dir() -> Path:
    return get_settings().data_dir / "sentiment"


@pytest.fixture(scope="session")
def head(head_dir: Path, encoder: Any, encoder_dir: Path) -> Any:
    """The head built by `make setup` (skipped, saying so, if it has not been built)."""
    from supportbot.sentiment.head import HEAD_FILE, HeadSentiment

    if not (head_dir / HEAD_FILE).exists():
        pytest.skip(f"the sentiment head has not been built ({head_dir / HEAD_FILE}): make setup")
    return HeadSentiment.load(head_dir, encoder, encoder_dir)
