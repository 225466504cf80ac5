"""The one MiniLM encoder of a Python 3.11 process (action server, benchmarks), loaded lazily."""

from __future__ import annotations

import threading

from common.encoder import SentenceEncoder
from supportbot.settings import get_settings

_lock = threading.Lock()
_encoder: SentenceEncoder | None = None


def get_sentence_encoder() -> SentenceEncoder:
    """The shared encoder from `Settings.encoder_dir`, loaded on first use.

    Raises:
        EncoderMissing: if setup has not exported the encoder yet.
    """
    global _encoder
    with _lock:
        if _encoder is None:
            _encoder = SentenceEncoder(get_settings().encoder_dir)
        return _encoder
