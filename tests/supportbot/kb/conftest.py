"""Knowledge-base fixtures: the test database (it holds the articles of data/kb), the real MiniLM
encoder, stand-in encoders."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from supportbot.settings import get_settings


@pytest.fixture(scope="session")
def encoder():
    """The exported all-MiniLM-L6-v2 (skips if setup has not exported it)."""
    from supportbot.encoder import get_sentence_encoder

    directory = get_settings().encoder_dir
    if not (directory / "model.onnx").exists():
        pytest.skip(f"no exported MiniLM encoder in {directory}: run `make setup`")
    return get_sentence_encoder()


@pytest.fixture
def kb_url(crm_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test database (tests/db.py), with the data dir (the index cache) under tmp_path."""
    monkeypatch.setenv("SUPPORTBOT_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    return crm_url


@dataclass(frozen=True)
class _Encoded:
    sentence_vector: np.ndarray


class HashingEncoder:
    """A fast stand-in encoder: a fixed random vector per word, summed and normalised."""

    def __init__(self) -> None:
        self.calls = 0
        self.texts = 0

    def encode(self, texts: list[str]) -> list[_Encoded]:
        self.calls += 1
        self.texts += len(texts)
        out = []
        for text in texts:
            vector = np.zeros(384, dtype=np.float32)
            for word in text.lower().split():
                seed = int.from_bytes(hashlib.sha1(word.encode()).digest()[:4], "little")
                vector += np.random.default_rng(seed).standard_normal(384).astype(np.float32)
            vector /= max(float(np.linalg.norm(vector)), 1e-12)
            out.append(_Encoded(vector))
        return out


class CountingEncoder:
    """Wraps an encoder and counts the texts it encodes (to see cache hits)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.description = getattr(inner, "description", None)
        self.texts = 0

    def encode(self, texts: list[str]):
        self.texts += len(texts)
        return self.inner.encode(texts)
