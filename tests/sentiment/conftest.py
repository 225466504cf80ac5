"""The real models of the sentiment tests: the head `make setup` built, the exported encoder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.nlu.encoder import EncoderMissing
from bot.settings import get_settings


@pytest.fixture(scope="session")
def encoder_dir() -> Path:
    return get_settings().encoder_dir


@pytest.fixture(scope="session")
def encoder(encoder_dir: Path) -> Any:
    from bot.nlu.runtime import get_sentence_encoder

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
    from bot.sentiment.head import HEAD_FILE, HeadSentiment

    if not (head_dir / HEAD_FILE).exists():
        pytest.skip(f"the sentiment head has not been built ({head_dir / HEAD_FILE}): make setup")
    return HeadSentiment.load(head_dir, encoder, encoder_dir)
