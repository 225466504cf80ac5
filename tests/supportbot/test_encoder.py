"""The process's shared MiniLM encoder remembers recent messages, by digest only."""

from __future__ import annotations

import numpy as np
import pytest

from common.encoder import SentenceEncoder
from supportbot.encoder import MAX_REMEMBERED_BATCH, SharedEncoder
from supportbot.settings import get_settings


@pytest.fixture(scope="module")
def directory():
    directory = get_settings().encoder_dir
    if not (directory / "model.onnx").exists():
        pytest.skip("no exported MiniLM encoder: run `make setup`")
    return directory


def test_a_remembered_message_is_the_same_encoding(directory):
    shared, plain = SharedEncoder(directory, recent=2), SentenceEncoder(directory)
    (first,) = shared.encode(["where is my parcel?"])
    (again,) = shared.encode(["where is my parcel?"])
    (fresh,) = plain.encode(["where is my parcel?"])
    assert again is first
    np.testing.assert_allclose(first.sentence_vector, fresh.sentence_vector, atol=1e-6)
    # Mixed calls keep the order of the texts.
    both = shared.encode(["hello", "where is my parcel?"])
    assert both[1] is first and both[0] is not first


def test_the_memory_is_bounded_and_holds_no_text(directory):
    shared = SharedEncoder(directory, recent=2)
    (oldest,) = shared.encode(["my card was charged twice"])
    shared.encode(["one"])
    shared.encode(["two"])
    assert shared.encode(["my card was charged twice"])[0] is not oldest  # pushed out
    assert len(shared._recent) == 2
    assert all(isinstance(key, bytes) and len(key) == 16 for key in shared._recent)
    assert b"card" not in b"".join(shared._recent)


def test_large_batches_pass_through(directory):
    shared = SharedEncoder(directory)
    shared.encode([f"message {i}" for i in range(MAX_REMEMBERED_BATCH + 1)])
    assert len(shared._recent) == 0
