"""Which sentiment model a process uses: SENTIMENT_MODEL if set, else the built-in head."""

from __future__ import annotations

import threading

from supportbot.sentiment.base import SentimentModel
from supportbot.settings import Settings, get_settings

_lock = threading.Lock()
_model: SentimentModel | None = None


def load_sentiment_model(settings: Settings | None = None) -> SentimentModel:
    """Load a new sentiment model as the settings say.

    Raises:
        SentimentModelMissing: if the built-in head has not been built (run `make setup`).
        SentimentModelError: if SENTIMENT_MODEL cannot be loaded or its labels mapped.
    """
    settings = settings or get_settings()
    if settings.sentiment_model:
        from supportbot.sentiment.transformers_model import TransformersSentiment

        return TransformersSentiment(settings.sentiment_model)

    from common.encoder import SentenceEncoder
    from supportbot.encoder import get_sentence_encoder
    from supportbot.sentiment.head import HeadSentiment, read_head

    directory = settings.sentiment_dir
    read_head(directory)  # a missing head should say so before the encoder loads
    # Share the process's encoder (retrieval uses it too) unless these settings name another.
    shared = settings.encoder_dir == get_settings().encoder_dir
    encoder = get_sentence_encoder() if shared else SentenceEncoder(settings.encoder_dir)
    return HeadSentiment.load(directory, encoder, settings.encoder_dir)


def get_sentiment_model() -> SentimentModel:
    """The process-wide sentiment model, loaded on first use (thread-safe, once)."""
    global _model
    with _lock:
        if _model is None:
            _model = load_sentiment_model()
        return _model
