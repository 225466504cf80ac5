"""The one MiniLM encoder of a Python 3.11 process (action server, benchmarks), loaded lazily.

It remembers the encodings of the last few messages: one customer message is encoded by the
sentiment model, the escalation decision and, for a question, the knowledge base, and each
would otherwise pay the ~8 ms of the encoder again. The memory is keyed by a keyed digest, so it
holds no customer text.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path

from common.encoder import Encoding, SentenceEncoder
from supportbot.settings import get_settings

# Messages of one turn, from a few concurrent conversations.
RECENT = 256
# Only calls of a few texts are remembered: a benchmark's batch would just flush the memory.
MAX_REMEMBERED_BATCH = 4


class SharedEncoder(SentenceEncoder):
    """A SentenceEncoder that remembers its most recent single messages (thread-safe)."""

    def __init__(self, directory: Path, *, recent: int = RECENT) -> None:
        super().__init__(directory)
        self._recent: OrderedDict[bytes, Encoding] = OrderedDict()
        self._size = recent
        self._lock = threading.Lock()
        self._key = os.urandom(16)  # per process: a digest cannot be matched outside it

    def _digest(self, text: str) -> bytes:
        return hashlib.blake2b(text.encode(), key=self._key, digest_size=16).digest()

    def encode(self, texts: list[str]) -> list[Encoding]:
        if len(texts) > MAX_REMEMBERED_BATCH:
            return super().encode(texts)
        keys = [self._digest(text) for text in texts]
        found: dict[int, Encoding] = {}
        with self._lock:
            for index, key in enumerate(keys):
                if key in self._recent:
                    self._recent.move_to_end(key)
                    found[index] = self._recent[key]
        missing = [index for index in range(len(texts)) if index not in found]
        if missing:
            encoded = super().encode([texts[index] for index in missing])
            with self._lock:
                for index, encoding in zip(missing, encoded, strict=True):
                    found[index] = encoding
                    self._recent[keys[index]] = encoding
                while len(self._recent) > self._size:
                    self._recent.popitem(last=False)
        return [found[index] for index in range(len(texts))]


_lock = threading.Lock()
_encoder: SharedEncoder | None = None


def get_sentence_encoder() -> SharedEncoder:
    """The shared encoder from `Settings.encoder_dir`, loaded on first use.

    Raises:
        EncoderMissing: if setup has not exported the encoder yet.
    """
    global _encoder
    with _lock:
        if _encoder is None:
            _encoder = SharedEncoder(get_settings().encoder_dir)
        return _encoder
