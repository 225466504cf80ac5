"""Shared fixtures: the database (tests/db.py: a migrated, seeded CRM per backend, each test in a
transaction rolled back afterwards) with the settings that point at it; the real models `make
setup` built (the exported encoder, the sentiment head)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from common.encoder import EncoderMissing
from supportbot.settings import get_settings
from tests.stack import (  # noqa: F401  (the Rasa + actions stacks)
    fault_stack,
    scaled_stack,
    stack,
)

pytest_plugins = ["tests.db"]  # the database fixtures
IDENTITY_SECRET = "test-identity-secret-0123456789abcdef"


@pytest.fixture
def crm_url(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The database the code under test uses (see tests/db.py), named by the settings too, with
    the identity secret the tests sign customer tokens with."""
    monkeypatch.setenv("SUPPORTBOT_DATABASE_URL", database_url)
    monkeypatch.setenv("SUPPORTBOT_IDENTITY_SECRET", IDENTITY_SECRET)
    get_settings.cache_clear()
    yield database_url
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
    return get_settings().sentiment_dir


@pytest.fixture(scope="session")
def head(head_dir: Path, encoder: Any, encoder_dir: Path) -> Any:
    """The head built by `make setup` (skipped, saying so, if it has not been built)."""
    from supportbot.sentiment.head import HEAD_FILE, HeadSentiment

    if not (head_dir / HEAD_FILE).exists():
        pytest.skip(f"the sentiment head has not been built ({head_dir / HEAD_FILE}): make setup")
    return HeadSentiment.load(head_dir, encoder, encoder_dir)
